import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { dataError, isShopstreamError, type ShopstreamError } from '../errors.js';

/**
 * Reads source files as lines in Node, so that one bad line never fails a batch and a damaged file
 * is never taken as a short one. Only `\n` ends a line (a `\r` before it is dropped, a lone `\r`
 * stays in the line); a UTF-8 BOM at the start of a file is dropped; blank lines (JSON whitespace
 * only) are skipped but counted. A line longer than MAX_LINE_BYTES is rejected without being
 * buffered whole; one that is not UTF-8 or holds a NUL byte is rejected with a bounded prefix.
 * gzip goes through node:zlib, which fails on a truncated stream, a bad CRC or a non-gzip file:
 * that is an error naming the file (SOURCE_CORRUPT), never a silent end of data.
 */

/** Longest line accepted (DuckDB's former read limit, so nothing accepted before is refused now). */
export const MAX_LINE_BYTES = 2_000_000;
/** How much of a rejected line's bytes quarantine keeps (lossy-decoded). */
export const REJECT_RAW_BYTES = 1024;

/** Codes of the errors that mean "this source file cannot be read": the file fails, not the run. */
export const UNREADABLE_SOURCE_CODES: ReadonlySet<string> = new Set(['SOURCE_CORRUPT', 'SOURCE_UNREADABLE']);

export function isUnreadableSource(error: unknown): error is ShopstreamError {
  return isShopstreamError(error) && UNREADABLE_SOURCE_CODES.has(error.code);
}

export interface RejectedLine {
  readonly line: number;
  readonly reason: string;
  /** At most REJECT_RAW_BYTES of the line, decoded with U+FFFD for bad bytes and U+2400 for NUL. */
  readonly raw: string;
}

export interface LineHandler {
  line(lineNumber: number, text: string): void;
  reject(rejected: RejectedLine): void;
  /**
   * Called after each block of input (about 1 MiB) has been split; reading waits for it, so a
   * consumer can hand a bounded batch of lines on (e.g. stage a chunk) before more are read.
   */
  afterBlock?(): Promise<void> | void;
}

export interface ReadOptions {
  /** The source's name for messages (an s3:// URI when `file` is its cached copy). */
  readonly name: string;
  readonly compression: 'gzip' | 'none';
  readonly maxLineBytes?: number;
}

/** Streams an NDJSON file's lines (numbered from 1) to `handler`. Resolves with the line count. */
export async function readNdjsonLines(
  file: string,
  handler: LineHandler,
  options: ReadOptions,
): Promise<number> {
  const splitter = new LineSplitter(handler, options.maxLineBytes ?? MAX_LINE_BYTES);
  const after = handler.afterBlock?.bind(handler);
  await readBytes(file, options, (chunk) => {
    splitter.push(chunk);
    return after?.();
  });
  splitter.end();
  return splitter.lineCount;
}

export interface CsvLineScan {
  /** Empty lines after the header, outside quotes. */
  readonly empty: readonly number[];
  /** Lines that begin inside a quoted field: the 2nd, 3rd... lines of a multi-line record. */
  readonly continuation: readonly number[];
  /** Lines longer than MAX_LINE_BYTES (read_csv refuses the whole file over its own limit). */
  readonly tooLong: readonly number[];
  /** The longest line's length in bytes. */
  readonly longest: number;
}

/**
 * Reads a CSV file once (in parallel with DuckDB's read_csv, which does the parsing) to check that
 * it decompresses completely and to list the physical lines after the header that begin no record:
 * empty lines (which read_csv skips silently) and lines inside a quoted field spanning lines.
 * With read_csv's rejected lines, they turn its row numbers into file line numbers.
 */
export async function scanCsvLines(file: string, options: ReadOptions): Promise<CsvLineScan> {
  const scan = new CsvScan(options.maxLineBytes ?? MAX_LINE_BYTES);
  await readBytes(file, options, (chunk) => scan.push(chunk));
  return scan.end();
}

async function readBytes(
  file: string,
  options: ReadOptions,
  onChunk: (chunk: Buffer) => Promise<void> | void,
): Promise<void> {
  const input = createReadStream(file, { highWaterMark: 1 << 20 });
  let source: AsyncIterable<Buffer> = input;
  if (options.compression === 'gzip') {
    // Piped rather than pipeline(): gunzip ends by itself after the last member when only zero
    // padding follows (as gzip(1) accepts), which pipeline() would report as an abort.
    const gunzip = createGunzip({ chunkSize: 1 << 20 });
    input.on('error', (error) => gunzip.destroy(error));
    source = input.pipe(gunzip);
  }
  // The consumer's own failures (e.g. staging SQL) are not the file's: they pass through unchanged.
  let consumerFailed = false;
  try {
    for await (const chunk of source) {
      try {
        await onChunk(chunk);
      } catch (error) {
        consumerFailed = true;
        throw error;
      }
    }
  } catch (error) {
    if (consumerFailed || isShopstreamError(error)) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code.startsWith('Z_')) {
      throw dataError(
        'SOURCE_CORRUPT',
        `${options.name}: truncated, corrupt or not gzip (zlib: ${(error as Error).message}); nothing of it was landed`,
        { cause: error },
      );
    }
    throw dataError('SOURCE_UNREADABLE', `cannot read source ${options.name}: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    input.destroy();
  }
}

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const QUOTE = 0x22;

/**
 * The line checks of ingest over a stream of bytes pushed in chunks (also the micro-batch's, for
 * stdin and landing files): `\n` ends a line (a `\r` before it dropped), a BOM at the start is
 * dropped, blank lines are skipped (but numbered), lines too long, not UTF-8 or holding a NUL byte
 * go to `handler.reject` with their reason. One splitter per file or stream; call end() at its end.
 */
export class LineSplitter {
  lineCount = 0;
  private carry: Buffer[] = [];
  private carryBytes = 0;
  /** The current (unfinished) line is already over the limit: only its prefix is kept. */
  private tooLong = false;

  constructor(
    private readonly handler: LineHandler,
    private readonly maxLineBytes: number,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    if (this.carryBytes > 0 || this.tooLong) {
      const nl = chunk.indexOf(LF);
      if (nl === -1) {
        this.extend(chunk);
        return;
      }
      this.extend(chunk.subarray(0, nl));
      this.finishCarry();
      start = nl + 1;
    }
    const last = chunk.lastIndexOf(LF);
    if (last >= start) {
      // One validation of the whole run of complete lines; lines are re-checked only if it fails.
      const body = chunk.subarray(start, last);
      const clean = isUtf8(body) && body.indexOf(0) === -1;
      let s = start;
      while (s <= last) {
        const nl = chunk.indexOf(LF, s);
        this.emit(chunk, s, nl, clean);
        s = nl + 1;
      }
      start = last + 1;
    }
    if (start < chunk.length) this.extend(chunk.subarray(start));
  }

  end(): void {
    if (this.carryBytes > 0 || this.tooLong) this.finishCarry();
  }

  private extend(piece: Buffer): void {
    if (this.tooLong) return;
    if (this.carryBytes + piece.length > this.maxLineBytes) {
      // Keep a copy of the prefix only, not the megabytes it was cut from.
      this.carry = [Buffer.from(Buffer.concat([...this.carry, piece]).subarray(0, REJECT_RAW_BYTES))];
      this.carryBytes = 0;
      this.tooLong = true;
      return;
    }
    this.carry.push(piece);
    this.carryBytes += piece.length;
  }

  private finishCarry(): void {
    const line = this.carry.length === 1 ? this.carry[0]! : Buffer.concat(this.carry);
    if (this.tooLong) {
      this.handler.reject({ line: ++this.lineCount, reason: this.tooLongReason(), raw: lossy(line) });
    } else {
      this.emit(line, 0, line.length, false);
    }
    this.carry = [];
    this.carryBytes = 0;
    this.tooLong = false;
  }

  /** One complete line: buf[s, e) without its `\n`. */
  private emit(buf: Buffer, s: number, e: number, clean: boolean): void {
    const n = ++this.lineCount;
    const stop = e > s && buf[e - 1] === CR ? e - 1 : e;
    if (n === 1 && buf[s] === 0xef && buf[s + 1] === 0xbb && buf[s + 2] === 0xbf && stop - s >= 3) s += 3;
    if (stop === s) return;
    const first = buf[s];
    if ((first === SPACE || first === TAB || first === CR) && isBlank(buf, s, stop)) return;
    if (stop - s > this.maxLineBytes) {
      this.handler.reject({
        line: n,
        reason: this.tooLongReason(),
        raw: lossy(buf.subarray(s, s + REJECT_RAW_BYTES)),
      });
      return;
    }
    if (!clean) {
      const line = buf.subarray(s, stop);
      if (!isUtf8(line)) {
        this.handler.reject({ line: n, reason: 'not valid UTF-8', raw: lossy(line) });
        return;
      }
      if (line.indexOf(0) !== -1) {
        this.handler.reject({ line: n, reason: 'contains a NUL byte', raw: lossy(line) });
        return;
      }
    }
    this.handler.line(n, buf.toString('utf8', s, stop));
  }

  private tooLongReason(): string {
    return `line longer than ${this.maxLineBytes} bytes`;
  }
}

function isBlank(buf: Buffer, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const b = buf[i];
    if (b !== SPACE && b !== TAB && b !== CR) return false;
  }
  return true;
}

/** A bounded, printable prefix of bad bytes for quarantine.raw. */
function lossy(bytes: Buffer): string {
  return bytes.subarray(0, REJECT_RAW_BYTES).toString('utf8').replaceAll('\0', '\u2400');
}

/**
 * Tracks, per physical line, whether it starts inside a quoted field (RFC 4180: quotes inside a
 * field are doubled, so the parity of `"` counts is the state) and whether it is empty.
 */
class CsvScan {
  private line = 1;
  private inQuotes = false;
  private startsInQuotes = false;
  private lineBytes = 0;
  private lastByte = -1;
  private readonly empty: number[] = [];
  private readonly continuation: number[] = [];
  private readonly tooLong: number[] = [];
  private longest = 0;

  constructor(private readonly maxLineBytes: number) {}

  push(chunk: Buffer): void {
    let pos = 0;
    let q = chunk.indexOf(QUOTE);
    let nl = chunk.indexOf(LF);
    while (nl !== -1 || q !== -1) {
      if (q !== -1 && (nl === -1 || q < nl)) {
        this.inQuotes = !this.inQuotes;
        q = chunk.indexOf(QUOTE, q + 1);
        continue;
      }
      const length = this.lineBytes + (nl - pos);
      const last = nl > pos ? chunk[nl - 1]! : this.lastByte;
      this.endLine(length, length === 0 || (length === 1 && last === CR));
      pos = nl + 1;
      nl = chunk.indexOf(LF, pos);
    }
    if (pos < chunk.length) {
      this.lineBytes += chunk.length - pos;
      this.lastByte = chunk[chunk.length - 1]!;
    }
  }

  end(): CsvLineScan {
    if (this.lineBytes > 0) this.endLine(this.lineBytes, false);
    return {
      empty: this.empty,
      continuation: this.continuation,
      tooLong: this.tooLong,
      longest: this.longest,
    };
  }

  private endLine(length: number, empty: boolean): void {
    if (length > this.longest) this.longest = length;
    if (length > this.maxLineBytes) this.tooLong.push(this.line);
    if (this.line > 1 && this.startsInQuotes) this.continuation.push(this.line);
    else if (this.line > 1 && empty) this.empty.push(this.line);
    this.line++;
    this.startsInQuotes = this.inQuotes;
    this.lineBytes = 0;
    this.lastByte = -1;
  }
}
