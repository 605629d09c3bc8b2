import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, fixture, tempDir } from '../helpers/cli.js';

/**
 * `report query NAME` and `report html --out FILE` are the report commands; the older forms
 * `report NAME` and `report --out FILE` keep working with the same flags and the same output.
 */
describe('report query / report html, and the older report forms', () => {
  const dir = tempDir('report-forms');
  const lake = path.join(dir, 'lake');
  const warehouse = path.join(dir, 'warehouse.duckdb');
  const at = ['--lake', lake, '--warehouse', warehouse];

  beforeAll(() => {
    expect(cli(['ingest', fixture('demo', 'events.ndjson'), '--lake', lake]).status).toBe(0);
    expect(cli(['build-marts', '--lake', lake]).status).toBe(0);
    expect(cli(['load', ...at]).status).toBe(0);
  });

  it('report query NAME prints what report NAME prints: JSON, table and CSV', () => {
    for (const name of ['clv', 'conversion', 'fraud-last-minute']) {
      const now = cli(['report', 'query', name, ...at, '--json']);
      expect(now.status, now.stderr).toBe(0);
      const old = cli(['report', name, ...at, '--json']);
      expect(old.status, old.stderr).toBe(0);
      expect(JSON.parse(now.stdout), name).toEqual(JSON.parse(old.stdout));
    }
    const conversion = JSON.parse(cli(['report', 'query', 'conversion', ...at, '--json']).stdout);
    expect(conversion).toEqual([
      expect.objectContaining({ session_date: '2026-11-20', view_to_cart_rate: 0.4 }),
    ]);

    const table = cli(['report', 'query', 'conversion', ...at]);
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/session_date .*\n-+.*\n2026-11-20 .*\n\(1 row\)\n$/);
    expect(cli(['report', 'conversion', ...at]).stdout).toBe(table.stdout);

    const csv = cli(['report', 'query', 'clv', ...at, '--csv', '--limit', '1']);
    expect(csv.status, csv.stderr).toBe(0);
    expect(csv.stdout.split('\n')[0]).toMatch(/^user_key,/);
    expect(cli(['report', 'clv', ...at, '--csv', '--limit', '1']).stdout).toBe(csv.stdout);
  });

  it('refuses the same usage errors (64) in both forms', () => {
    for (const args of [
      ['report', 'query', 'nope'],
      ['report', 'nope'],
      ['report', 'query'], // no name
      ['report'], // neither a name nor --out
      ['report', 'query', 'clv', '--csv', '--json'],
      ['report', 'html'], // no --out
    ]) {
      const result = cli([...args, ...at]);
      expect(result.status, `${args.join(' ')}: ${result.stderr}`).toBe(64);
    }
    const typo = path.join(dir, 'warehuose.duckdb');
    const missing = cli(['report', 'query', 'clv', '--lake', lake, '--warehouse', typo, '--json']);
    expect(missing.status, missing.stderr).toBe(64);
    expect(JSON.parse(missing.stderr).error.code).toBe('WAREHOUSE_NOT_FOUND');
    expect(existsSync(typo)).toBe(false);

    const out = path.join(dir, 'nolake.html');
    const noLake = cli(['report', 'html', '--out', out, '--lake', path.join(dir, 'lkae')]);
    expect(noLake.status, noLake.stderr).toBe(64);
    expect(noLake.stderr).toContain('LAKE_NOT_FOUND');
    expect(existsSync(out)).toBe(false);
  });

  it('report html --out FILE writes the page report --out FILE writes', () => {
    const now = path.join(dir, 'now.html');
    const newForm = cli(['report', 'html', '--out', now, '--lake', lake, '--json']);
    expect(newForm.status, newForm.stderr).toBe(0);
    const old = path.join(dir, 'old.html');
    const oldForm = cli(['report', '--out', old, '--lake', lake, '--json']);
    expect(oldForm.status, oldForm.stderr).toBe(0);
    const sections = JSON.parse(newForm.stdout).sections;
    expect(JSON.parse(oldForm.stdout)).toEqual({ out: old, sections });
    expect(JSON.parse(newForm.stdout).out).toBe(now);
    expect(sections.map((s: { id: string }) => s.id)).toContain('funnel');
    // the same page but for the time it was generated
    const page = (file: string) => readFileSync(file, 'utf8').replace(/Generated \S+ /, '');
    expect(page(now)).toMatch(/^<!doctype html>/);
    expect(page(now)).toBe(page(old));

    const text = cli(['report', 'html', '--out', now, '--lake', lake]);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^wrote ${now}: events-per-minute \\(\\d+\\), funnel`));
  });

  it('--help of report shows the new forms with examples; each has its own help', () => {
    const help = cli(['report', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('$ shopstream report query clv');
    expect(help.stdout).toContain('$ shopstream report html --out report.html');
    expect(help.stdout).toMatch(/COMMANDS\n\s+report html .*\n[\s\S]*report query /);
    for (const form of ['query', 'html']) {
      const own = cli(['report', form, '--help']);
      expect(own.status, form).toBe(0);
      expect(own.stdout, form).toContain('EXAMPLES');
      expect(own.stdout, form).toContain(`$ shopstream report ${form} `);
      expect(own.stdout, form).toContain('--json');
    }
  });
});
