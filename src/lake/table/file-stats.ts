import { withoutMinMax } from '../../catalog/column-privacy.js';
import type { FileStats } from '../log/actions.js';
import type { DeltaField } from '../log/delta-schema.js';

/** One file as DuckDB's `COPY ... RETURN_STATS` describes it. */
export interface CopiedFile {
  readonly filename: string;
  readonly count: string;
  readonly file_size_bytes: string;
  readonly column_statistics: readonly { key: string; value: readonly { key: string; value: string }[] }[];
  readonly partition_keys: readonly { key: string; value: string }[] | null;
}

const STRING_PREFIX = 32;

/**
 * Delta file statistics from DuckDB's per-file column statistics: numRecords and, for top-level
 * primitive data columns, minValues/maxValues/nullCount in the JSON form Delta readers expect (no min/max for
 * personal data and free text: the table catalog's {@link withoutMinMax} names them).
 */
export function statsFromCopy(file: CopiedFile, dataFields: readonly DeltaField[]): FileStats {
  const byName = new Map(
    file.column_statistics.map((c) => [unquote(c.key), new Map(c.value.map((v) => [v.key, v.value]))]),
  );
  const minValues: Record<string, unknown> = {};
  const maxValues: Record<string, unknown> = {};
  const nullCount: Record<string, number> = {};
  for (const field of dataFields) {
    const stats = byName.get(field.name);
    if (!stats || typeof field.type !== 'string') continue;
    const nulls = stats.get('null_count');
    if (nulls !== undefined) nullCount[field.name] = Number(nulls);
    if (withoutMinMax(field.name)) continue;
    const min = convert(field.type, stats.get('min'), 'min');
    const max = convert(field.type, stats.get('max'), 'max');
    if (min !== undefined) minValues[field.name] = min;
    if (max !== undefined) maxValues[field.name] = max;
  }
  return { numRecords: Number(file.count), minValues, maxValues, nullCount };
}

function unquote(key: string): string {
  return key.startsWith('"') && key.endsWith('"') ? key.slice(1, -1).replaceAll('""', '"') : key;
}

function convert(type: string, value: string | undefined, bound: 'min' | 'max'): unknown {
  if (value === undefined) return undefined;
  switch (type) {
    case 'long':
    case 'integer':
    case 'short':
    case 'byte':
    case 'float':
    case 'double': {
      const n = Number(value);
      return Number.isFinite(n) ? n : undefined;
    }
    case 'date':
      return /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : undefined;
    case 'timestamp':
      return timestampStat(value, bound);
    case 'string':
      // A truncated minimum is still a lower bound; a truncated maximum would not be an upper one.
      if (value.length <= STRING_PREFIX) return value;
      return bound === 'min' ? value.slice(0, STRING_PREFIX) : undefined;
    default:
      if (type.startsWith('decimal')) {
        const n = Number(value);
        return Number.isFinite(n) ? n : undefined;
      }
      return undefined;
  }
}

/** `2024-01-01 00:00:06.123456+00` → `2024-01-01T00:00:06.123Z`, rounded outward to milliseconds. */
function timestampStat(value: string, bound: 'min' | 'max'): string | undefined {
  const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d+))?\+00$/.exec(value);
  if (!match) return undefined;
  const fraction = (match[3] ?? '').padEnd(6, '0');
  let ms = Date.parse(`${match[1]}T${match[2]}Z`) + Number(fraction.slice(0, 3));
  if (bound === 'max' && Number(fraction.slice(3)) > 0) ms += 1;
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}
