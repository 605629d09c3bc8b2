/**
 * One error type for the whole product. Every failure a user can meet carries a stable code and an
 * exit code from the documented table, so schedulers can decide whether to retry.
 */

/** Exit codes (sysexits.h values, documented in the README). */
export const ExitCode = {
  ok: 0,
  /** `shopstream slo`: a service level objective is breached (alert on it). */
  breach: 1,
  /** Command line misuse: unknown flag, missing argument. */
  usage: 64,
  /** Bad input data: malformed records above the allowed ratio, unreadable source, failed checks. */
  data: 65,
  /** A service (object store, warehouse, Redis) did not answer. Retry later. */
  unavailable: 69,
  /** A bug in shopstream. Report it. */
  bug: 70,
  /** A retryable conflict: another writer won, a lock is held. Rerun. */
  conflict: 75,
  /** Configuration is invalid or missing. */
  config: 78,
} as const;

export type ExitCodeName = keyof typeof ExitCode;

export interface ShopstreamErrorOptions {
  readonly cause?: unknown;
  readonly suggestions?: readonly string[];
  /** Where in the input the problem is, e.g. `events.ndjson:12 field timestamp`. */
  readonly location?: string;
}

export class ShopstreamError extends Error {
  readonly code: string;
  readonly kind: ExitCodeName;
  readonly suggestions: readonly string[];
  readonly location: string | undefined;

  constructor(kind: ExitCodeName, code: string, message: string, options: ShopstreamErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ShopstreamError';
    this.kind = kind;
    this.code = code;
    this.suggestions = options.suggestions ?? [];
    this.location = options.location;
  }

  get exitCode(): number {
    return ExitCode[this.kind];
  }
}

export const usageError = (code: string, message: string, options?: ShopstreamErrorOptions) =>
  new ShopstreamError('usage', code, message, options);
export const configError = (code: string, message: string, options?: ShopstreamErrorOptions) =>
  new ShopstreamError('config', code, message, options);
export const dataError = (code: string, message: string, options?: ShopstreamErrorOptions) =>
  new ShopstreamError('data', code, message, options);
export const unavailableError = (code: string, message: string, options?: ShopstreamErrorOptions) =>
  new ShopstreamError('unavailable', code, message, options);
export const conflictError = (code: string, message: string, options?: ShopstreamErrorOptions) =>
  new ShopstreamError('conflict', code, message, options);

export function isShopstreamError(error: unknown): error is ShopstreamError {
  return error instanceof ShopstreamError;
}

export const breachError = (code: string, message: string, options?: ShopstreamErrorOptions) =>
  new ShopstreamError('breach', code, message, options);
