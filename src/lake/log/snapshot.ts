import type { Action, AddFile, Metadata, Protocol, RemoveFile, Txn } from './actions.js';
import { type DeltaSchema, parseSchema } from './delta-schema.js';

/**
 * The state of a table at one version, built by replaying actions in order ("Action
 * Reconciliation" in the protocol): latest protocol and metaData win, files are keyed by path, an add
 * cancels a tombstone and a remove cancels an add, the latest txn per appId wins.
 */
export class Snapshot {
  readonly version: number;
  readonly protocol: Protocol;
  readonly metadata: Metadata;
  readonly files: readonly AddFile[];
  readonly tombstones: readonly RemoveFile[];
  readonly txns: ReadonlyMap<string, Txn>;
  /** Modification time (ms) of the commit file for `version`, when known. */
  readonly timestamp: number | undefined;

  constructor(init: {
    version: number;
    protocol: Protocol;
    metadata: Metadata;
    files: readonly AddFile[];
    tombstones: readonly RemoveFile[];
    txns: ReadonlyMap<string, Txn>;
    timestamp: number | undefined;
  }) {
    this.version = init.version;
    this.protocol = init.protocol;
    this.metadata = init.metadata;
    this.files = init.files;
    this.tombstones = init.tombstones;
    this.txns = init.txns;
    this.timestamp = init.timestamp;
  }

  get schema(): DeltaSchema {
    return parseSchema(this.metadata.schemaString);
  }

  get partitionColumns(): readonly string[] {
    return this.metadata.partitionColumns;
  }

  get numRecords(): number | undefined {
    let total = 0;
    for (const file of this.files) {
      if (!file.stats) return undefined;
      const stats = JSON.parse(file.stats) as { numRecords?: number };
      if (typeof stats.numRecords !== 'number') return undefined;
      total += stats.numRecords;
    }
    return total;
  }

  txnVersion(appId: string): number | undefined {
    return this.txns.get(appId)?.version;
  }
}

/** Canonical key for a file path: actions may spell the same file with different escaping. */
export function fileKey(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** Accumulates actions in log order. */
export class ReplayState {
  protocol: Protocol | undefined;
  metadata: Metadata | undefined;
  readonly files = new Map<string, AddFile>();
  readonly tombstones = new Map<string, RemoveFile>();
  readonly txns = new Map<string, Txn>();

  apply(action: Action): void {
    if ('add' in action) {
      const key = fileKey(action.add.path);
      this.files.set(key, action.add);
      this.tombstones.delete(key);
    } else if ('remove' in action) {
      const key = fileKey(action.remove.path);
      this.files.delete(key);
      this.tombstones.set(key, action.remove);
    } else if ('metaData' in action) {
      this.metadata = action.metaData;
    } else if ('protocol' in action) {
      this.protocol = action.protocol;
    } else if ('txn' in action) {
      this.txns.set(action.txn.appId, action.txn);
    }
  }

  toSnapshot(version: number, timestamp: number | undefined, tableName: string): Snapshot {
    if (!this.protocol || !this.metadata) {
      throw new Error(`table ${tableName} has no protocol or metaData at version ${version}`);
    }
    return new Snapshot({
      version,
      protocol: this.protocol,
      metadata: this.metadata,
      files: [...this.files.values()],
      tombstones: [...this.tombstones.values()],
      txns: new Map(this.txns),
      timestamp,
    });
  }
}

export function parseCommit(text: string, where: string): Action[] {
  const actions: Action[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    try {
      actions.push(JSON.parse(line) as Action);
    } catch (error) {
      throw new Error(`${where}:${i + 1}: not a JSON action`, { cause: error });
    }
  }
  return actions;
}
