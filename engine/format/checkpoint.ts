// The entity checkpoint (entities.ckpt): every entity's version and position span and every
// event type, as of the end of a sealed segment. Opening a store loads it and scans only the
// records after it, so no start parses the whole log. Byte table in docs/FORMAT.md.
//
//   0 u64 zero       (formats 1 and 2: xxh64 of bytes [8, end))
//   8 u32 magic 'ASEC', 12 u16 format, 14 u16 reserved
//  16 u64 covered position   the last position this file accounts for
//  24 u64 total ingested
//  32 u32 entity count, 36 u32 type count
//  40 entities: u8 id length, id (UTF-8), u32 version, u64 first position, u64 last position
//     types:    u8 length, type, u32 count, u64 first position, u64 last position
//     format 2: u32 erased count, then u8 id length, id, u64 tombstone position
//     format 3: the same, then u64 xxh64 of bytes [0, end - 8)
//
// Format 3 moved the checksum to the end so that a checkpoint can be written in one pass, a
// piece at a time, without holding the whole file: with millions of entities it is tens of MB.
import { assert } from '../assert.js';
import { checksum64, createChecksum64 } from './checksum.js';
import { readU64, writeU64 } from './u64.js';

const MAGIC = 0x43455341; // 'ASEC'
const FORMAT = 3;
/** Format 2 kept its checksum in the first 8 bytes; it is still read. */
const FORMAT_V2 = 2;
/** Format 1 had no erased table either; it is still read. */
const FORMAT_V1 = 1;
const HEADER_BYTES = 40;
const TRAILER_BYTES = 8;
const ENTRY_FIXED_BYTES = 1 + 4 + 8 + 8;
/** The longest entry: a key's length is one byte. */
const ENTRY_BYTES_MAX = ENTRY_FIXED_BYTES + 255;
/** Pieces checkpointPieces yields by default. */
const CHECKPOINT_PIECE_BYTES = 256 * 1024;

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

/** What a checkpoint is written from: the entities may be produced while it is written. */
export interface CheckpointSource {
  coveredPosition: number;
  totalIngested: number;
  /** How many entries `entities` yields (the header, written first, holds it). */
  entityCount: number;
  entities: Iterable<readonly [string, EntityState]>;
  types: ReadonlyMap<string, TypeState>;
  erased: ReadonlyMap<string, number>;
}

/**
 * The whole file in one buffer, encoded in one go: for fixtures and tests. The store writes it
 * in pieces from a frozen view (log/checkpoint_file.ts), without holding the event loop.
 */
export function encodeCheckpoint(checkpoint: Checkpoint): Buffer {
  const source = { ...checkpoint, entityCount: checkpoint.entities.size };
  return Buffer.concat(Array.from(checkpointPieces(source), (piece) => Buffer.from(piece)));
}

/**
 * The file's bytes in order, in pieces of about `pieceBytes`. Every piece is a view of one
 * buffer that the next piece reuses: write each out before asking for the next. Throws if the
 * source yields another number of entities than it announced.
 */
export function* checkpointPieces(
  source: CheckpointSource,
  pieceBytes = CHECKPOINT_PIECE_BYTES,
): Generator<Buffer, void, undefined> {
  // Every byte is written before it is handed out, so the buffer is not zeroed first.
  const buf = Buffer.allocUnsafeSlow(Math.max(pieceBytes, HEADER_BYTES + 2 * ENTRY_BYTES_MAX));
  const room = buf.length - ENTRY_BYTES_MAX;
  const sum = createChecksum64();
  let at = 0;
  const take = (): Buffer => {
    const piece = buf.subarray(0, at);
    sum.update(piece);
    at = 0;
    return piece;
  };
  const put = (key: string, a: number, first: number, last: number): void => {
    const length = buf.write(key, at + 1, 'utf8');
    buf[at] = length;
    at += 1 + length;
    buf.writeUInt32LE(a, at);
    writeU64(buf, first, at + 4);
    writeU64(buf, last, at + 12);
    at += 20;
  };
  buf.fill(0, 0, HEADER_BYTES);
  buf.writeUInt32LE(MAGIC, 8);
  buf.writeUInt16LE(FORMAT, 12);
  writeU64(buf, source.coveredPosition, 16);
  writeU64(buf, source.totalIngested, 24);
  buf.writeUInt32LE(source.entityCount, 32);
  buf.writeUInt32LE(source.types.size, 36);
  at = HEADER_BYTES;
  let entities = 0;
  for (const [key, s] of source.entities) {
    if (at > room) yield take();
    put(key, s.version, s.firstPosition, s.lastPosition);
    entities++;
  }
  assert(entities === source.entityCount, `checkpoint: ${entities} of ${source.entityCount}`);
  for (const [key, s] of source.types) {
    if (at > room) yield take();
    put(key, s.count, s.firstPosition, s.lastPosition);
  }
  if (at > room) yield take();
  buf.writeUInt32LE(source.erased.size, at);
  at += 4;
  for (const [key, position] of source.erased) {
    if (at > room) yield take();
    const length = buf.write(key, at + 1, 'utf8');
    buf[at] = length;
    writeU64(buf, position, at + 1 + length);
    at += 1 + length + 8;
  }
  if (at > room) yield take();
  const end = at;
  sum.update(buf.subarray(0, end));
  buf.writeBigUInt64LE(sum.digest(), end);
  yield buf.subarray(0, end + TRAILER_BYTES);
}

/** Parses a checkpoint, or returns why it cannot be trusted. */
export function decodeCheckpoint(buf: Buffer): Checkpoint | string {
  if (buf.length < HEADER_BYTES) return 'truncated';
  if (buf.readUInt32LE(8) !== MAGIC) return 'bad magic';
  const format = buf.readUInt16LE(12);
  if (format !== FORMAT && format !== FORMAT_V2 && format !== FORMAT_V1) {
    return `unknown format ${format}`;
  }
  if (format === FORMAT) {
    const end = buf.length - TRAILER_BYTES;
    if (end < HEADER_BYTES + 4) return 'truncated';
    if (checksum64(buf.subarray(0, end)) !== buf.readBigUInt64LE(end)) return 'checksum mismatch';
    return decodeBody(buf.subarray(0, end), format);
  }
  if (checksum64(buf.subarray(8)) !== buf.readBigUInt64LE(0)) return 'checksum mismatch';
  return decodeBody(buf, format);
}

/** The header's numbers and the tables after it, up to the end of `buf`. */
function decodeBody(buf: Buffer, format: number): Checkpoint | string {
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
  if (format !== FORMAT_V1) {
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
