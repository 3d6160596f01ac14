// A blocked Bloom filter over the client-id hashes of a sealed segment. An append with a new
// id asks every sealed segment of the idempotency window whether it holds the id; a binary
// search over a full segment's id section (hundreds of thousands of pairs, megabytes) missed
// the CPU cache at almost every one of its ~19 steps. The filter answers "no" from one 64-byte
// block, and the search runs only for the few ids it cannot rule out.

/** Bits per id: about 0.1-0.3% false positives with 8 bits set per id in 512-bit blocks. */
const BITS_PER_ID = 16;
const BLOCK_WORDS = 16;
const BITS_SET = 8;

export type IdFilter = Int32Array;

function blockOf(hash: number, blocks: number): number {
  // The high bits of the hash pick the block; the bits within come from a remix of it.
  return Math.floor((hash / 4294967296) * blocks) * BLOCK_WORDS;
}

// An id's BITS_SET bits within its block: from a remix of its hash, an odd step apart (the
// same sequence when built and when asked).
function firstBitOf(hash: number): number {
  return Math.imul(hash, 0x9e3779b1) ^ (hash >>> 15);
}

function stepOf(hash: number): number {
  return (Math.imul(hash, 0x85ebca77) >>> 22) | 1;
}

/**
 * Builds the filter from (hash, relative position) pairs, as an id section holds them; in
 * shared memory when `shared` (built on the sealing thread, used on the event loop).
 */
export function buildIdFilter(pairs: Uint32Array, shared = false): IdFilter {
  const n = pairs.length / 2;
  const blocks = Math.max(1, Math.ceil((n * BITS_PER_ID) / (BLOCK_WORDS * 32)));
  const bytes = blocks * BLOCK_WORDS * 4;
  const words = shared ? new Int32Array(new SharedArrayBuffer(bytes)) : new Int32Array(bytes / 4);
  for (let k = 0; k < pairs.length; k += 2) {
    const hash = pairs[k]!;
    const base = blockOf(hash, blocks);
    const step = stepOf(hash);
    for (let j = 0, bits = firstBitOf(hash); j < BITS_SET; j++, bits += step) {
      const w = base + ((bits & 511) >>> 5);
      words[w] = words[w]! | (1 << (bits & 31));
    }
  }
  return words;
}

/** False when no id with this hash went into the filter; true when one may have. */
export function mayHold(filter: IdFilter, hash: number): boolean {
  const base = blockOf(hash, filter.length / BLOCK_WORDS);
  const step = stepOf(hash);
  for (let j = 0, bits = firstBitOf(hash); j < BITS_SET; j++, bits += step) {
    if ((filter[base + ((bits & 511) >>> 5)]! & (1 << (bits & 31))) === 0) return false;
  }
  return true;
}
