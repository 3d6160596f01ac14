// The entity checkpoint (entities.ckpt): every entity's version and position span and every
// event type, as of the end of a sealed segment. Opening a store loads it and scans only the
// records after it, so no start parses the whole log. Byte table in docs/FORMAT.md.
//
//   0 u64 checksum   xxh64 of bytes [8, end)
//   8 u32 magic 'ASEC', 12 u16 format, 14 u16 reserved
//  16 u64 covered position   the last position this file accounts for
//  24 u64 total ingested
//  32 u32 entity count, 36 u32 type count
//  40 entities: u8 id length, id (UTF-8), u32 version, u64 first position, u64 last position
//     types:    u8 length, type, u32 count, u64 first position, u64 last position
//     format 2: u32 erased count, then u8 id length, id, u64 tombstone position
import { checksum64 } from './checksum.js';
import { readU64, writeU64 } from './u64.js';

const MAGIC = 0x43455341; // 'ASEC'
const FORMAT = 2;
/** Format 1 had no erased table; it is still read. */
const FORMAT_V1 = 1;
const HEADER_BYTES = 40;
const ENTRY_FIXED_BYTES = 1 + 4 + 8 + 8;

export interface EntityState {
  version: number;
  firstPosition: number;
  lastPosition: number;
}

export interface TypeState {
  count: number;
  firstPosition: number;
  lastPosition: number;
}

export interface Checkpoint {
  coveredPosition: number;
  totalIngested: number;
  entities: Map<string, EntityState>;
  types: Map<string, TypeState>;
  /** Erased entities: entity id to the position of its tombstone. */
  erased: Map<string, number>;
}

export function encodeCheckpoint(checkpoint: Checkpoint): Buffer {
  let size = HEADER_BYTES;
  for (const key of checkpoint.entities.keys()) size += ENTRY_FIXED_BYTES + Buffer.byteLength(key);
  for (const key of checkpoint.types.keys()) size += ENTRY_FIXED_BYTES + Buffer.byteLength(key);
  size += 4;
  for (const key of checkpoint.erased.keys()) size += 1 + Buffer.byteLength(key) + 8;
  // Tens of megabytes with millions of entities: every byte is written below, so the buffer
  // is not zeroed first, but for the header, whose reserved bytes stay zero.
  const buf = Buffer.allocUnsafeSlow(size);
  buf.fill(0, 0, HEADER_BYTES);
  buf.writeUInt32LE(MAGIC, 8);
  buf.writeUInt16LE(FORMAT, 12);
  writeU64(buf, checkpoint.coveredPosition, 16);
  writeU64(buf, checkpoint.totalIngested, 24);
  buf.writeUInt32LE(checkpoint.entities.size, 32);
  buf.writeUInt32LE(checkpoint.types.size, 36);
  let at = HEADER_BYTES;
  const put = (key: string, a: number, first: number, last: number): void => {
    const length = buf.write(key, at + 1, 'utf8');
    buf[at] = length;
    at += 1 + length;
    buf.writeUInt32LE(a, at);
    writeU64(buf, first, at + 4);
    writeU64(buf, last, at + 12);
    at += 20;
  };
  for (const [key, s] of checkpoint.entities) put(key, s.version, s.firstPosition, s.lastPosition);
  for (const [key, s] of checkpoint.types) put(key, s.count, s.firstPosition, s.lastPosition);
  buf.writeUInt32LE(checkpoint.erased.size, at);
  at += 4;
  for (const [key, position] of checkpoint.erased) {
    const length = buf.write(key, at + 1, 'utf8');
    buf[at] = length;
    writeU64(buf, position, at + 1 + length);
    at += 1 + length + 8;
  }
  buf.writeBigUInt64LE(checksum64(buf.subarray(8)), 0);
  return buf;
}

/** Parses a checkpoint, or returns why it cannot be trusted. */
export function decodeCheckpoint(buf: Buffer): Checkpoint | string {
  if (buf.length < HEADER_BYTES) return 'truncated';
  if (buf.readUInt32LE(8) !== MAGIC) return 'bad magic';
  const format = buf.readUInt16LE(12);
  if (format !== FORMAT && format !== FORMAT_V1) return `unknown format ${format}`;
  if (checksum64(buf.subarray(8)) !== buf.readBigUInt64LE(0)) return 'checksum mismatch';
  const entities = new Map<string, EntityState>();
  const types = new Map<string, TypeState>();
  let at = HEADER_BYTES;
  const read = (): [string, number, number, number] | null => {
    if (at >= buf.length) return null;
    const length = buf[at]!;
    if (at + 1 + length + 20 > buf.length) return null;
    const key = buf.toString('utf8', at + 1, at + 1 + length);
    at += 1 + length;
    const entry: [string, number, number, number] = [
      key,
      buf.readUInt32LE(at),
      readU64(buf, at + 4),
      readU64(buf, at + 12),
    ];
    at += 20;
    return entry;
  };
  for (let n = buf.readUInt32LE(32); n > 0; n--) {
    const e = read();
    if (e === null) return 'truncated entity table';
    entities.set(e[0], { version: e[1], firstPosition: e[2], lastPosition: e[3] });
  }
  for (let n = buf.readUInt32LE(36); n > 0; n--) {
    const e = read();
    if (e === null) return 'truncated type table';
    types.set(e[0], { count: e[1], firstPosition: e[2], lastPosition: e[3] });
  }
  const erased = new Map<string, number>();
  if (format === FORMAT) {
    if (at + 4 > buf.length) return 'truncated erased table';
    let n = buf.readUInt32LE(at);
    at += 4;
    for (; n > 0; n--) {
      const length = buf[at];
      if (length === undefined || at + 1 + length + 8 > buf.length) return 'truncated erased table';
      erased.set(buf.toString('utf8', at + 1, at + 1 + length), readU64(buf, at + 1 + length));
      at += 1 + length + 8;
    }
  }
  if (at !== buf.length) return 'trailing bytes';
  return {
    coveredPosition: readU64(buf, 16),
    totalIngested: readU64(buf, 24),
    entities,
    types,
    erased,
  };
}
