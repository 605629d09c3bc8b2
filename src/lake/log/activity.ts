/** One table version a process read or committed. */
export interface TableVersion {
  readonly table: string;
  readonly version: number;
  /** For writes: the commit's operation (WRITE, DELETE, OPTIMIZE, ...). */
  readonly operation?: string;
}

/**
 * What this process read from and committed to lake tables, for the audit log ("tables and
 * versions read and written"). Process-wide: a CLI process runs one command.
 */
class LakeActivity {
  readonly #reads = new Map<string, TableVersion>();
  readonly #writes: TableVersion[] = [];

  recordRead(table: string, version: number): void {
    this.#reads.set(`${table}@${version}`, { table, version });
  }

  recordWrite(table: string, version: number, operation: string): void {
    this.#writes.push({ table, version, operation });
  }

  /** Reads (distinct, at most 100) and writes so far. */
  current(): { readonly reads: readonly TableVersion[]; readonly writes: readonly TableVersion[] } {
    return { reads: [...this.#reads.values()].slice(0, 100), writes: [...this.#writes] };
  }

  reset(): void {
    this.#reads.clear();
    this.#writes.length = 0;
  }
}

export const lakeActivity = new LakeActivity();
