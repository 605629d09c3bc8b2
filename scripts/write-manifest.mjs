#!/usr/bin/env node
// Writes oclif.manifest.json from the built commands (dist/commands): with it, oclif finds every
// command, flag and help text without importing a single command module, so `--version`, `--help`
// and each command load only what they use. Run by `npm run build` and `npm run prepare`.
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Config } from '@oclif/core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const target = path.join(root, 'oclif.manifest.json');
// Build it from the modules, never from an older manifest.
await rm(target, { force: true });
const config = await Config.load({ root, ignoreManifest: true, errorOnManifestCreate: true });
const manifest = config.getPluginsList().find((p) => p.root === root)?.manifest;
if (!manifest || Object.keys(manifest.commands).length === 0) {
  console.error('write-manifest: no commands found under dist/commands (run tsc first)');
  process.exit(1);
}
await writeFile(target, `${JSON.stringify(manifest, null, 2)}\n`);
