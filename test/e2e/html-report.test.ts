import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { cli, tempDir } from '../helpers/cli.js';

/** Debian's headless Chromium (installed by .ci/run), as a user would open the file. */
function chromium(args: string[], dir: string): string {
  return execFileSync(
    'chromium',
    ['--headless', '--no-sandbox', '--disable-gpu', `--user-data-dir=${path.join(dir, 'profile')}`, ...args],
    { encoding: 'utf8', timeout: 600_000, maxBuffer: 64 * 2 ** 20, stdio: ['ignore', 'pipe', 'ignore'] },
  );
}

describe('shopstream report --out (HTML run report)', () => {
  it('writes one self-contained page whose charts render in headless Chromium', () => {
    const dir = tempDir('html-report');
    const env = {
      SHOPSTREAM_LAKE: path.join(dir, 'lake'),
      SHOPSTREAM_WAREHOUSE: path.join(dir, 'wh.duckdb'),
    };
    const events = path.join(dir, 'events.ndjson');
    // 3 days: enough customers with repeat purchase days to fit the CLV model and backtest it
    expect(
      cli(
        [
          'generate',
          '--events',
          '8000',
          '--days',
          '3',
          '--start',
          '2026-10-01T00:00:00Z',
          '--out',
          events,
          '--seed',
          '5',
        ],
        { env },
      ).status,
    ).toBe(0);
    expect(cli(['run', events], { env }).status).toBe(0);
    const backtest = cli(['clv', 'backtest', '--until', '2026-10-03'], { env });
    expect(backtest.status, backtest.stderr).toBe(0);
    const out = path.join(dir, 'report.html');
    const result = cli(['report', '--out', out, '--json'], { env });
    expect(result.status, result.stderr).toBe(0);
    const sections: { id: string; rows: number }[] = JSON.parse(result.stdout).sections;
    expect(sections.map((s) => s.id)).toEqual([
      'events-per-minute',
      'funnel',
      'session-length',
      'fraud-flags',
      'top-clv',
      'clv-backtest',
      'data-quality',
      'run-history',
    ]);
    for (const s of sections) expect(s.rows, s.id).toBeGreaterThan(0);

    // self-contained: no scripts, no external resources
    const html = readFileSync(out, 'utf8');
    expect(html).not.toMatch(/<script|<link|@import|url\(/i);
    expect(html).not.toMatch(/(src|href)="https?:/i);

    // the DOM Chromium builds: one SVG chart per section, each with drawn marks
    const dom = chromium(['--dump-dom', `file://${out}`], dir);
    const figures = dom.split('<figure class="chart"').slice(1);
    expect(figures).toHaveLength(sections.length);
    for (const figure of figures) {
      expect(figure).toMatch(/^[^>]*data-chart="[a-z-]+"><svg/);
      expect((figure.match(/class="mark-(rect|line|symbol|area|rule)/g) ?? []).length).toBeGreaterThan(0);
      expect((figure.match(/<path /g) ?? []).length).toBeGreaterThan(2);
    }

    // and what it paints is not blank: many non-white pixels in several colours
    const shot = path.join(dir, 'report.png');
    chromium(['--window-size=900,2400', `--screenshot=${shot}`, `file://${out}`], dir);
    const png = PNG.sync.read(readFileSync(shot));
    let ink = 0;
    const colours = new Set<number>();
    for (let i = 0; i < png.data.length; i += 4) {
      const [r, g, b] = [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
      if (r < 235 || g < 235 || b < 235) ink++;
      colours.add((r >> 4) * 256 + (g >> 4) * 16 + (b >> 4));
    }
    expect(ink / (png.width * png.height)).toBeGreaterThan(0.03);
    expect(colours.size).toBeGreaterThan(20);
  });
});
