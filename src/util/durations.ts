/**
 * The duration grammars users write, one parser each. Each returns undefined for text outside its
 * grammar; the caller says which setting or flag was wrong (with its own error code).
 */

const SECOND_MS = 1_000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/**
 * Delta table properties (`delta.deletedFileRetentionDuration`, `delta.logRetentionDuration`), as
 * Spark and delta-rs write them: `interval 7 days`, `168 hours`, `1 week` (whole numbers; seconds to
 * weeks; `interval` optional).
 */
export function parseDeltaIntervalMs(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const match = /^(?:interval\s+)?(\d+)\s*(second|minute|hour|day|week)s?$/i.exec(text.trim());
  if (!match) return undefined;
  const unit = { second: SECOND_MS, minute: MINUTE_MS, hour: HOUR_MS, day: DAY_MS, week: 7 * DAY_MS }[
    match[2]!.toLowerCase() as 'day'
  ];
  return Number(match[1]) * unit;
}

const CLI_UNITS = { m: MINUTE_MS, h: HOUR_MS, d: DAY_MS } as const;
export type CliDurationUnit = keyof typeof CLI_UNITS;

/**
 * Command-line spans: a number (fractions allowed) and a unit, `30m`, `24h`, `7d`, `1.5h`
 * (`slo --since`, `table vacuum --retain`). With `bareUnit`, a number alone is in that unit
 * (`--retain 168` is 168 hours); without it a unit is required.
 */
export function parseCliDurationMs(
  text: string,
  options: { readonly bareUnit?: CliDurationUnit } = {},
): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(m|h|d)?$/.exec(text.trim());
  const unit = (match?.[2] as CliDurationUnit | undefined) ?? options.bareUnit;
  if (!match || !unit) return undefined;
  return Number(match[1]) * CLI_UNITS[unit];
}

/**
 * A number of seconds, fractions allowed (`microbatch --interval 0.2`), as whole milliseconds;
 * undefined below `minSeconds` (default 0).
 */
export function parseSecondsMs(
  text: string,
  options: { readonly minSeconds?: number } = {},
): number | undefined {
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds < (options.minSeconds ?? 0)) return undefined;
  return Math.round(seconds * SECOND_MS);
}
