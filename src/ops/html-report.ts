import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { PIPELINE_RUNS } from '../catalog/tables/pipeline-runs.js';
import { usageError } from '../errors.js';
import type { Lake } from '../lake/table/lake.js';

/** One chart or table section of the run report. */
export interface ReportSection {
  readonly id: string;
  readonly title: string;
  readonly rows: number;
}

export interface HtmlReport {
  readonly html: string;
  readonly sections: readonly ReportSection[];
  readonly generatedAt: string;
}

type Row = Record<string, unknown>;

interface ChartSpec {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  /** Tables the query reads; a missing one leaves the section empty ("no data yet"). */
  readonly tables: readonly string[];
  readonly sql: string;
  /** The Vega-Lite view (mark, encoding or layer); data, size and schema are added. */
  readonly chart: (rows: readonly Row[]) => Record<string, unknown>;
}

const WIDTH = 760;

/**
 * Time axis labels in 24-hour UTC, whatever the zone of the machine writing the report: midnights
 * carry the day, other ticks `HH:MM`, or `HH:MM:SS` off the minute (runs seconds apart); charts of
 * whole minutes or hours leave ticks between them unlabelled. The axis title names the dates.
 */
function utcLabels(wholeMinutes: boolean): string {
  const offMinute = 'utcseconds(datum.value) != 0 || utcmilliseconds(datum.value) != 0';
  return [
    `${offMinute} ? ${wholeMinutes ? "''" : "utcFormat(datum.value, '%H:%M:%S')"}`,
    "utchours(datum.value) == 0 && utcminutes(datum.value) == 0 ? utcFormat(datum.value, '%b %d')",
    "utcFormat(datum.value, '%H:%M')",
  ].join(' : ');
}

/** `UTC, 2026-11-20` or `UTC, 2026-11-01 to 2026-11-03`: the dates an axis spans (ISO strings sort). */
function utcDays(rows: readonly Row[], field: string): string {
  const days = rows.map((r) => String(r[field]).slice(0, 10)).sort();
  const [first, last] = [days[0], days.at(-1)];
  return first === last ? `UTC, ${first}` : `UTC, ${first} to ${last}`;
}

/** A temporal x channel on a UTC scale with 24-hour labels. */
const utcX = (field: string, title: string, options: { wholeMinutes?: boolean; nice?: boolean } = {}) => ({
  field,
  type: 'temporal',
  title,
  scale: { type: 'utc', ...(options.nice ? { nice: true } : {}) },
  axis: { labelExpr: utcLabels(options.wholeMinutes ?? false), labelOverlap: true, labelFlush: true },
});

/** One bar per category (y, in `sort` order), its length the value (x): the funnel, the top customers. */
const horizontalBars = (
  category: { field: string; sort: string | null; title: string | null },
  value: { field: string; title: string },
) => ({
  mark: 'bar',
  encoding: {
    y: { field: category.field, type: 'nominal', sort: category.sort, title: category.title },
    x: { field: value.field, type: 'quantitative', title: value.title },
  },
});

/** Readable text everywhere; legends below the plot, never cut. */
const VEGA_CONFIG = {
  font: 'system-ui, -apple-system, "Segoe UI", sans-serif',
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', titleColor: '#1d2430' },
  legend: {
    orient: 'bottom',
    direction: 'horizontal',
    columns: 4,
    labelLimit: 0,
    labelFontSize: 12,
    titleFontSize: 12,
    symbolSize: 120,
  },
};

/** Session length classes: most sessions last minutes, a few hours; equal-width bins hide both. */
const SESSION_BINS: readonly [string, number, number | null][] = [
  ['< 30 s', 0, 30],
  ['30 s-1 min', 30, 60],
  ['1-2 min', 60, 120],
  ['2-5 min', 120, 300],
  ['5-10 min', 300, 600],
  ['10-20 min', 600, 1200],
  ['20-30 min', 1200, 1800],
  ['30-60 min', 1800, 3600],
  ['>= 1 h', 3600, null],
];

const CHARTS: readonly ChartSpec[] = [
  {
    id: 'events-per-minute',
    title: 'Events and unique users per minute',
    description: 'From metrics_minute (event time, UTC).',
    tables: ['metrics_minute'],
    // a run of consecutive minutes is one segment: lines never bridge minutes without data, and a
    // minute alone between gaps is drawn as a point
    sql: `WITH runs AS (
            SELECT minute, events, unique_users,
                   CAST(epoch(minute) AS BIGINT) // 60 - row_number() OVER (ORDER BY minute) AS segment
            FROM metrics_minute
          ), marked AS (SELECT *, count(*) OVER (PARTITION BY segment) = 1 AS lone FROM runs)
          SELECT strftime(minute, '%Y-%m-%dT%H:%M:00Z') AS minute, 'events' AS series, CAST(events AS DOUBLE) AS value, segment, lone FROM marked
          UNION ALL
          SELECT strftime(minute, '%Y-%m-%dT%H:%M:00Z'), 'unique users', CAST(unique_users AS DOUBLE), segment, lone FROM marked
          ORDER BY 1, 2`,
    chart: (rows) => {
      const encoding = {
        x: utcX('minute', `minute (${utcDays(rows, 'minute')})`, { wholeMinutes: true }),
        y: { field: 'value', type: 'quantitative', title: 'count' },
        color: { field: 'series', type: 'nominal', title: null },
      };
      return {
        layer: [
          {
            mark: { type: 'line', strokeWidth: 1.2 },
            transform: [{ filter: '!datum.lone' }],
            encoding: { ...encoding, detail: { field: 'segment' } },
          },
          {
            mark: { type: 'point', filled: true, size: 30 },
            transform: [{ filter: 'datum.lone' }],
            encoding,
          },
        ],
      };
    },
  },
  {
    id: 'funnel',
    title: 'Conversion funnel (sessions, all days, bots excluded)',
    description: 'From conversion_daily, every device.',
    tables: ['conversion_daily'],
    sql: `SELECT step, ord, CAST(sessions AS DOUBLE) AS sessions FROM (
            SELECT sum(viewed_sessions) AS v, sum(product_viewed_sessions) AS p, sum(carted_sessions) AS c,
                   sum(checked_out_sessions) AS k, sum(purchased_sessions) AS b
            FROM conversion_daily WHERE device = 'all'
          ) UNPIVOT (sessions FOR code IN (v, p, c, k, b))
          JOIN (VALUES ('v', 1, '1 viewed'), ('p', 2, '2 product view'), ('c', 3, '3 cart'), ('k', 4, '4 checkout'),
                       ('b', 5, '5 purchase')) AS s(code, ord, step) USING (code)
          ORDER BY ord`,
    chart: () =>
      horizontalBars(
        { field: 'step', sort: null, title: null },
        { field: 'sessions', title: 'sessions reaching the step' },
      ),
  },
  {
    id: 'session-length',
    title: 'Session length distribution',
    description:
      'From sessions: first to last event of each session (30-minute inactivity timeout); a one-event session lasts 0 s.',
    tables: ['sessions'],
    sql: `SELECT b.label AS length, b.ord, CAST(count(s.duration_s) AS DOUBLE) AS sessions
          FROM (VALUES ${SESSION_BINS.map(([label, from, to], i) => `('${label}', ${i}, ${from}, ${to ?? 'NULL'})`).join(', ')})
               AS b(label, ord, lo, hi)
          LEFT JOIN sessions s ON s.duration_s >= b.lo AND (b.hi IS NULL OR s.duration_s < b.hi)
          GROUP BY ALL ORDER BY b.ord`,
    chart: () => ({
      mark: 'bar',
      encoding: {
        x: {
          field: 'length',
          type: 'ordinal',
          sort: null,
          title: 'session length',
          axis: { labelAngle: 0 },
        },
        y: { field: 'sessions', type: 'quantitative', title: 'sessions' },
      },
    }),
  },
  {
    id: 'fraud-flags',
    title: 'Fraud flags over time, by rule',
    description: 'From fraud_flags, per hour of flagged_at.',
    tables: ['fraud_flags'],
    sql: `SELECT strftime(date_trunc('hour', flagged_at), '%Y-%m-%dT%H:00:00Z') AS hour, rule, CAST(count(*) AS DOUBLE) AS flags
          FROM fraud_flags GROUP BY ALL ORDER BY ALL`,
    chart: (rows) => ({
      mark: 'bar',
      encoding: {
        x: {
          ...utcX('hour', `hour (${utcDays(rows, 'hour')})`, { wholeMinutes: true }),
          timeUnit: 'utcyearmonthdatehours',
        },
        y: { field: 'flags', type: 'quantitative', stack: 'zero', title: 'flags' },
        color: { field: 'rule', type: 'nominal', title: 'rule' },
      },
    }),
  },
  {
    id: 'top-clv',
    title: 'Top customers by predicted 12-month value',
    description:
      'From customer_ltv: predicted_clv (BG/NBD + Gamma-Gamma, discounted) over marts.clv.horizonMonths; fraud-flagged and bot users are left out of the model and the ranking.',
    tables: ['customer_ltv'],
    sql: `SELECT left(user_key, 12) AS customer, CAST(predicted_clv AS DOUBLE) AS predicted_clv,
                 CAST(orders AS DOUBLE) AS orders
          FROM customer_ltv WHERE clv_status = 'fitted'
          ORDER BY predicted_clv DESC, user_key LIMIT 10`,
    chart: () =>
      horizontalBars(
        { field: 'customer', sort: '-x', title: 'customer (user key)' },
        { field: 'predicted_clv', title: 'predicted CLV' },
      ),
  },
  {
    id: 'clv-backtest',
    title: 'CLV backtest: predicted vs actual holdout purchases',
    description:
      'From clv_backtests (the latest shopstream clv backtest): mean purchases per customer in the holdout, by repeat purchases in the calibration period.',
    tables: ['clv_backtests'],
    sql: `WITH latest AS (SELECT * FROM clv_backtests WHERE run_id = (SELECT arg_max(run_id, ran_at) FROM clv_backtests))
          SELECT calibration_frequency, 'predicted' AS series, predicted_mean AS purchases FROM latest
          UNION ALL
          SELECT calibration_frequency, 'actual', actual_mean FROM latest
          ORDER BY 1, 2`,
    chart: () => ({
      mark: { type: 'line', point: true },
      encoding: {
        x: {
          field: 'calibration_frequency',
          type: 'ordinal',
          sort: null,
          title: 'repeat purchases before --until',
        },
        y: { field: 'purchases', type: 'quantitative', title: 'holdout purchases per customer' },
        color: { field: 'series', type: 'nominal', title: null },
      },
    }),
  },
  {
    id: 'data-quality',
    title: 'Data quality per run',
    description:
      'From pipeline_runs: the lowest quality ratio of each run, one point per run (dashed: the SLO, 99%).',
    tables: ['pipeline_runs'],
    sql: `SELECT strftime(started_at, '%Y-%m-%dT%H:%M:%S.%gZ') AS started_at, command, quality_ratio
          FROM pipeline_runs WHERE quality_ratio IS NOT NULL ORDER BY started_at`,
    chart: (rows) => ({
      layer: [
        {
          // runs are separate events: points, no line suggesting values between them
          mark: { type: 'point', filled: true, size: 70 },
          encoding: {
            x: utcX('started_at', `run start (${utcDays(rows, 'started_at')})`, { nice: true }),
            y: {
              field: 'quality_ratio',
              type: 'quantitative',
              title: 'quality ratio',
              scale: { zero: false },
            },
            color: { field: 'command', type: 'nominal', title: 'command' },
            shape: { field: 'command', type: 'nominal', title: 'command' },
          },
        },
        { mark: { type: 'rule', strokeDash: [4, 4], color: '#c0392b' }, encoding: { y: { datum: 0.99 } } },
      ],
    }),
  },
  {
    id: 'run-history',
    title: 'Run history',
    description: 'From pipeline_runs: duration of each command run, failures in red.',
    tables: ['pipeline_runs'],
    sql: `SELECT strftime(started_at, '%Y-%m-%dT%H:%M:%S.%gZ') AS started_at, command, CAST(duration_ms AS DOUBLE) / 1000 AS seconds, outcome
          FROM pipeline_runs ORDER BY started_at`,
    chart: (rows) => ({
      mark: { type: 'point', filled: true, size: 80 },
      encoding: {
        x: utcX('started_at', `run start (${utcDays(rows, 'started_at')})`, { nice: true }),
        y: { field: 'seconds', type: 'quantitative', title: 'duration (s)' },
        shape: { field: 'command', type: 'nominal', title: 'command' },
        color: {
          field: 'outcome',
          title: 'outcome',
          type: 'nominal',
          scale: { domain: ['ok', 'error'], range: ['#2a7f62', '#c0392b'] },
        },
      },
    }),
  },
];

/**
 * The run report: one self-contained HTML page (inline SVG charts rendered here with Vega-Lite,
 * inline CSS, no scripts or network) of the lake's marts and run records.
 */
export async function buildHtmlReport(lake: Lake, now = new Date()): Promise<HtmlReport> {
  // only the tables the report reads: registering raw_events would fetch every file of an s3:// lake
  const wanted = new Set([...CHARTS.flatMap((c) => c.tables), PIPELINE_RUNS]);
  const names = await lake.tableNames();
  if (names.length === 0) {
    // a mistyped --lake must not pass for an empty report
    throw usageError('LAKE_NOT_FOUND', `no lake tables at ${lake.store.uri}`, {
      location: lake.store.uri,
      suggestions: [
        'check --lake (env SHOPSTREAM_LAKE; default ./lake)',
        'ingest events first: shopstream ingest',
      ],
    });
  }
  const existing = new Set(names.filter((name) => wanted.has(name)));
  for (const name of existing) await lake.table(name).register(name);
  const sections: ReportSection[] = [];
  const parts: string[] = [];
  for (const spec of CHARTS) {
    const rows = spec.tables.every((t) => existing.has(t)) ? await lake.db.all<Row>(spec.sql) : [];
    const data = rows.map(plain);
    sections.push({ id: spec.id, title: spec.title, rows: data.length });
    const body = data.length === 0 ? '<p class="empty">No data yet.</p>' : await renderSvg(spec, data);
    parts.push(
      `<section id="${spec.id}"><h2>${escapeHtml(spec.title)}</h2><p class="note">${escapeHtml(spec.description)}</p>${body}</section>`,
    );
  }
  const runs = existing.has(PIPELINE_RUNS)
    ? (
        await lake.db.all<Row>(
          `SELECT strftime(started_at, '%Y-%m-%d %H:%M:%S') AS "started (UTC)", command, outcome, exit_code,
                  rows_in, rows_out, round(quality_ratio, 4) AS quality, duration_ms, run_id
           FROM pipeline_runs ORDER BY started_at DESC LIMIT 20`,
        )
      ).map(plain)
    : [];
  for (const name of existing) await lake.db.run(`DROP VIEW IF EXISTS "${name}"`);
  const html = page(now, parts.join('\n'), runs);
  return { html, sections, generatedAt: now.toISOString() };
}

async function renderSvg(spec: ChartSpec, rows: Row[]): Promise<string> {
  const vl = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: WIDTH,
    height: 240,
    config: VEGA_CONFIG,
    data: { values: rows },
    ...spec.chart(rows),
  } as TopLevelSpec;
  const view = new vega.View(vega.parse(compile(vl).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return `<figure class="chart" data-chart="${spec.id}">${svg}</figure>`;
}

/** JSON-safe values (DuckDB BIGINTs arrive as bigint or text). */
function plain(row: Row): Row {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v]));
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function table(rows: Row[]): string {
  if (rows.length === 0) return '<p class="empty">No runs recorded yet.</p>';
  const columns = Object.keys(rows[0]!);
  const numeric = new Set(['exit_code', 'rows_in', 'rows_out', 'quality', 'duration_ms']);
  const cls = (c: string) => (numeric.has(c) ? ' class="num"' : c === 'run_id' ? ' class="run_id"' : '');
  const head = columns.map((c) => `<th${cls(c)}>${escapeHtml(c)}</th>`).join('');
  const body = rows
    .map(
      (r) =>
        `<tr class="${r.outcome === 'error' ? 'error' : ''}">${columns.map((c) => `<td${cls(c)}>${escapeHtml(String(r[c] ?? ''))}</td>`).join('')}</tr>`,
    )
    .join('\n');
  // within the page: the long run ids wrap, and a narrow window scrolls the table, not the page
  return `<div class="table"><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

function page(now: Date, sections: string, runs: Row[]): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>shopstream run report</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; padding: 0 1rem; max-width: 1000px; color: #1d2430; background: #fff; }
  h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
  h2 { font-size: 1.15rem; margin: 2rem 0 0.2rem; border-bottom: 1px solid #dde3ea; padding-bottom: 0.2rem; }
  .note, .meta { color: #5b6673; font-size: 0.85rem; margin: 0.2rem 0 0.6rem; }
  .empty { color: #8a94a0; font-style: italic; }
  figure.chart { margin: 0; overflow-x: auto; }
  .table { overflow-x: auto; }
  table { border-collapse: collapse; font-size: 0.8rem; width: 100%; }
  th, td { text-align: left; padding: 0.25rem 0.4rem; border-bottom: 1px solid #eef1f4; white-space: nowrap; }
  th.num, td.num { text-align: right; }
  td.run_id { white-space: normal; overflow-wrap: anywhere; font-family: ui-monospace, monospace; font-size: 0.75rem; }
  tr.error td { color: #c0392b; }
</style>
</head>
<body>
<h1>shopstream run report</h1>
<p class="meta">Generated ${escapeHtml(now.toISOString())}. Self-contained: no scripts, no network.</p>
${sections}
<section id="runs"><h2>Latest runs</h2>${table(runs)}</section>
</body>
</html>
`;
}
