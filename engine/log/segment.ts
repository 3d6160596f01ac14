// One segment: a .log file of records and, once sealed, its .idx file. This module answers
// "where is record i, and what are its bytes" for both states, through the shared read cache.
import path from 'node:path';
import { corruption } from '../errors.js';
import { EventView } from '../format/event_view.js';
import { segmentIndexName, segmentLogName } from '../format/names.js';
import { checkRecord, recordPosition } from '../format/record.js';
import {
  decodeSegmentIndex,
  encodeSegmentIndex,
  IndexKind,
  idPairsOf,
  lookupKey,
  type SealedIndex,
  sealedOffset,
  sealedRelPosition,
  sealedTimestamp,
} from '../format/segment_index.js';
import type { Io } from '../io/io.js';
import { limits } from '../limits.js';
import { ActiveIndex } from './active_index.js';
import type { CacheEntry, ReadCache } from './cache.js';
import { buildIdFilter, type IdFilter, mayHold } from './id_filter.js';
import { scanSegment } from './scan.js';
import type { Sealer } from './sealer.js';

/** What segment reads need: the file system, the shared cache, somewhere to report repairs. */
export interface SegmentContext {
  io: Io;
  cache: ReadCache;
  logger: { warn(message: string, fields?: Record<string, unknown>): void };
  /** When given, background writes (a rebuilt index) are handed to it so close can wait. */
  sealer?: Pick<Sealer, 'track'>;
}

/** Record-aligned bytes of a segment: the records whose start offset lies in one chunk span. */
export interface Chunk extends CacheEntry {
  buf: Buffer;
  /** File offset of buf[0]. */
  start: number;
  /** File offset just past the last record held. */
  end: number;
}

interface CachedIndex extends CacheEntry {
  index: SealedIndex;
}

/** A sealed segment's client-id section alone: (hash, relative position) pairs, by hash. */
interface CachedIds extends CacheEntry {
  pairs: Uint32Array;
  /** Rules out most ids without touching `pairs` (id_filter.ts). */
  filter: IdFilter;
}

export interface Segment {
  readonly dir: string;
  readonly basePosition: number;
  readonly logPath: string;
  readonly indexPath: string;
  fd: number;
  /** Bytes of committed records; a reader never looks past them. */
  logBytes: number;
  count: number;
  /** basePosition - 1 while empty. */
  lastPosition: number;
  firstTimestampUs: number;
  lastTimestampUs: number;
  /** Set while the segment takes appends; null once sealed. */
  active: ActiveIndex | null;
  cachedIndex: CachedIndex | null;
  cachedIds: CachedIds | null;
  readonly chunks: Map<number, Chunk>;
}

export function newSegment(dir: string, basePosition: number, fd: number): Segment {
  return {
    dir,
    basePosition,
    logPath: path.join(dir, segmentLogName(basePosition)),
    indexPath: path.join(dir, segmentIndexName(basePosition)),
    fd,
    logBytes: 0,
    count: 0,
    lastPosition: basePosition - 1,
    firstTimestampUs: 0,
    lastTimestampUs: 0,
    active: null,
    cachedIndex: null,
    cachedIds: null,
    chunks: new Map(),
  };
}

/**
 * Rebuilds a sealed segment's index from its records (the index is a cache) and writes it back
 * in the background. Damage in the records themselves is reported, never skipped.
 */
function rebuildIndex(segment: Segment, ctx: SegmentContext, reason: string): SealedIndex {
  const index = new ActiveIndex(segment.basePosition);
  const result = scanSegment(
    ctx.io,
    segment.fd,
    segment.logBytes,
    segment.basePosition - 1,
    (batch) => {
      for (const { offset, view } of batch) {
        const clientId = view.clientId ? view.id : null;
        index.add(
          view.position - segment.basePosition,
          offset,
          view.timestampUs,
          clientId,
          view.eventType,
          view.entityId,
        );
      }
    },
  );
  if (result.problem !== null) {
    throw corruption(segment.logPath, result.problem.offset, result.problem.reason);
  }
  index.logBytes = segment.logBytes;
  const buf = encodeSegmentIndex(index.source());
  index.release();
  ctx.logger.warn('rebuilt damaged segment index', { file: segment.indexPath, reason });
  const written = ctx.io.writeFileAtomic(segment.indexPath, buf).catch((error: unknown) => {
    ctx.logger.warn('could not write rebuilt index', {
      file: segment.indexPath,
      cause: String(error),
    });
  });
  ctx.sealer?.track(written);
  return decodeSegmentIndex(buf) as SealedIndex;
}

/**
 * The sealed segment's index, from the read cache or its file. `keep = false` leaves a loaded
 * index out of the cache: the caller takes one section from it and drops the rest.
 */
export function sealedIndexOf(segment: Segment, ctx: SegmentContext, keep = true): SealedIndex {
  const cached = segment.cachedIndex;
  if (cached !== null) {
    cached.referenced = true;
    return cached.index;
  }
  const buf = ctx.io.readFile(segment.indexPath);
  let decoded = buf === null ? 'missing' : decodeSegmentIndex(buf);
  if (typeof decoded !== 'string' && decoded.logBytes !== segment.logBytes) decoded = 'stale';
  if (typeof decoded === 'string') decoded = rebuildIndex(segment, ctx, decoded);
  if (!keep) return decoded;
  const entry: CachedIndex = {
    index: decoded,
    bytes: decoded.buf.length,
    referenced: true,
    slot: -1,
    evict: () => {
      segment.cachedIndex = null;
    },
  };
  segment.cachedIndex = entry;
  ctx.cache.add(entry);
  return decoded;
}

/** Keeps a sealed segment's id pairs (sorted by hash) and their filter in the read cache. */
export function cacheIdSection(
  segment: Segment,
  cache: ReadCache,
  pairs: Uint32Array,
  filter: IdFilter,
): CachedIds {
  if (segment.cachedIds !== null) cache.remove(segment.cachedIds);
  const entry: CachedIds = {
    pairs,
    filter,
    bytes: pairs.byteLength + filter.byteLength,
    referenced: true,
    slot: -1,
    evict: () => {
      segment.cachedIds = null;
    },
  };
  segment.cachedIds = entry;
  cache.add(entry);
  return entry;
}

/**
 * Relative positions that may hold the client id with this hash. A sealed segment answers from
 * its id section, copied out of the index file and cached on its own: a search for an id goes
 * through every segment it may be in, and a whole index per segment (tens of bytes per record
 * against eight per client id) would crowd the read cache until every search read files.
 */
export function idCandidates(
  segment: Segment,
  ctx: SegmentContext,
  hash: number,
): readonly number[] {
  const active = segment.active;
  if (active !== null) return active.ids.candidates(hash);
  let cached = segment.cachedIds;
  if (cached === null) {
    // A seal hands its section over (cacheIdSection); this is for segments sealed before the
    // process started, or whose section the cache let go. The rest of the index is dropped.
    const pairs = idPairsOf(sealedIndexOf(segment, ctx, false));
    cached = cacheIdSection(segment, ctx.cache, pairs, buildIdFilter(pairs));
  } else {
    cached.referenced = true;
  }
  if (!mayHold(cached.filter, hash)) return EMPTY;
  const pairs = cached.pairs;
  const first = lowerBound(pairs.length / 2, (k) => pairs[2 * k]!, hash);
  const out: number[] = [];
  for (let k = first * 2; k < pairs.length && pairs[k] === hash; k += 2) out.push(pairs[k + 1]!);
  return out;
}

/** Read access to a segment's index, whichever state it is in. */
export interface IndexView {
  count: number;
  relPosition(i: number): number;
  offset(i: number): number;
  timestamp(i: number): number;
  /**
   * Relative positions that may hold `key` (exact for the active segment, by hash for sealed).
   * Client ids go through idCandidates, which keeps their section apart in the cache.
   */
  candidates(kind: ChainKind, key: string, hash: number): readonly number[];
}

const EMPTY: readonly number[] = [];

type ChainKind = typeof IndexKind.Entities | typeof IndexKind.Types;

export function indexView(segment: Segment, ctx: SegmentContext): IndexView {
  const active = segment.active;
  if (active !== null) {
    return {
      count: segment.count,
      relPosition: (i) => active.relPositions[i]!,
      offset: (i) => active.offsets[i]!,
      timestamp: (i) => active.timestamps[i]!,
      candidates: (kind, key) =>
        kind === IndexKind.Entities
          ? active.entity(key, segment.count)
          : active.type(key, segment.count),
    };
  }
  const index = sealedIndexOf(segment, ctx);
  return {
    count: index.count,
    relPosition: (i) => sealedRelPosition(index, i),
    offset: (i) => sealedOffset(index, i),
    timestamp: (i) => sealedTimestamp(index, i),
    candidates: (kind, _key, hash) => lookupKey(index, kind, hash),
  };
}

/** First i in [0, count) whose value is >= target (count when none); values ascend. */
export function lowerBound(count: number, valueAt: (i: number) => number, target: number): number {
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (valueAt(mid) < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First i whose relative position is >= rel (count when none). */
export function lowerBoundRel(view: IndexView, rel: number): number {
  // Fresh segments are dense: record i holds relative position i.
  if (rel < view.count && view.relPosition(rel) === rel) return rel;
  return lowerBound(view.count, view.relPosition, rel);
}

/** First i whose timestamp is >= timestampUs (count when none). */
export function lowerBoundTime(view: IndexView, timestampUs: number): number {
  return lowerBound(view.count, view.timestamp, timestampUs);
}

function recordEnd(segment: Segment, view: IndexView, i: number): number {
  return i + 1 < view.count ? view.offset(i + 1) : segment.logBytes;
}

function loadChunk(segment: Segment, view: IndexView, k: number, io: Io): Chunk {
  const spanStart = k * limits.chunkBytes;
  let first = lowerBoundOffset(view, spanStart);
  const last = lowerBoundOffset(view, spanStart + limits.chunkBytes);
  const start = view.offset(first);
  const end = last < view.count ? view.offset(last) : segment.logBytes;
  const buf = Buffer.allocUnsafe(end - start);
  if (io.readAt(segment.fd, buf, start) !== buf.length) {
    throw corruption(segment.logPath, start, 'file shorter than its index says');
  }
  // Verify every record once, on its way into the cache; hits are served without re-hashing.
  for (; first < last; first++) {
    const at = view.offset(first) - start;
    const length = recordEnd(segment, view, first) - view.offset(first);
    const verdict = checkRecord(buf, at, at + length);
    if (typeof verdict === 'string') throw corruption(segment.logPath, start + at, verdict);
    if (recordPosition(buf, at) !== segment.basePosition + view.relPosition(first)) {
      throw corruption(segment.logPath, start + at, 'position disagrees with index');
    }
  }
  return { buf, start, end, bytes: buf.length, referenced: true, slot: -1, evict: () => {} };
}

function lowerBoundOffset(view: IndexView, offset: number): number {
  return lowerBound(view.count, view.offset, offset);
}

/** The record at index i, verified, from the cache or the disk. */
export function readRecord(
  segment: Segment,
  view: IndexView,
  i: number,
  ctx: SegmentContext,
): EventView {
  const { io, cache } = ctx;
  const offset = view.offset(i);
  const end = recordEnd(segment, view, i);
  const k = Math.floor(offset / limits.chunkBytes);
  let chunk = segment.chunks.get(k);
  if (chunk === undefined || end > chunk.end) {
    if (chunk !== undefined) dropChunk(segment, k, chunk, cache);
    chunk = loadChunk(segment, view, k, io);
    const loaded = chunk;
    loaded.evict = () => {
      if (segment.chunks.get(k) === loaded) segment.chunks.delete(k);
    };
    segment.chunks.set(k, loaded);
    cache.add(loaded);
  } else {
    chunk.referenced = true;
  }
  return new EventView(chunk.buf, offset - chunk.start, end - chunk.start);
}

function dropChunk(segment: Segment, k: number, chunk: Chunk, cache: ReadCache): void {
  cache.remove(chunk);
  segment.chunks.delete(k);
}

/** Forgets every cached byte of a segment (when it is closed or replaced). */
export function dropSegmentCache(segment: Segment, cache: ReadCache): void {
  for (const [k, chunk] of segment.chunks) dropChunk(segment, k, chunk, cache);
  if (segment.cachedIndex !== null) {
    cache.remove(segment.cachedIndex);
    segment.cachedIndex = null;
  }
  if (segment.cachedIds !== null) {
    cache.remove(segment.cachedIds);
    segment.cachedIds = null;
  }
}
