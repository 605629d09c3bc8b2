import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, fixture, tempDir } from '../helpers/cli.js';

/** Debian's headless Chromium (installed by .ci/run), as a user would open the file. */
function chromium(args: string[], dir: string): string {
  return execFileSync(
    'chromium',
    ['--headless', '--no-sandbox', '--disable-gpu', `--user-data-dir=${path.join(dir, 'profile')}`, ...args],
    { encoding: 'utf8', timeout: 600_000, stdio: ['ignore', 'pipe', 'ignore'] },
  );
}

/** The SVG of one chart section of the report. */
function figure(html: string, id: string): string {
  const start = html.indexOf(`data-chart="${id}"`);
  expect(start, id).toBeGreaterThan(-1);
  return html.slice(start, html.indexOf('</figure>', start));
}

/** Text of the `<text>` elements inside a group whose class contains `role` (e.g. role-axis-label). */
function texts(svg: string, role: string): string[] {
  const found: string[] = [];
  for (const group of svg.split(`class="${role}`).slice(1)) {
    const body = group.slice(0, group.indexOf('</g>'));
    for (const m of body.matchAll(/<text[^>]*>([^<]*)<\/text>/g))
      found.push(m[1]!.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&'));
  }
  return found;
}

describe('the HTML run report, as a reader meets it', () => {
  let dir: string;
  let html: string;
  let out: string;
  beforeAll(() => {
    dir = tempDir('ops-html');
    // a machine far from UTC: the report must not follow its zone
    const env = {
      SHOPSTREAM_LAKE: path.join(dir, 'lake'),
      SHOPSTREAM_WAREHOUSE: path.join(dir, 'wh.duckdb'),
      TZ: 'America/Los_Angeles',
    };
    // the seed's events are at 10:00-10:06 and 10:09 UTC: two minutes without data between
    expect(cli(['run', fixture('demo', 'events.ndjson')], { env }).status).toBe(0);
    // long run ids as schedulers give them
    for (const id of ['scheduled__2026-11-20T10:00:00+00:00', 'manual__2026-11-20T11:22:33.456789+00:00'])
      expect(cli(['run'], { env: { ...env, SHOPSTREAM_RUN_ID: id } }).status).toBe(0);
    out = path.join(dir, 'report.html');
    const result = cli(['report', '--out', out], { env });
    expect(result.status, result.stderr).toBe(0);
    html = readFileSync(out, 'utf8');
  });

  it('labels time axes in 24-hour UTC', () => {
    const labels = texts(figure(html, 'events-per-minute'), 'mark-text role-axis-label');
    const clock = /^(\d\d:\d\d(:\d\d)?|[A-Z][a-z]{2} \d\d|[\d,.]+)?$/;
    expect(labels[0]).toBe('10:00');
    for (const label of labels) expect(label).toMatch(clock);
    const times = labels.filter((l) => /^\d\d:\d\d$/.test(l));
    expect(times.length).toBeGreaterThan(0);
    for (const t of times) expect(t >= '10:00' && t <= '10:09', t).toBe(true);
    // the axis title names the UTC date(s)
    expect(texts(figure(html, 'events-per-minute'), 'mark-text role-axis-title')).toContain(
      'minute (UTC, 2026-11-20)',
    );
    const runTitles = texts(figure(html, 'run-history'), 'mark-text role-axis-title');
    expect(runTitles.find((t) => t.startsWith('run start (UTC, '))).toMatch(/\d{4}-\d\d-\d\d\)$/);
    for (const label of texts(figure(html, 'run-history'), 'mark-text role-axis-label'))
      expect(label).toMatch(clock);
  });

  it('draws no line across minutes without data', () => {
    const svg = figure(html, 'events-per-minute');
    const lines = [...svg.matchAll(/aria-roledescription="line mark" d="([^"]*)"/g)].map((m) => m[1]!);
    // events and unique users: one line each over 10:00-10:06, ending there (x 506.7 of 760)
    expect(lines).toHaveLength(2);
    for (const d of lines) {
      const xs = [...d.matchAll(/[ML]([\d.]+),/g)].map((m) => Number(m[1]));
      expect(Math.max(...xs), d).toBeLessThan(600);
    }
    // 10:09, alone between the gap and the end, is a point of each series
    expect(svg.match(/aria-roledescription="point"/g)).toHaveLength(2);
  });

  it('has legends with whole labels and session-length classes a reader can use', () => {
    for (const id of ['events-per-minute', 'fraud-flags', 'data-quality', 'run-history']) {
      const labels = texts(figure(html, id), 'mark-text role-legend-label');
      expect(labels.length, id).toBeGreaterThan(0);
      for (const label of labels) expect(label, id).not.toMatch(/…$/);
    }
    expect(texts(figure(html, 'fraud-flags'), 'mark-text role-legend-label')).toContain('high_cart_value');
    expect(texts(figure(html, 'session-length'), 'mark-text role-axis-label').slice(0, 9)).toEqual([
      '< 30 s',
      '30 s-1 min',
      '1-2 min',
      '2-5 min',
      '5-10 min',
      '10-20 min',
      '20-30 min',
      '30-60 min',
      '>= 1 h',
    ]);
  });

  it('keeps every section, the latest-runs table too, within the page at 1400 px', () => {
    // the report has no script; a copy gets one that measures the layout Chromium computes
    const probe = path.join(dir, 'probe.html');
    writeFileSync(
      probe,
      html.replace(
        '</body>',
        `<script>
          const body = document.body.getBoundingClientRect();
          const style = getComputedStyle(document.body);
          const right = body.right - parseFloat(style.paddingRight);
          const over = [...document.querySelectorAll('section, table, figure svg')]
            .filter((e) => e.getBoundingClientRect().right > right + 0.5)
            .map((e) => e.id || e.tagName);
          document.body.setAttribute('data-probe', JSON.stringify({
            over, pageWidth: document.documentElement.scrollWidth, window: innerWidth,
          }));
        </script></body>`,
      ),
    );
    const dom = chromium(['--window-size=1400,3000', '--dump-dom', `file://${probe}`], dir);
    const measured = JSON.parse(
      /data-probe="([^"]*)"/.exec(dom)![1]!.replaceAll('&quot;', '"').replaceAll('&amp;', '&'),
    );
    expect(measured.over).toEqual([]);
    expect(measured.pageWidth).toBeLessThanOrEqual(measured.window);
    expect(html).toContain('scheduled__2026-11-20T10:00:00+00:00');
  });
});
