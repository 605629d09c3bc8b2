// Preloaded with `node --import`: records every package a process imports (ESM resolution), one
// per line, in the file named by SHOPSTREAM_TRACE_IMPORTS. Lets a test see what a command loads.
// Packages our own code loads with require (createRequire: CommonJS packages that start faster that
// way, e.g. the DuckDB API) are recorded too, in SHOPSTREAM_TRACE_REQUIRES if set (else the same
// file); what packages require among themselves is not.
import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';

register(
  `data:text/javascript,${encodeURIComponent(`
import { appendFileSync } from 'node:fs';
const out = ${JSON.stringify(process.env.SHOPSTREAM_TRACE_IMPORTS ?? '')};
export async function resolve(specifier, context, next) {
  if (out && !specifier.startsWith('.') && !specifier.startsWith('node:') && !specifier.startsWith('file:') && !specifier.startsWith('data:')) {
    appendFileSync(out, specifier + '\\n');
  }
  return next(specifier, context);
}`)}`,
);

const out = process.env.SHOPSTREAM_TRACE_REQUIRES ?? process.env.SHOPSTREAM_TRACE_IMPORTS ?? '';
const load = Module._load;
Module._load = function (request, parent, isMain) {
  const bare = !request.startsWith('.') && !request.startsWith('/') && !request.startsWith('node:');
  if (
    out &&
    bare &&
    parent?.filename &&
    !parent.filename.includes('/node_modules/') &&
    !Module.isBuiltin(request)
  )
    appendFileSync(out, `${request}\n`);
  return load.call(this, request, parent, isMain);
};
