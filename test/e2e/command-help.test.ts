import { Config } from '@oclif/core';
import { describe, expect, it } from 'vitest';
import { cli, ROOT } from '../helpers/cli.js';

/**
 * Every command of the built CLI, found by oclif itself (a new command cannot be forgotten here):
 * `--help` with examples and the `--json` flag; and each topic of `shopstream --help` says what the
 * topic holds (oclif otherwise shows the description of one of its commands).
 */
describe('every command: --help with examples and --json', () => {
  it('lists examples and --json in the help of each command', async () => {
    const config = await Config.load({ root: ROOT });
    const ids = config.commandIDs;
    expect(ids).toEqual(expect.arrayContaining(['report', 'report:query', 'report:html', 'gdpr:forget']));
    for (const id of ids) {
      const help = cli([...id.split(':'), '--help']);
      expect(help.status, id).toBe(0);
      expect(help.stdout, id).toMatch(/\nEXAMPLES\n[\s\S]*\bshopstream /);
      expect(help.stdout, id).toMatch(/\n\s+--json\s+Format output as json\./);
    }
  });

  it('describes each topic by what it holds', () => {
    const help = cli(['--help']);
    expect(help.status).toBe(0);
    const topics = help.stdout.slice(help.stdout.indexOf('TOPICS'), help.stdout.indexOf('COMMANDS'));
    expect(topics).toMatch(/gdpr\s+GDPR: forget users, verify/);
    expect(topics).toMatch(/report\s+Reports: business queries on the warehouse \(report query\), the HTML/);
    expect(topics).toMatch(/table\s+Lake tables: list, history/);
    for (const topic of ['clv', 'schema', 'warehouse']) expect(topics).toMatch(new RegExp(`\\n  ${topic} `));
  });
});
