// Positions and timestamps are u64 on disk and plain numbers in memory: every value the engine
// writes stays below 2^53, so a number holds it exactly and no BigInt is needed on the hot path.

const TWO_32 = 2 ** 32;

export function writeU64(buf: Buffer, value: number, offset: number): void {
  buf.writeUInt32LE(value % TWO_32, offset);
  buf.writeUInt32LE(Math.floor(value / TWO_32), offset + 4);
}

export function readU64(buf: Buffer, offset: number): number {
  return buf.readUInt32LE(offset) + buf.readUInt32LE(offset + 4) * TWO_32;
}
