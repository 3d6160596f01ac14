// Server-generated event ids: RFC 9562 version 8 UUIDs that carry the event's position in their
// first 48 bits, followed by 74 random bits. A lookup by such an id goes straight to the
// position, so generated ids need no index; only client-chosen ids (the idempotency keys) are
// indexed. Any id found by position is compared with the stored one before it is returned.
import { randomFillSync } from 'node:crypto';

// One getrandom call per 64 KiB (6,553 ids): refilling a 4 KiB pool cost about 17 ns per id.
const POOL_BYTES = 64 * 1024;
const RANDOM_BYTES = 10;
const pool = Buffer.alloc(POOL_BYTES);
let poolAt = POOL_BYTES;
/**
 * 2^48: the positions an id's 48 bits can carry. Past it the position would wrap in the id:
 * still unique by its random bits, but a lookup by it would miss the event. A log appending a
 * million events a second reaches it after about nine years.
 */
export const POSITION_ID_LIMIT = 2 ** 48;
const SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function randomBytes(): number {
  if (poolAt + RANDOM_BYTES > POOL_BYTES) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const at = poolAt;
  poolAt += RANDOM_BYTES;
  return at;
}

/** Bytes of a generated id's text. */
export const POSITION_ID_BYTES = 36;
/** The two hex digits of each byte value: one lookup each, no shifts or masks per digit. */
const HEX_HIGH = new Uint8Array(256);
const HEX_LOW = new Uint8Array(256);
for (let v = 0; v < 256; v++) {
  HEX_HIGH[v] = '0123456789abcdef'.charCodeAt(v >>> 4);
  HEX_LOW[v] = '0123456789abcdef'.charCodeAt(v & 15);
}

function hexByte(target: Buffer, at: number, value: number): void {
  target[at] = HEX_HIGH[value]!;
  target[at + 1] = HEX_LOW[value]!;
}

/**
 * Writes a new id for `position` as 36 ASCII bytes at target[at..], laid out
 * pppppppp-pppp-8rrr-vrrr-rrrrrrrrrrrr (p: position, r: random, v: variant). The record encoder
 * writes generated ids straight into the record, and takes the id's string from there.
 */
export function writePositionId(target: Buffer, at: number, position: number): void {
  const r = randomBytes();
  const hi = Math.floor(position / 2 ** 16);
  const lo = position - hi * 2 ** 16;
  hexByte(target, at, (hi >>> 24) & 0xff);
  hexByte(target, at + 2, (hi >>> 16) & 0xff);
  hexByte(target, at + 4, (hi >>> 8) & 0xff);
  hexByte(target, at + 6, hi & 0xff);
  target[at + 8] = 0x2d;
  hexByte(target, at + 9, lo >>> 8);
  hexByte(target, at + 11, lo & 0xff);
  target[at + 13] = 0x2d;
  hexByte(target, at + 14, 0x80 | (pool[r]! & 0x0f)); // version 8
  hexByte(target, at + 16, pool[r + 1]!);
  target[at + 18] = 0x2d;
  hexByte(target, at + 19, 0x80 | (pool[r + 2]! & 0x3f)); // RFC 9562 variant
  hexByte(target, at + 21, pool[r + 3]!);
  target[at + 23] = 0x2d;
  for (let b = 4; b < 10; b++) hexByte(target, at + 16 + 2 * b, pool[r + b]!);
}

/** The position a generated id carries, or null when the id cannot be one. */
export function positionFromId(id: string): number | null {
  if (id.length !== 36 || !SHAPE.test(id)) return null;
  const position =
    Number.parseInt(id.slice(0, 8), 16) * 2 ** 16 + Number.parseInt(id.slice(9, 13), 16);
  return position > 0 ? position : null;
}
