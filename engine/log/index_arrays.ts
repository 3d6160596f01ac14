// The per-record arrays of active segment indexes, reused. A full segment's index is a few
// MiB; fresh memory faults a page at a time on first touch, and on the machines we measure on
// those faults cost more than filling the arrays. A sealed segment's arrays come back here
// and the next segment of any log takes them. They live in shared memory so that the sealing
// thread reads them without a copy. Idle sets are capped in bytes (limits.ts).
import { limits } from '../limits.js';

export interface IndexArrays {
  capacity: number;
  relPositions: Uint32Array;
  offsets: Uint32Array;
  timestamps: Float64Array;
  previousForEntity: Int32Array;
  previousForType: Int32Array;
}

/** Bytes a set of `capacity` records takes: 8 for the timestamp, 4 for each other array. */
const BYTES_PER_RECORD = 24;
/** A free set is taken for a request only if it is at most this many times too large. */
const FIT_FACTOR = 4;

/**
 * A 4-byte typed array of `length` elements in shared memory, holding `from`'s elements: how
 * the active index's per-key arrays grow, so that the sealing thread reads them in place too.
 */
export function sharedCopy<T extends Int32Array | Uint32Array>(
  make: (buffer: SharedArrayBuffer) => T,
  from: T | null,
  length: number,
): T {
  const wider = make(new SharedArrayBuffer(length * 4));
  if (from !== null) wider.set(from);
  return wider;
}

const free: IndexArrays[] = [];
let idleBytes = 0;

function allocate(capacity: number): IndexArrays {
  const memory = new SharedArrayBuffer(capacity * BYTES_PER_RECORD);
  // Timestamps first, so that the 8-byte array starts 8-aligned.
  return {
    capacity,
    timestamps: new Float64Array(memory, 0, capacity),
    relPositions: new Uint32Array(memory, capacity * 8, capacity),
    offsets: new Uint32Array(memory, capacity * 12, capacity),
    previousForEntity: new Int32Array(memory, capacity * 16, capacity),
    previousForType: new Int32Array(memory, capacity * 20, capacity),
  };
}

/** What a released index holds: no room at all. */
export const NO_INDEX_ARRAYS: IndexArrays = allocate(0);

/** Capacities are powers of two, so that sets freed by one log fit the next segment of another. */
function roundUp(records: number): number {
  let capacity = 1024;
  while (capacity < records) capacity *= 2;
  return capacity;
}

/** A set with room for at least `records` records; its contents are whatever was there. */
export function takeIndexArrays(records: number): IndexArrays {
  const capacity = roundUp(records);
  let best = -1;
  for (let i = 0; i < free.length; i++) {
    const c = free[i]!.capacity;
    if (c >= capacity && c <= capacity * FIT_FACTOR && (best === -1 || c < free[best]!.capacity)) {
      best = i;
    }
  }
  if (best === -1) return allocate(capacity);
  const set = free[best]!;
  free[best] = free[free.length - 1]!;
  free.pop();
  idleBytes -= set.capacity * BYTES_PER_RECORD;
  return set;
}

/** Gives a set back once nothing reads it; kept if it fits under the idle cap. */
export function releaseIndexArrays(set: IndexArrays): void {
  const bytes = set.capacity * BYTES_PER_RECORD;
  if (idleBytes + bytes > limits.indexArraysIdleBytes) return;
  free.push(set);
  idleBytes += bytes;
}
