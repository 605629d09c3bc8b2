import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, ROOT, tempDir } from '../helpers/cli.js';

const v1 = JSON.parse(readFileSync(path.join(ROOT, 'schemas', 'clickstream_event', 'v1.avsc'), 'utf8')) as {
  fields: { name: string; type: unknown; default?: unknown }[];
};

/** A temp dir holding `new.avsc` = v1 with `fields` appended. */
function schemaWith(fields: readonly object[]): string {
  const dir = tempDir('schema-check');
  writeFileSync(path.join(dir, 'new.avsc'), JSON.stringify({ ...v1, fields: [...v1.fields, ...fields] }));
  return dir;
}

describe('shopstream schema check (built, as a user runs it)', () => {
  it('a compatible schema exits 0; --json gives the report', () => {
    const cwd = schemaWith([{ name: 'coupon', type: ['null', 'string'], default: null }]);
    const result = cli(['schema', 'check', 'new.avsc', '--require', 'full', '--json'], { cwd });
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      level: 'FULL',
      backward: [],
      forward: [],
      against: 'schemas/clickstream_event/v1.avsc',
      file: 'new.avsc',
      required: 'FULL',
      ok: true,
    });

    const text = cli(['schema', 'check', 'new.avsc'], { cwd });
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout.trim()).toBe(
      'schemas/clickstream_event/v1.avsc -> new.avsc: FULL compatible (BACKWARD and FORWARD)',
    );
  });

  it('an incompatible schema exits 65 naming the field; --json still prints the report', () => {
    const cwd = schemaWith([{ name: 'tenant', type: 'string' }]);
    const result = cli(['schema', 'check', 'new.avsc'], { cwd });
    expect(result.status).toBe(65);
    expect(result.stdout).toContain('FORWARD compatible (not BACKWARD)');
    expect(result.stdout).toContain('  backward: field tenant: required field missing (no default)');
    expect(result.stderr).toContain('SCHEMA_INCOMPATIBLE');
    expect(result.stderr).toMatch(/new\.avsc is not BACKWARD compatible.*field tenant/);

    const json = cli(['schema', 'check', 'new.avsc', '--json'], { cwd });
    expect(json.status).toBe(65);
    expect(JSON.parse(json.stdout)).toMatchObject({ level: 'FORWARD', ok: false, required: 'BACKWARD' });
    expect(JSON.parse(json.stderr).error).toMatchObject({ code: 'SCHEMA_INCOMPATIBLE', exitCode: 65 });

    const forward = cli(['schema', 'check', 'new.avsc', '--require', 'forward'], { cwd });
    expect(forward.status, forward.stderr).toBe(0);
  });

  it('--against compares two files', () => {
    const cwd = schemaWith([{ name: 'tenant', type: 'string' }]);
    writeFileSync(path.join(cwd, 'old.avsc'), JSON.stringify(v1));
    const result = cli(['schema', 'check', 'old.avsc', '--against', 'new.avsc', '--json'], { cwd });
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ against: 'new.avsc', level: 'BACKWARD', ok: true });
  });
});
