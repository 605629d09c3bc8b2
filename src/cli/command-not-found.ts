import type { Hook } from '@oclif/core';
import { ExitCode } from '../errors.js';

/**
 * oclif's `command_not_found` hook: an unknown command is a usage error, exit 64 as the README's
 * exit codes say (oclif alone exits 2, a code schedulers have no entry for), with the same message
 * shape as every other shopstream error, on stderr.
 */
const hook: Hook<'command_not_found'> = async function (options) {
  const typed = options.id.replaceAll(':', ' ');
  const known = options.config.commandIDs.map((id) => id.replaceAll(':', ' '));
  const close = known.filter((id) => id.startsWith(typed.split(' ')[0] ?? '') || typed.startsWith(id));
  const message = `unknown command: ${typed}`;
  if (options.argv?.includes('--json')) {
    const suggestions = ['run shopstream --help for the list of commands'];
    process.stderr.write(
      `${JSON.stringify({ error: { code: 'UNKNOWN_COMMAND', message, exitCode: ExitCode.usage, suggestions } })}\n`,
    );
  } else {
    process.stderr.write(`shopstream: error [UNKNOWN_COMMAND]: ${message}\n`);
    if (close.length > 0) process.stderr.write(`  hint: did you mean ${close.join(', ')}?\n`);
    process.stderr.write('  hint: run shopstream --help for the list of commands\n');
  }
  this.exit(ExitCode.usage);
};

export default hook;
