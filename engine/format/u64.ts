// Positions and timestamps are u64 on disk and plain numbers in memory: every value the engine
// writes stays below 2^53, so a number holds it exactly and no BigInt is needed on the hot path.

const TWO_32 = 2 ** 32;

// The writers store bytes one by one: for the handful of header fields a record has, that
// costs less than Buffer's range-checked write methods (measured in the record encoder).

/** Writes a u32 (0 <= value < 2^32) little-endian. */
export function writeU32(buf: Buffer, value: number, offset: number): void {
  buf[offset] = value;
  buf[offset + 1] = value >>> 8;
  buf[offset + 2] = value >>> 16;
  buf[offset + 3] = value >>> 24;
}

/** Writes a u64 (0 <= value < 2^53) little-endian. */
export function writeU64(buf: Buffer, value: number, offset: number): void {
  // ToUint32 is exact modulo 2^32 for integers below 2^53, and cheaper than `%` on a double.
  const low = value >>> 0;
  writeU32(buf, low, offset);
  writeU32(buf, (value - low) / TWO_32, offset + 4);
}

export function readU64(buf: Buffer, offset: number): number {
  return buf.readUInt32LE(offset) + buf.readUInt32LE(offset + 4) * TWO_32;
}
