// The segment index file (<base>.idx): fixed-width sections searched by binary search over the
// file's bytes as read into one Buffer. It is a cache: a missing or damaged one is rebuilt from
// the segment's records. Byte table in docs/FORMAT.md.
//
// Header (64 bytes): u32 magic 'ASIX', u32 xxh32 of bytes [8, end), u16 format, u16 section
// count, u32 record count, u64 base position, u64 last position, u64 first timestamp_us, u64 last
// timestamp_us, u32 log bytes covered, 12 reserved bytes. Opening a store reads only this header.
// Section table: per section u16 kind, u16 entry bytes, u32 entry count, u32 byte offset,
// u32 reserved. Sections:
//   positions  (8 B)  u32 relative position, u32 file offset   ascending
//   times      (8 B)  u64 timestamp_us, entry i for record i    ascending
//   entities   (8 B)  u32 xxh32(entity_id), u32 relative position   sorted by (hash, position)
//   types      (8 B)  u32 xxh32(event_type), u32 relative position
//   ids        (8 B)  u32 xxh32(event id), u32 relative position
import { hash32, hashString32 } from './checksum.js';
import { readU64, writeU64 } from './u64.js';

export const INDEX_MAGIC = 0x58495341; // 'ASIX' read as a little-endian u32
export const INDEX_FORMAT = 1;
export const INDEX_HEADER_BYTES = 64;
const HEADER_BYTES = INDEX_HEADER_BYTES;
const SECTION_BYTES = 16;
const ENTRY_BYTES = 8;

export const IndexKind = { Positions: 1, Times: 2, Entities: 3, Types: 4, Ids: 5 } as const;
export type KeyKind = typeof IndexKind.Entities | typeof IndexKind.Types | typeof IndexKind.Ids;
const SECTION_COUNT = 5;

/** What a segment's records say, as kept in memory while the segment is active. */
export interface IndexSource {
  basePosition: number;
  count: number;
  logBytes: number;
  relPositions: ArrayLike<number>;
  offsets: ArrayLike<number>;
  timestamps: ArrayLike<number>;
  entities: Map<string, number[]>;
  types: Map<string, number[]>;
  ids: Map<string, number>;
}

/** A parsed, checked index file: offsets of each section inside `buf`. */
export interface SealedIndex extends IndexHeader {
  buf: Buffer;
  sections: Record<number, number>;
}

/** What the header alone says about a sealed segment. */
export interface IndexHeader {
  basePosition: number;
  lastPosition: number;
  count: number;
  firstTimestampUs: number;
  lastTimestampUs: number;
  logBytes: number;
}

function keyEntries(groups: Iterable<[string, number[] | number]>): number[][] {
  const hashed: [number, number[]][] = [];
  for (const [key, value] of groups) {
    hashed.push([hashString32(key), typeof value === 'number' ? [value] : value]);
  }
  hashed.sort((a, b) => a[0] - b[0]);
  // Keys whose hashes collide share a run; merge their positions so the run stays sorted.
  const merged: number[][] = [];
  for (const [hash, list] of hashed) {
    const last = merged[merged.length - 1];
    if (last !== undefined && last[0] === hash) {
      const positions = last
        .slice(1)
        .concat(list)
        .sort((a, b) => a - b);
      merged[merged.length - 1] = [hash, ...positions];
    } else {
      merged.push([hash, ...list]);
    }
  }
  return merged;
}

function writeKeySection(buf: Buffer, at: number, runs: number[][]): number {
  for (const run of runs) {
    const hash = run[0]!;
    for (let i = 1; i < run.length; i++) {
      buf.writeUInt32LE(hash, at);
      buf.writeUInt32LE(run[i]!, at + 4);
      at += ENTRY_BYTES;
    }
  }
  return at;
}

export function encodeSegmentIndex(source: IndexSource): Buffer {
  const n = source.count;
  const keySections = [
    keyEntries(source.entities),
    keyEntries(source.types),
    keyEntries(source.ids),
  ];
  const sizes = [n, n, ...keySections.map((runs) => runs.reduce((s, r) => s + r.length - 1, 0))];
  const tableEnd = HEADER_BYTES + SECTION_COUNT * SECTION_BYTES;
  const total = tableEnd + sizes.reduce((s, x) => s + x * ENTRY_BYTES, 0);
  const buf = Buffer.alloc(total);
  buf.writeUInt32LE(INDEX_MAGIC, 0);
  buf.writeUInt16LE(INDEX_FORMAT, 8);
  buf.writeUInt16LE(SECTION_COUNT, 10);
  buf.writeUInt32LE(n, 12);
  writeU64(buf, source.basePosition, 16);
  // An empty segment (possible after a torn tail emptied it) keeps last = base - 1.
  writeU64(buf, source.basePosition + (n > 0 ? source.relPositions[n - 1]! : -1), 24);
  writeU64(buf, n > 0 ? source.timestamps[0]! : 0, 32);
  writeU64(buf, n > 0 ? source.timestamps[n - 1]! : 0, 40);
  buf.writeUInt32LE(source.logBytes, 48);
  let at = tableEnd;
  const kinds = [
    IndexKind.Positions,
    IndexKind.Times,
    IndexKind.Entities,
    IndexKind.Types,
    IndexKind.Ids,
  ];
  for (let s = 0; s < SECTION_COUNT; s++) {
    const entry = HEADER_BYTES + s * SECTION_BYTES;
    buf.writeUInt16LE(kinds[s]!, entry);
    buf.writeUInt16LE(ENTRY_BYTES, entry + 2);
    buf.writeUInt32LE(sizes[s]!, entry + 4);
    buf.writeUInt32LE(at, entry + 8);
    at += sizes[s]! * ENTRY_BYTES;
  }
  at = tableEnd;
  for (let i = 0; i < n; i++, at += ENTRY_BYTES) {
    buf.writeUInt32LE(source.relPositions[i]!, at);
    buf.writeUInt32LE(source.offsets[i]!, at + 4);
  }
  for (let i = 0; i < n; i++, at += ENTRY_BYTES) writeU64(buf, source.timestamps[i]!, at);
  for (const runs of keySections) at = writeKeySection(buf, at, runs);
  buf.writeUInt32LE(hash32(buf.subarray(8)), 4);
  return buf;
}

/** Reads the header; the checksum is checked only by decodeSegmentIndex, over the whole file. */
export function decodeIndexHeader(buf: Buffer): IndexHeader | string {
  if (buf.length < HEADER_BYTES) return 'truncated';
  if (buf.readUInt32LE(0) !== INDEX_MAGIC) return 'bad magic';
  if (buf.readUInt16LE(8) !== INDEX_FORMAT) return `unknown format ${buf.readUInt16LE(8)}`;
  if (buf.readUInt16LE(10) !== SECTION_COUNT) return 'unexpected section count';
  return {
    count: buf.readUInt32LE(12),
    basePosition: readU64(buf, 16),
    lastPosition: readU64(buf, 24),
    firstTimestampUs: readU64(buf, 32),
    lastTimestampUs: readU64(buf, 40),
    logBytes: buf.readUInt32LE(48),
  };
}

/** Parses and checks an index file; returns a reason string when it cannot be trusted. */
export function decodeSegmentIndex(buf: Buffer): SealedIndex | string {
  if (buf.length < HEADER_BYTES + SECTION_COUNT * SECTION_BYTES) return 'truncated';
  const header = decodeIndexHeader(buf);
  if (typeof header === 'string') return header;
  if (hash32(buf.subarray(8)) !== buf.readUInt32LE(4)) return 'checksum mismatch';
  const count = header.count;
  const sections: Record<number, number> = {};
  let expected = HEADER_BYTES + SECTION_COUNT * SECTION_BYTES;
  for (let s = 0; s < SECTION_COUNT; s++) {
    const entry = HEADER_BYTES + s * SECTION_BYTES;
    const kind = buf.readUInt16LE(entry);
    const entries = buf.readUInt32LE(entry + 4);
    const offset = buf.readUInt32LE(entry + 8);
    if (buf.readUInt16LE(entry + 2) !== ENTRY_BYTES || offset !== expected) {
      return 'bad section table';
    }
    if (kind <= IndexKind.Times && entries !== count) return 'section count mismatch';
    sections[kind] = offset;
    expected += entries * ENTRY_BYTES;
  }
  if (expected !== buf.length) return 'size mismatch';
  return { ...header, buf, sections };
}

/** Number of entries of a key section. */
export function keySectionCount(index: SealedIndex, kind: KeyKind): number {
  const entry = HEADER_BYTES + (kind - 1) * SECTION_BYTES;
  return index.buf.readUInt32LE(entry + 4);
}

/** Relative positions stored under `hash` in a key section, ascending. */
export function lookupKey(index: SealedIndex, kind: KeyKind, hash: number): number[] {
  const { buf } = index;
  const base = index.sections[kind]!;
  let lo = 0;
  let hi = keySectionCount(index, kind);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (buf.readUInt32LE(base + mid * ENTRY_BYTES) < hash) lo = mid + 1;
    else hi = mid;
  }
  const out: number[] = [];
  const n = keySectionCount(index, kind);
  for (let i = lo; i < n && buf.readUInt32LE(base + i * ENTRY_BYTES) === hash; i++) {
    out.push(buf.readUInt32LE(base + i * ENTRY_BYTES + 4));
  }
  return out;
}

export function sealedRelPosition(index: SealedIndex, i: number): number {
  return index.buf.readUInt32LE(index.sections[IndexKind.Positions]! + i * ENTRY_BYTES);
}

export function sealedOffset(index: SealedIndex, i: number): number {
  return index.buf.readUInt32LE(index.sections[IndexKind.Positions]! + i * ENTRY_BYTES + 4);
}

export function sealedTimestamp(index: SealedIndex, i: number): number {
  return readU64(index.buf, index.sections[IndexKind.Times]! + i * ENTRY_BYTES);
}
