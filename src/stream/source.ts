import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { LineSplitter, MAX_LINE_BYTES, type RejectedLine as UnreadableLine } from '../ingest/line-reader.js';
import { formatOf } from '../ingest/sources.js';
import { S3Store, type S3StoreOptions } from '../storage/s3-store.js';
import type { BatchLine } from './normalize.js';

/**
 * The micro-batch's input: NDJSON lines from stdin (stamped with their arrival as each chunk is read
 * from the pipe) or from new files in a landing directory or under an s3:// prefix. Lines are read
 * as bytes, split and checked as ingest reads them (line-reader.ts: too long, not UTF-8, NUL, BOM,
 * blank).
 */
export interface SourceOptions {
  /** `-` for NDJSON on stdin, or a landing directory or s3:// prefix polled for new files. */
  readonly from: string;
  readonly stdin?: Readable;
  /** How to reach an s3:// landing prefix. */
  readonly s3?: S3StoreOptions;
}

/** A line ingest's line checks refuse, with where it came from. */
export interface SourcedUnreadable extends UnreadableLine {
  readonly source: string;
}

/** What one batch takes from the source. */
export interface TakenLines {
  /** The input had ended when the lines were taken (stdin at EOF): nothing more will come. */
  readonly inputDone: boolean;
  readonly lines: BatchLine[];
  /** Files the batch read: path and signature, to record as taken once the batch is processed. */
  readonly files: [string, string][];
  /** Lines ingest's line checks refuse (too long, not UTF-8, NUL byte): never staged. */
  readonly unreadable: SourcedUnreadable[];
}

export interface BatchSource {
  /** Takes every line that arrived since the last take. `taken`: files already processed. */
  take(taken: Readonly<Record<string, string>>): Promise<TakenLines>;
  /** Files of a taken batch are processed (recorded by the caller): they stop being in flight. */
  processed(files: readonly [string, string][]): void;
  /** Lines (or unreadable ones) arrived and not taken yet. */
  readonly waiting: boolean;
}

export function openSource(options: SourceOptions, runStarted: number): BatchSource {
  return options.from === '-'
    ? new StdinSource(options.stdin ?? process.stdin)
    : new FileSource(options.from, options.s3 ?? {}, runStarted);
}

/** Lines of stdin with their number and arrival; a backlog is taken whole by the next batch. */
class StdinSource implements BatchSource {
  private lines: BatchLine[] = [];
  private unreadable: SourcedUnreadable[] = [];
  private done = false;

  constructor(input: Readable) {
    let chunkArrival = 0;
    const splitter = new LineSplitter(
      {
        line: (lineNumber, raw) => {
          this.lines.push({ source: 'stdin', line: lineNumber, raw, arrivedAt: chunkArrival });
        },
        reject: (rejected) => {
          this.unreadable.push({ ...rejected, source: 'stdin' });
        },
      },
      MAX_LINE_BYTES,
    );
    input.on('data', (chunk: Buffer | string) => {
      chunkArrival = Date.now();
      splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    });
    const finish = () => {
      if (this.done) return;
      splitter.end();
      this.done = true;
    };
    input.on('end', finish);
    input.on('close', finish);
  }

  async take(): Promise<TakenLines> {
    // read "done" before taking the lines: stdin may close while this batch runs
    const inputDone = this.done;
    // swapped, not spread: a backlog of 100k+ lines would overflow the call stack
    const { lines, unreadable } = this;
    this.lines = [];
    this.unreadable = [];
    return { inputDone, lines, files: [], unreadable };
  }

  processed(): void {}

  get waiting(): boolean {
    return this.lines.length > 0 || this.unreadable.length > 0;
  }
}

/** New NDJSON files in a landing directory or under an s3:// prefix, polled at each take. */
class FileSource implements BatchSource {
  /** Files taken by a batch not processed yet: not taken again, recorded only once processed. */
  private readonly inFlight = new Map<string, string>();

  constructor(
    private readonly from: string,
    private readonly s3: S3StoreOptions,
    private readonly runStarted: number,
  ) {}

  async take(taken: Readonly<Record<string, string>>): Promise<TakenLines> {
    const lines: BatchLine[] = [];
    const files: [string, string][] = [];
    const unreadable: SourcedUnreadable[] = [];
    const known = { ...taken, ...Object.fromEntries(this.inFlight) };
    for (const file of await newFiles(this.from, known, this.s3)) {
      const bytes = await file.read();
      // written while this run polls: from its write (the poll's wait included); written before
      // the run: from the run's start (a backlog waiting for a cron run is not stream latency)
      const arrivedAt = Math.max(file.writtenAt, this.runStarted);
      // split and checked as ingest reads a file (line-reader.ts)
      const splitter = new LineSplitter(
        {
          line(lineNumber, raw) {
            lines.push({ source: file.path, line: lineNumber, raw, arrivedAt });
          },
          reject(rejected) {
            unreadable.push({ ...rejected, source: file.path });
          },
        },
        MAX_LINE_BYTES,
      );
      splitter.push(bytes);
      splitter.end();
      files.push([file.path, file.signature]);
      this.inFlight.set(file.path, file.signature);
    }
    return { inputDone: true, lines, files, unreadable };
  }

  processed(files: readonly [string, string][]): void {
    for (const [file] of files) this.inFlight.delete(file);
  }

  get waiting(): boolean {
    return false;
  }
}

interface NewFile {
  readonly path: string;
  readonly signature: string;
  /** When the file was last written (epoch ms): its events' arrival. */
  readonly writtenAt: number;
  read(): Promise<Buffer>;
}

/** NDJSON files not taken yet, in a local directory or under an s3:// prefix. */
async function newFiles(from: string, taken: Record<string, string>, s3: S3StoreOptions): Promise<NewFile[]> {
  const out: NewFile[] = [];
  const wanted = (name: string) => formatOf(name) === 'ndjson' && !name.endsWith('.gz');
  if (from.startsWith('s3://')) {
    const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(from)!;
    const store = new S3Store(`s3://${match[1]}`, s3);
    const prefix = match[2] && !match[2].endsWith('/') ? `${match[2]}/` : (match[2] ?? '');
    for (const object of (await store.list(prefix)).sort((a, b) => a.key.localeCompare(b.key))) {
      if (!wanted(object.key)) continue;
      const uri = `s3://${match[1]}/${object.key}`;
      const signature = `${object.size}:${object.lastModified}`;
      if (taken[uri] === signature) continue;
      out.push({
        path: uri,
        signature,
        writtenAt: object.lastModified,
        read: async () => Buffer.from(await store.get(object.key)),
      });
    }
    return out;
  }
  for (const name of (await readdir(from)).sort()) {
    if (!wanted(name)) continue;
    const file = path.join(from, name);
    const info = await stat(file);
    const signature = `${info.size}:${info.mtimeMs}`;
    if (taken[file] === signature) continue;
    out.push({ path: file, signature, writtenAt: info.mtimeMs, read: () => readFile(file) });
  }
  return out;
}
