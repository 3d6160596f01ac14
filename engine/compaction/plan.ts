// What one compaction pass over a log does, decided from in-memory state and index lookups only.
// Only sealed segments whose index file is written are touched, never the active one.
//   - Retention removes whole segments that are entirely too old, then the oldest ones while
//     the log is over its size limit.
//   - A segment partly too old, or holding events of an erased entity, is rewritten.
//   - Runs of adjacent small segments (under half the segment size) are merged into one, up to
//     the segment size, so that rewrites and short-lived tenants do not leave a trail of tiny
//     files.
import { hashString32 } from '../format/checksum.js';
import { IndexKind } from '../format/segment_index.js';
import type { Log } from '../log/log.js';
import {
  indexView,
  lowerBoundRel,
  readRecord,
  type Segment,
  type SegmentContext,
} from '../log/segment.js';

export interface RetentionPolicy {
  /** Events older than this many milliseconds go; 0 keeps them forever. */
  maxAgeMs: number;
  /** The log is kept under this many bytes by removing its oldest segments; 0 is no limit. */
  maxBytes: number;
}

export const KEEP_ALL: RetentionPolicy = { maxAgeMs: 0, maxBytes: 0 };

export interface Group {
  /** Adjacent segments, oldest first. */
  segments: Segment[];
  /** false: the segments are removed whole (retention); true: rewritten into one. */
  rewrite: boolean;
}

export interface Plan {
  groups: Group[];
  dropBeforeUs: number;
  /** Erasures not yet carried out: the rewrites drop their events. */
  pending: [string, number][];
  /** Of those, the ones this pass completes when every group succeeds (tombstone sealed). */
  completes: [string, number][];
}

/** Sealed segments with their index on disk: a prefix of the log (seals finish in order). */
export function sealedPrefix(log: Log): Segment[] {
  const out: Segment[] = [];
  for (let s = 0; s < log.segments.length - 1; s++) {
    const segment = log.segments[s]!;
    if (segment.active !== null) break;
    out.push(segment);
  }
  return out;
}

/** Erasures not yet carried out on disk: tombstones newer than what earlier passes handled. */
export function pendingErasures(log: Log): [string, number][] {
  const out: [string, number][] = [];
  for (const [entity, tombstone] of log.totals.erased) {
    if (log.erasuresDone.get(entity) !== tombstone) out.push([entity, tombstone]);
  }
  return out;
}

/** Does the segment hold an event of `entity` before `tombstone`? Exact: records are compared. */
export function holdsErased(
  segment: Segment,
  entity: string,
  tombstone: number,
  ctx: SegmentContext,
): boolean {
  if (segment.basePosition >= tombstone || segment.count === 0) return false;
  const view = indexView(segment, ctx);
  for (const rel of view.candidates(IndexKind.Entities, entity, hashString32(entity))) {
    if (segment.basePosition + rel >= tombstone) break;
    const i = lowerBoundRel(view, rel);
    if (i >= view.count || view.relPosition(i) !== rel) continue;
    if (readRecord(segment, view, i, ctx).entityId === entity) return true;
  }
  return false;
}

export function planCompaction(
  log: Log,
  policy: RetentionPolicy,
  nowUs: number,
  segmentBytesMax: number,
  ctx: SegmentContext,
): Plan {
  const sealed = sealedPrefix(log);
  const dropBeforeUs = policy.maxAgeMs > 0 ? nowUs - policy.maxAgeMs * 1000 : 0;
  const removed = new Set<Segment>();
  for (const segment of sealed) {
    if (segment.count === 0 || segment.lastTimestampUs < dropBeforeUs) removed.add(segment);
  }
  if (policy.maxBytes > 0) {
    let total = log.storageBytes;
    for (const segment of removed) total -= segment.logBytes;
    for (const segment of sealed) {
      if (total <= policy.maxBytes) break;
      if (removed.has(segment)) continue;
      removed.add(segment);
      total -= segment.logBytes;
    }
  }
  const lastSealed = sealed.length > 0 ? sealed[sealed.length - 1]!.lastPosition : 0;
  const erasures = pendingErasures(log).filter(([, tombstone]) => tombstone > 0);
  const marked = new Set<Segment>();
  for (const segment of sealed) {
    if (removed.has(segment)) continue;
    if (segment.firstTimestampUs < dropBeforeUs) marked.add(segment);
    else if (erasures.some(([e, t]) => holdsErased(segment, e, t, ctx))) marked.add(segment);
  }
  const groups: Group[] = [];
  const small = (s: Segment) => s.logBytes < segmentBytesMax / 2;
  let run: Segment[] = [];
  let runBytes = 0;
  const closeRun = (): void => {
    if (run.length > 1 || (run.length === 1 && marked.has(run[0]!))) {
      groups.push({ segments: run, rewrite: true });
    }
    run = [];
    runBytes = 0;
  };
  for (const segment of sealed) {
    if (removed.has(segment)) {
      closeRun();
      groups.push({ segments: [segment], rewrite: false });
      continue;
    }
    if (!small(segment)) {
      closeRun();
      if (marked.has(segment)) groups.push({ segments: [segment], rewrite: true });
      continue;
    }
    if (runBytes + segment.logBytes > segmentBytesMax) closeRun();
    run.push(segment);
    runBytes += segment.logBytes;
  }
  closeRun();
  // An erasure is done once every segment it touches is rewritten and its tombstone is sealed.
  return {
    groups,
    dropBeforeUs,
    pending: erasures,
    completes: erasures.filter(([, tombstone]) => tombstone <= lastSealed),
  };
}

/**
 * Must the active segment be sealed first? Yes when it holds events this pass must remove: of an
 * erased entity, or older than the retention age.
 */
export function activeNeedsSealing(
  log: Log,
  policy: RetentionPolicy,
  nowUs: number,
  ctx: SegmentContext,
): boolean {
  const active = log.active;
  if (active.count === 0) return false;
  if (policy.maxAgeMs > 0 && active.firstTimestampUs < nowUs - policy.maxAgeMs * 1000) return true;
  return pendingErasures(log).some(([e, t]) => holdsErased(active, e, t, ctx));
}
