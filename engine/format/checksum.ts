// xxHash from WebAssembly. It needs one async initialisation; openStore awaits it before any
// encode or decode runs, and the functions below assert that it did.
import xxhash from 'xxhash-wasm';
import { assert } from '../assert.js';

type Hasher = Awaited<ReturnType<typeof xxhash>>;
let hasher: Hasher | null = null;

export async function initChecksum(): Promise<void> {
  if (hasher === null) hasher = await xxhash();
}

/** xxh64 (seed 0) of the bytes: the record checksum (and the checkpoint's, in pieces). */
export function checksum64(bytes: Uint8Array): bigint {
  assert(hasher !== null, 'initChecksum() must run first');
  if (bytes.byteLength <= HASH_PIECE_BYTES) return hasher.h64Raw(bytes);
  return createChecksum64().update(bytes).digest();
}

export interface Checksum64 {
  update(bytes: Uint8Array): Checksum64;
  digest(): bigint;
}

/**
 * xxh64 (seed 0) of bytes given in order, in as many calls as it takes: the same value as
 * checksum64 of them all. Each state keeps its own copy of the hash state, so several may be
 * open at once.
 */
export function createChecksum64(): Checksum64 {
  assert(hasher !== null, 'initChecksum() must run first');
  const state = hasher.create64();
  const sum: Checksum64 = {
    update(bytes) {
      for (let at = 0; at < bytes.byteLength; at += HASH_PIECE_BYTES) {
        state.update(bytes.subarray(at, at + HASH_PIECE_BYTES));
      }
      return sum;
    },
    digest: () => state.digest(),
  };
  return sum;
}

// Writing the BigInt through a typed array avoids Buffer.writeBigUInt64LE's shifts and masks.
const scratch = new BigUint64Array(1);
const scratchBytes = new Uint8Array(scratch.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Writes xxh64 of `bytes` little-endian at target[at..at+8). */
export function writeChecksum64(bytes: Uint8Array, target: Buffer, at: number): void {
  const sum = checksum64(bytes);
  if (!littleEndian) {
    target.writeBigUInt64LE(sum, at);
    return;
  }
  scratch[0] = sum;
  for (let i = 0; i < 8; i++) target[at + i] = scratchBytes[i]!;
}

/**
 * Inputs longer than this are hashed piece by piece: a one-shot hash copies its whole input
 * into the WebAssembly memory, which then stays that large, fresh pages and all.
 */
const HASH_PIECE_BYTES = 64 * 1024;

/** xxh32 (seed 0): index keys and index-file checksums, where 32 bits are enough. */
export function hash32(bytes: Uint8Array): number {
  assert(hasher !== null, 'initChecksum() must run first');
  if (bytes.byteLength <= HASH_PIECE_BYTES) return hasher.h32Raw(bytes) >>> 0;
  const state = hasher.create32();
  for (let at = 0; at < bytes.byteLength; at += HASH_PIECE_BYTES) {
    state.update(bytes.subarray(at, at + HASH_PIECE_BYTES));
  }
  return state.digest() >>> 0;
}

/** xxh32 of a string's UTF-8 bytes. */
export function hashString32(text: string): number {
  assert(hasher !== null, 'initChecksum() must run first');
  return hasher.h32(text) >>> 0;
}
