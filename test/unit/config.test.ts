import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve-config.js';
import { tempDir } from '../helpers/cli.js';

describe('configuration: flags > env > file > defaults', () => {
  it('uses the defaults with nothing given', () => {
    const config = resolveConfig({}, {}, tempDir('cfg'));
    expect(config.lake).toBe('./lake');
    expect(config.ingest.maxBadRatio).toBe(0.01);
  });

  it('layers file, environment and flags in that order', () => {
    const dir = tempDir('cfg');
    writeFileSync(
      path.join(dir, 'shopstream.config.json'),
      JSON.stringify({ lake: '/from/file', ingest: { maxBadRatio: 0.5, maxFutureHours: 2 } }),
    );
    expect(resolveConfig({}, {}, dir)).toMatchObject({
      lake: '/from/file',
      ingest: { maxBadRatio: 0.5, maxFutureHours: 2 },
    });
    const env = { SHOPSTREAM_LAKE: '/from/env', SHOPSTREAM_MAX_BAD_RATIO: '0.2' };
    expect(resolveConfig({}, env, dir)).toMatchObject({
      lake: '/from/env',
      ingest: { maxBadRatio: 0.2, maxFutureHours: 2 },
    });
    expect(resolveConfig({ lake: '/from/flag', maxBadRatio: 0 }, env, dir)).toMatchObject({
      lake: '/from/flag',
      ingest: { maxBadRatio: 0 },
    });
  });

  it('reads an explicit --config or $SHOPSTREAM_CONFIG file', () => {
    const dir = tempDir('cfg');
    const file = path.join(dir, 'other.json');
    writeFileSync(file, JSON.stringify({ lake: '/explicit' }));
    expect(resolveConfig({ config: file }, {}, tempDir('cfg')).lake).toBe('/explicit');
    expect(resolveConfig({}, { SHOPSTREAM_CONFIG: file }, tempDir('cfg')).lake).toBe('/explicit');
  });

  it('rejects invalid values naming the key, with exit code 78', () => {
    const dir = tempDir('cfg');
    writeFileSync(
      path.join(dir, 'shopstream.config.json'),
      JSON.stringify({ ingest: { maxBadRatio: 2 }, extra: 1 }),
    );
    expect(() => resolveConfig({}, {}, dir)).toThrowError(/ingest\.maxBadRatio/);
    try {
      resolveConfig({}, {}, dir);
    } catch (error) {
      expect(error).toMatchObject({ exitCode: 78, code: 'CONFIG_INVALID' });
    }
    writeFileSync(path.join(dir, 'shopstream.config.json'), '{ not json');
    expect(() => resolveConfig({}, {}, dir)).toThrowError(/not valid JSON/);
    expect(() => resolveConfig({ config: path.join(dir, 'missing.json') }, {}, dir)).toThrowError(
      /not found/,
    );
    expect(() => resolveConfig({}, { SHOPSTREAM_DUCKDB_THREADS: 'many' }, tempDir('cfg'))).toThrowError(
      /not a number/,
    );
  });
});
