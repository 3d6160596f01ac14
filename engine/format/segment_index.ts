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
import { hash32 } from './checksum.js';
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

/**
 * The keys of one kind (entity ids, event types) and the records that hold each, as chains:
 * `hashes[k]` is the xxh32 of key k, `lasts[k]` the record index of its newest record, and
 * `previous[i]` the record index of the record before i with the same key (-1 at the oldest).
 */
export interface KeyChains {
  hashes: Uint32Array;
  lasts: ArrayLike<number>;
  previous: ArrayLike<number>;
}

/** What a segment's records say, as kept in memory while the segment is active. */
export interface IndexSource {
  basePosition: number;
  count: number;
  logBytes: number;
  relPositions: ArrayLike<number>;
  offsets: ArrayLike<number>;
  timestamps: ArrayLike<number>;
  entities: KeyChains;
  types: KeyChains;
  /** Client ids as (xxh32 of the id, relative position) pairs, positions ascending. */
  ids: Uint32Array;
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

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** hash * SORT_SCALE + slot stays an exact double while there are fewer keys than this. */
const SORT_SCALE = 2 ** 21;

/** Key slots in ascending order of their hashes. */
function orderByHash(hashes: Uint32Array): Uint32Array {
  const k = hashes.length;
  const order = new Uint32Array(k);
  if (k < SORT_SCALE) {
    // A native sort of plain numbers, with the slot in the low bits, beats a comparator.
    const keyed = new Float64Array(k);
    for (let s = 0; s < k; s++) keyed[s] = hashes[s]! * SORT_SCALE + s;
    keyed.sort();
    for (let j = 0; j < k; j++) order[j] = keyed[j]! % SORT_SCALE;
  } else {
    for (let s = 0; s < k; s++) order[s] = s;
    order.sort((a, b) => hashes[a]! - hashes[b]! || a - b);
  }
  return order;
}

/** Records per key slot, one walk of each chain. */
function chainCounts(chains: KeyChains): Uint32Array {
  const { previous } = chains;
  const counts = new Uint32Array(chains.hashes.length);
  for (let s = 0; s < counts.length; s++) {
    let n = 0;
    for (let i = chains.lasts[s]!; i !== -1; i = previous[i]!) n++;
    counts[s] = n;
  }
  return counts;
}

/**
 * Writes (hash, relative position) pairs of key slot `s`, oldest first, so that they end at
 * word `end`: the chain is walked from its newest record, back to front.
 */
function writeChain(
  out: Uint32Array,
  end: number,
  hash: number,
  chains: KeyChains,
  s: number,
  relPositions: ArrayLike<number>,
): void {
  const { previous } = chains;
  let w = end;
  for (let i = chains.lasts[s]!; i !== -1; i = previous[i]!) {
    w -= 2;
    out[w] = hash;
    out[w + 1] = relPositions[i]!;
  }
}

/**
 * Writes a key section as (hash, relative position) pairs in host order into `out` from word
 * `at`, sorted by hash then position; returns the word after it. No per-key list is built;
 * keys whose hashes collide share a run, sorted by position once written.
 */
function writeKeySection(
  out: Uint32Array,
  at: number,
  chains: KeyChains,
  counts: Uint32Array,
  relPositions: ArrayLike<number>,
): number {
  const k = chains.hashes.length;
  const hashes = chains.hashes;
  const order = orderByHash(hashes);
  for (let j = 0; j < k; ) {
    const hash = hashes[order[j]!]!;
    const start = at;
    const first = j;
    for (; j < k && hashes[order[j]!] === hash; j++) {
      at += 2 * counts[order[j]!]!;
      writeChain(out, at, hash, chains, order[j]!, relPositions);
    }
    if (j - first > 1) {
      // Colliding keys: their chains lie one after another; put the positions in order.
      const positions: number[] = [];
      for (let w = start + 1; w < at; w += 2) positions.push(out[w]!);
      positions.sort((a, b) => a - b);
      for (let p = 0; p < positions.length; p++) out[start + 2 * p + 1] = positions[p]!;
    }
  }
  return at;
}

/**
 * Writes the client-id section from (hash, relative position) pairs, positions ascending:
 * sorted by hash, and ids whose hashes collide by position (the order they were added).
 */
function writeIdSection(out: Uint32Array, at: number, pairs: Uint32Array): number {
  const k = pairs.length / 2;
  const hashes = new Uint32Array(k);
  for (let s = 0; s < k; s++) hashes[s] = pairs[2 * s]!;
  const order = orderByHash(hashes);
  for (let j = 0; j < k; j++, at += 2) {
    out[at] = hashes[order[j]!]!;
    out[at + 1] = pairs[2 * order[j]! + 1]!;
  }
  return at;
}

/**
 * Encodes an index file. `allocate`, when given, supplies the buffer (the sealing thread
 * reuses one: fresh memory is costly to touch); it must return a buffer of exactly `bytes`
 * whose byteOffset is a multiple of 4.
 */
export function encodeSegmentIndex(
  source: IndexSource,
  allocate: (bytes: number) => Buffer = Buffer.allocUnsafeSlow,
): Buffer {
  const n = source.count;
  const keySections = [source.entities, source.types];
  const counts = keySections.map(chainCounts);
  const sizes = [
    n,
    n,
    ...counts.map((c) => c.reduce((sum, x) => sum + x, 0)),
    source.ids.length / 2,
  ];
  const tableEnd = HEADER_BYTES + SECTION_COUNT * SECTION_BYTES;
  const total = tableEnd + sizes.reduce((s, x) => s + x * ENTRY_BYTES, 0);
  const buf = allocate(total);
  if (buf.length !== total || buf.byteOffset % 4 !== 0) {
    throw new Error('assertion failed: index buffer size or alignment');
  }
  buf.fill(0, 0, tableEnd);
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
  // The sections are pairs of u32 words, written in host order through one word view and
  // byte-swapped at the end on a big-endian host (a u64 is its low word, then its high one).
  const words = new Uint32Array(buf.buffer, buf.byteOffset + tableEnd, (total - tableEnd) / 4);
  let w = 0;
  const { relPositions, offsets, timestamps } = source;
  for (let i = 0; i < n; i++, w += 2) {
    words[w] = relPositions[i]!;
    words[w + 1] = offsets[i]!;
  }
  for (let i = 0; i < n; i++, w += 2) {
    const t = timestamps[i]!;
    const low = t >>> 0;
    words[w] = low;
    words[w + 1] = (t - low) / 2 ** 32;
  }
  for (let k = 0; k < keySections.length; k++) {
    w = writeKeySection(words, w, keySections[k]!, counts[k]!, relPositions);
  }
  w = writeIdSection(words, w, source.ids);
  if (w !== words.length) throw new Error('assertion failed: index sections length mismatch');
  if (!HOST_LITTLE_ENDIAN) buf.subarray(tableEnd).swap32();
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

/**
 * The id section as (hash, relative position) pairs in host order, sorted by hash. `allocate`
 * supplies the array (the sealing thread puts it in shared memory).
 */
export function idPairsOf(
  index: SealedIndex,
  allocate: (words: number) => Uint32Array = (words) => new Uint32Array(words),
): Uint32Array {
  const n = keySectionCount(index, IndexKind.Ids);
  const base = index.sections[IndexKind.Ids]!;
  const pairs = allocate(n * 2);
  for (let k = 0; k < n * 2; k++) pairs[k] = index.buf.readUInt32LE(base + k * 4);
  return pairs;
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
