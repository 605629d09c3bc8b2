import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { AUDIT_LOG, AUDIT_LOG_TABLE } from '../catalog/tables/audit-log.js';
import type { TableVersion } from '../lake/log/activity.js';
import type { CommitProperties } from '../lake/log/delta-log.js';
import { appendRows } from '../lake/table/append-rows.js';
import type { Lake } from '../lake/table/lake.js';
import { redactUrlCredentials } from '../util/redact.js';

export interface AuditEntry {
  readonly command: string;
  /** As typed; redacted here before it is stored. */
  readonly argv: readonly string[];
  readonly actor: string;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly exitCode: number;
  readonly errorCode?: string;
  readonly errorMessage?: string;
  readonly reads: readonly TableVersion[];
  readonly writes: readonly TableVersion[];
}

/** Flags whose value is a secret or names a person: stored as `[redacted]`. */
const SECRET_FLAG = /(password|secret|token|key|credential|user$)/i;
/** Flags whose values are user ids: counted, not stored. */
const PERSON_FLAGS = new Set(['--user']);

/**
 * Arguments safe to keep: values of secret-looking flags (`--password`, `--pseudonym-key`, ...)
 * and of `--user` become `[redacted]`, and credentials inside URLs (`redis://:pw@host`) are cut.
 */
export function redactArguments(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      const flag = arg.slice(0, eq);
      out.push(
        SECRET_FLAG.test(flag) || PERSON_FLAGS.has(flag) ? `${flag}=[redacted]` : redactUrlCredentials(arg),
      );
      continue;
    }
    out.push(redactUrlCredentials(arg));
    const next = argv[i + 1];
    if (arg.startsWith('--') && (SECRET_FLAG.test(arg) || PERSON_FLAGS.has(arg)) && next !== undefined) {
      if (!next.startsWith('--')) {
        out.push('[redacted]');
        i++;
      }
    }
  }
  return out;
}

/**
 * Appends one row to the lake's append-only `audit_log` (`commitProperties`: the run's id for the
 * commit); returns its version.
 */
export async function appendAudit(
  lake: Lake,
  entry: AuditEntry,
  commitProperties?: CommitProperties,
): Promise<number> {
  const started = entry.startedAt.toISOString();
  return appendRows(
    lake,
    AUDIT_LOG,
    AUDIT_LOG_TABLE.definition,
    [
      {
        audit_id: randomUUID(),
        started_at: started,
        finished_at: entry.finishedAt.toISOString(),
        duration_ms: entry.finishedAt.getTime() - entry.startedAt.getTime(),
        actor: entry.actor,
        host: os.hostname(),
        command: entry.command,
        arguments: JSON.stringify(redactArguments(entry.argv)),
        reads: JSON.stringify(entry.reads),
        writes: JSON.stringify(entry.writes),
        outcome: entry.exitCode === 0 ? 'ok' : 'error',
        exit_code: entry.exitCode,
        error_code: entry.errorCode ?? null,
        error_message: entry.errorMessage ?? null,
        dt: started.slice(0, 10),
      },
    ],
    { commitProperties },
  );
}
