/**
 * The event_id hashes an ingest batch has seen (dedupe.ts): an open-addressing hash set of 52-bit
 * hashes, held exactly as JavaScript numbers, with the source that added each (TABLE_SOURCE for an
 * event already in the table). 12 bytes a slot, at most 3/4 full: ~16-24 bytes an event.
 *
 * Why not a DuckDB table: DuckDB keeps no join hash table between statements, so probing a chunk's
 * keys against a table of everything seen scans that table once per chunk, which grows with the
 * square of the batch (measured: ~0.3 s a chunk against 5M hashes on the loaded 2-core machine).
 * Here a chunk costs a lookup per distinct key.
 */
export const TABLE_SOURCE = -1;

const EMPTY = 0;
const INITIAL_SLOTS = 1 << 16;
const TWO_32 = 4294967296;

export class SeenHashes {
  /** hash + 1 per slot (so that 0 marks an empty one). */
  private keys = new Float64Array(INITIAL_SLOTS);
  private owners = new Int32Array(INITIAL_SLOTS);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /**
   * The source that added `hash` when it is present; otherwise adds it for `owner` and returns
   * undefined. `hash` is a whole number below 2^52.
   */
  addIfAbsent(hash: number, owner: number): number | undefined {
    const key = hash + 1;
    const mask = this.keys.length - 1;
    let i = slot(key) & mask;
    for (;;) {
      const k = this.keys[i]!;
      if (k === EMPTY) break;
      if (k === key) return this.owners[i];
      i = (i + 1) & mask;
    }
    this.keys[i] = key;
    this.owners[i] = owner;
    this.count++;
    if (this.count * 4 > this.keys.length * 3) this.rehash(this.keys.length * 2, () => true);
    return undefined;
  }

  /** Gives a present hash to another owner (an event of the table outlives a dropped source). */
  setOwner(hash: number, owner: number): void {
    const key = hash + 1;
    const mask = this.keys.length - 1;
    for (let i = slot(key) & mask; this.keys[i] !== EMPTY; i = (i + 1) & mask) {
      if (this.keys[i] === key) {
        this.owners[i] = owner;
        return;
      }
    }
  }

  /** Forgets the hashes `owner` added (a source dropped from the batch: rare, so a full pass). */
  removeOwner(owner: number): void {
    this.rehash(this.keys.length, (o) => o !== owner);
  }

  private rehash(slots: number, keep: (owner: number) => boolean): void {
    const { keys, owners } = this;
    this.keys = new Float64Array(slots);
    this.owners = new Int32Array(slots);
    this.count = 0;
    const mask = slots - 1;
    for (let j = 0; j < keys.length; j++) {
      const key = keys[j]!;
      if (key === EMPTY || !keep(owners[j]!)) continue;
      let i = slot(key) & mask;
      while (this.keys[i] !== EMPTY) i = (i + 1) & mask;
      this.keys[i] = key;
      this.owners[i] = owners[j]!;
      this.count++;
    }
  }
}

/** The hash's bits are uniform already: fold its high word into its low one. */
function slot(key: number): number {
  return ((key >>> 0) ^ ((key / TWO_32) >>> 0)) >>> 0;
}
