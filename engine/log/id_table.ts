// The active segment's client ids, kept as hashes: (xxh32 of the id, relative position) pairs
// in the order they were added, and an open-addressing table over them for lookups. No id
// string is kept. A map of id strings cost the collector hundreds of thousands of live strings
// per segment, and handing them to the sealing thread cost the event loop 200-350 ms for a
// segment of 372,000 ids (copying the strings into arrays, then serializing them). The pairs
// live in shared memory: the sealing thread reads them where they are.
import { sharedCopy } from './index_arrays.js';

const NONE = -1;
const INITIAL_IDS = 64;

export class IdTable {
  /** (hash, relative position) pairs, in the order added: relative positions ascend. */
  private pairs = sharedCopy((b) => new Uint32Array(b), null, INITIAL_IDS * 2);
  /** Indexes into `pairs` by hash, linear probing; never more than half full. */
  private slots = new Int32Array(INITIAL_IDS * 2).fill(NONE);
  count = 0;

  add(hash: number, rel: number): void {
    if (2 * this.count === this.pairs.length) {
      this.pairs = sharedCopy((b) => new Uint32Array(b), this.pairs, this.pairs.length * 2);
    }
    if (2 * (this.count + 1) > this.slots.length) this.rehash(this.slots.length * 2);
    this.pairs[2 * this.count] = hash;
    this.pairs[2 * this.count + 1] = rel;
    this.place(this.count);
    this.count++;
  }

  /** Relative positions of the ids added with this hash, ascending. */
  candidates(hash: number): number[] {
    const out: number[] = [];
    const mask = this.slots.length - 1;
    for (let s = hash & mask; this.slots[s] !== NONE; s = (s + 1) & mask) {
      const k = this.slots[s]!;
      if (this.pairs[2 * k] === hash) out.push(this.pairs[2 * k + 1]!);
    }
    // Ids with one hash sit along one probe sequence in the order they were added.
    return out;
  }

  /** The pairs, a view of shared memory (nothing is added once the segment is sealed). */
  get view(): Uint32Array {
    return this.pairs.subarray(0, 2 * this.count);
  }

  private place(k: number): void {
    const mask = this.slots.length - 1;
    let s = this.pairs[2 * k]! & mask;
    while (this.slots[s] !== NONE) s = (s + 1) & mask;
    this.slots[s] = k;
  }

  private rehash(size: number): void {
    this.slots = new Int32Array(size).fill(NONE);
    for (let k = 0; k < this.count; k++) this.place(k);
  }
}
