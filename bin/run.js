#!/usr/bin/env node
import { rmSync, statSync } from 'node:fs';
import { execute } from '@oclif/core';

// The AWS SDK warns on every run under Node 20 that its 2027 releases will need Node 22; cron and
// CI logs must stay quiet, so the notice is off unless the user asks for it (see README).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// oclif.manifest.json (written by `npm run build` and `prepare`) lets a command start without
// importing every other command. One older than the compiled code (a bare `tsc` in development)
// would hide new flags: drop it, and oclif reads the commands themselves.
const at = (file) => statSync(new URL(`../${file}`, import.meta.url), { throwIfNoEntry: false })?.mtimeMs;
const manifestAt = at('oclif.manifest.json');
if (manifestAt !== undefined && (at('dist/.tsbuildinfo') ?? 0) > manifestAt) {
  try {
    rmSync(new URL('../oclif.manifest.json', import.meta.url));
  } catch {}
}

await execute({ dir: import.meta.url });
