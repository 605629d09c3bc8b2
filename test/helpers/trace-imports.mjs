// Preloaded with `node --import`: records every package a process imports (ESM resolution), one
// per line, in the file named by SHOPSTREAM_TRACE_IMPORTS. Lets a test see what a command loads.
import { register } from 'node:module';

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
