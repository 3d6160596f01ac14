// Buffers for encoded rounds, reused. A round of a few thousand events is a few MiB; a fresh
// buffer that size is new memory from the kernel, and the first touch of each of its pages
// faults. Profiles of batch appends put that cost above the encoding itself, so a round
// borrows a slab (a power of two from 1 MiB) from a small free list and gives it back once
// written. Idle slabs are capped in bytes; a round larger than the cap gets its own buffer.
import { limits } from '../limits.js';

const free: Buffer[] = [];
let idleBytes = 0;

function slabSize(bytes: number): number {
  let size = limits.roundSlabMinBytes;
  while (size < bytes) size *= 2;
  return size;
}

/** A buffer of exactly `bytes`, and the slab to give back afterwards (null: nothing to give). */
export function takeRoundBuffer(bytes: number): { buf: Buffer; slab: Buffer | null } {
  if (bytes > limits.roundSlabsIdleBytes) return { buf: Buffer.allocUnsafe(bytes), slab: null };
  let best = -1;
  for (let i = 0; i < free.length; i++) {
    const length = free[i]!.length;
    if (length >= bytes && (best === -1 || length < free[best]!.length)) best = i;
  }
  let slab: Buffer;
  if (best === -1) {
    slab = Buffer.allocUnsafeSlow(slabSize(bytes));
  } else {
    slab = free[best]!;
    free[best] = free[free.length - 1]!;
    free.pop();
    idleBytes -= slab.length;
  }
  return { buf: slab.subarray(0, bytes), slab };
}

/** Returns a slab once nothing refers to the round's bytes (written, or failed for good). */
export function giveRoundBuffer(slab: Buffer | null): void {
  if (slab === null) return;
  // Keep the newest; drop the smallest idle slabs until this one fits under the cap.
  while (idleBytes + slab.length > limits.roundSlabsIdleBytes && free.length > 0) {
    let smallest = 0;
    for (let i = 1; i < free.length; i++)
      if (free[i]!.length < free[smallest]!.length) smallest = i;
    idleBytes -= free[smallest]!.length;
    free[smallest] = free[free.length - 1]!;
    free.pop();
  }
  if (idleBytes + slab.length <= limits.roundSlabsIdleBytes) {
    free.push(slab);
    idleBytes += slab.length;
  }
}
