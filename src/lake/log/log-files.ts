/**
 * Names in `_delta_log/`. A commit file is created once and never overwritten; readers take only
 * names that match these patterns and ignore everything else (.crc, temp files, subfolders).
 */

export const LOG_DIR = '_delta_log';

const COMMIT = /^(\d{20})\.json$/;
const CHECKPOINT = /^(\d{20})\.checkpoint(?:\.(\d{10})\.(\d{10}))?\.parquet$/;

export function commitFileName(version: number): string {
  return `${String(version).padStart(20, '0')}.json`;
}

export function checkpointFileName(version: number): string {
  return `${String(version).padStart(20, '0')}.checkpoint.parquet`;
}

export type LogFile =
  | { readonly kind: 'commit'; readonly version: number; readonly name: string }
  | {
      readonly kind: 'checkpoint';
      readonly version: number;
      readonly name: string;
      readonly part: number;
      readonly parts: number;
    };

/** Classifies a file directly inside `_delta_log/`; undefined for anything a reader must ignore. */
export function parseLogFileName(name: string): LogFile | undefined {
  const commit = COMMIT.exec(name);
  if (commit) return { kind: 'commit', version: Number(commit[1]), name };
  const checkpoint = CHECKPOINT.exec(name);
  if (checkpoint) {
    return {
      kind: 'checkpoint',
      version: Number(checkpoint[1]),
      name,
      part: checkpoint[2] ? Number(checkpoint[2]) : 1,
      parts: checkpoint[3] ? Number(checkpoint[3]) : 1,
    };
  }
  return undefined;
}
