// Queries over one log. Each filter narrows the position span first (from the entity's or type's
// first and last position, and the time bounds), then walks only the candidates the segment
// indexes give, so reading one entity costs in proportion to its events, not to the log.
import { StoreError } from '../errors.js';
import { hashString32 } from '../format/checksum.js';
import type { EventView } from '../format/event_view.js';
import { IndexKind } from '../format/segment_index.js';
import { limits } from '../limits.js';
import { type EntityRun, runLowerBound, runView } from '../log/entity_runs.js';
import type { Log } from '../log/log.js';
import {
  type IndexView,
  indexView,
  lowerBoundRel,
  lowerBoundTime,
  readRecord,
  type Segment,
  type SegmentContext,
} from '../log/segment.js';
import { isErased } from '../log/state.js';
import type { ReadQuery, ReadResult } from '../types.js';

interface Plan {
  lo: number;
  hi: number;
  entity: string | null;
  entityBytes: Buffer | null;
  type: string | null;
  typeBytes: Buffer | null;
  prefixBytes: Buffer | null;
  /** Types that match the prefix (when one is given). */
  prefixTypes: string[];
  sinceUs: number;
  untilUs: number;
}

function checkCount(
  value: number | undefined,
  field: string,
  fallback: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new StoreError('VALIDATION_ERROR', `${field} must be an integer from 0 to ${max}`, {
      field,
    });
  }
  return value;
}

/** Narrows [lo, hi] by the filters; returns null when nothing can match. */
function plan(log: Log, query: ReadQuery): Plan | null {
  const desc = query.order === 'desc';
  let lo = 1;
  let hi = Math.min(log.lastPosition, query.maxPosition ?? Number.MAX_SAFE_INTEGER);
  if (query.afterPosition !== undefined) {
    if (desc) hi = Math.min(hi, query.afterPosition - 1);
    else lo = Math.max(lo, query.afterPosition + 1);
  }
  const p: Plan = {
    lo,
    hi,
    entity: query.entityId ?? null,
    entityBytes: query.entityId === undefined ? null : Buffer.from(query.entityId),
    type: query.eventType ?? null,
    typeBytes: query.eventType === undefined ? null : Buffer.from(query.eventType),
    prefixBytes: query.eventTypePrefix === undefined ? null : Buffer.from(query.eventTypePrefix),
    prefixTypes: [],
    sinceUs: query.sinceUs ?? 0,
    untilUs: query.untilUs ?? Number.MAX_SAFE_INTEGER,
  };
  const narrow = (span: { firstPosition: number; lastPosition: number } | undefined): boolean => {
    if (span === undefined) return false;
    p.lo = Math.max(p.lo, span.firstPosition);
    p.hi = Math.min(p.hi, span.lastPosition);
    return true;
  };
  if (p.entity !== null && !narrow(log.totals.entities.get(p.entity))) return null;
  // An erased entity's events before its tombstone are hidden: start at the tombstone.
  const erasedAt = p.entity === null ? undefined : log.totals.erased.get(p.entity);
  if (erasedAt !== undefined) p.lo = Math.max(p.lo, erasedAt);
  if (p.type !== null && !narrow(log.totals.types.get(p.type))) return null;
  if (query.eventTypePrefix !== undefined) {
    let first = Number.MAX_SAFE_INTEGER;
    let last = 0;
    for (const [type, span] of log.totals.types) {
      if (!type.startsWith(query.eventTypePrefix)) continue;
      p.prefixTypes.push(type);
      first = Math.min(first, span.firstPosition);
      last = Math.max(last, span.lastPosition);
    }
    if (
      !narrow(p.prefixTypes.length > 0 ? { firstPosition: first, lastPosition: last } : undefined)
    ) {
      return null;
    }
  }
  return p.lo <= p.hi && p.sinceUs <= p.untilUs ? p : null;
}

/** Relative positions worth reading in one segment, ascending, within [relLo, relHi]. */
function candidates(view: IndexView, p: Plan, relLo: number, relHi: number): ArrayLike<number> {
  let list: readonly number[] | null = null;
  if (p.entity !== null) {
    list = view.candidates(IndexKind.Entities, p.entity, hashString32(p.entity));
  } else if (p.type !== null) {
    list = view.candidates(IndexKind.Types, p.type, hashString32(p.type));
  } else if (p.prefixBytes !== null) {
    const merged: number[] = [];
    for (const type of p.prefixTypes) {
      for (const rel of view.candidates(IndexKind.Types, type, hashString32(type)))
        merged.push(rel);
    }
    list = merged.sort((a, b) => a - b);
  }
  if (list !== null) return list.filter((rel) => rel >= relLo && rel <= relHi);
  // No key filter: every record in the span, by index entry.
  const from = lowerBoundRel(view, relLo);
  const out: number[] = [];
  for (let i = from; i < view.count && view.relPosition(i) <= relHi; i++)
    out.push(view.relPosition(i));
  return out;
}

/** `entityExact`: the candidates came from an exact per-entity list (no hash collision). */
function matches(event: EventView, p: Plan, entityExact: boolean): boolean {
  if (p.entityBytes !== null && !entityExact && !event.entityIdEquals(p.entityBytes)) return false;
  if (p.typeBytes !== null && !event.eventTypeEquals(p.typeBytes)) return false;
  if (p.prefixBytes !== null && !event.eventTypeStartsWith(p.prefixBytes)) return false;
  return true;
}

/** Index entries of `segment` inside the plan's time bounds, as a relative-position span. */
function timeSpan(view: IndexView, p: Plan): [number, number] | null {
  const first = p.sinceUs > 0 ? lowerBoundTime(view, p.sinceUs) : 0;
  const end =
    p.untilUs < Number.MAX_SAFE_INTEGER ? lowerBoundTime(view, p.untilUs + 1) : view.count;
  if (first >= end) return null;
  return [view.relPosition(first), view.relPosition(end - 1)];
}

function segmentsInSpan(log: Log, p: Plan): Segment[] {
  return log.segments.filter(
    (s) =>
      s.count > 0 &&
      s.basePosition <= p.hi &&
      s.lastPosition >= p.lo &&
      s.lastTimestampUs >= p.sinceUs &&
      s.firstTimestampUs <= p.untilUs,
  );
}

/** Where a read's events go: offset skipped, limit counted. */
interface Collector {
  events: EventView[];
  skip: number;
  limit: number;
  hasMore: boolean;
}

/** Adds one matching event; false once the limit is reached (and more would follow). */
function collect(c: Collector, event: EventView): boolean {
  if (c.skip > 0) {
    c.skip--;
    return true;
  }
  if (c.events.length === c.limit) {
    c.hasMore = true;
    return false;
  }
  c.events.push(event);
  return true;
}

/** Walks the segments' candidates in [p.lo, p.hi]; false when the collector is full. */
function scanSegments(
  log: Log,
  p: Plan,
  desc: boolean,
  ctx: SegmentContext,
  c: Collector,
): boolean {
  const segments = segmentsInSpan(log, p);
  if (desc) segments.reverse();
  // Only a log with erased entities pays for the check, one map lookup per event.
  const erased = log.totals.erased.size > 0 ? log.totals : null;
  for (const segment of segments) {
    const view = indexView(segment, ctx);
    const span = timeSpan(view, p);
    if (span === null) continue;
    const relLo = Math.max(p.lo - segment.basePosition, span[0]);
    const relHi = Math.min(p.hi - segment.basePosition, span[1]);
    const list = candidates(view, p, relLo, relHi);
    // The active segment's per-entity lists are keyed by the whole id; sealed ones by hash.
    const entityExact = segment.active !== null && p.entity !== null;
    for (let k = 0; k < list.length; k++) {
      const rel = list[desc ? list.length - 1 - k : k]!;
      const i = lowerBoundRel(view, rel);
      if (i >= view.count || view.relPosition(i) !== rel) continue;
      const event = readRecord(segment, view, i, ctx);
      if (!matches(event, p, entityExact)) continue;
      if (erased !== null && isErased(erased, event.entityId, event.position)) continue;
      if (!collect(c, event)) return false;
    }
  }
  return true;
}

/** Events of the run in [lo, hi], in order; false when the collector is full. */
function scanRun(run: EntityRun, lo: number, hi: number, desc: boolean, c: Collector): boolean {
  const first = runLowerBound(run, lo);
  const end = runLowerBound(run, hi + 1);
  for (let k = first; k < end; k++) {
    if (!collect(c, runView(run, desc ? end - 1 - (k - first) : k))) return false;
  }
  return true;
}

export function readLog(log: Log, query: ReadQuery, ctx: SegmentContext): ReadResult<EventView> {
  const limit = checkCount(query.limit, 'limit', limits.readLimitDefault, limits.readLimitMax);
  const skip = checkCount(query.offset, 'offset', 0, Number.MAX_SAFE_INTEGER);
  const desc = query.order === 'desc';
  const c: Collector = { events: [], skip, limit, hasMore: false };
  const p = plan(log, query);
  if (p === null) return { events: c.events, hasMore: false, nextPosition: null };
  // A read by entity alone can use (and refresh) the entity's run: see entity_runs.ts.
  const byEntityOnly =
    p.entity !== null &&
    p.type === null &&
    p.prefixBytes === null &&
    p.sinceUs === 0 &&
    p.untilUs === Number.MAX_SAFE_INTEGER &&
    !log.totals.erased.has(p.entity);
  const run = byEntityOnly ? log.runs.get(p.entity!) : undefined;
  if (run === undefined) {
    scanSegments(log, p, desc, ctx, c);
  } else {
    log.counters.entityRunReads++;
    const tail: Plan = { ...p, lo: Math.max(p.lo, run.lastPosition + 1) };
    const runHi = Math.min(p.hi, run.lastPosition);
    if (desc) {
      if (tail.lo > tail.hi || scanSegments(log, tail, desc, ctx, c))
        scanRun(run, p.lo, runHi, desc, c);
    } else if (scanRun(run, p.lo, runHi, desc, c) && tail.lo <= tail.hi) {
      scanSegments(log, tail, desc, ctx, c);
    }
  }
  // A read that returned the entity's whole history up to now may keep it as the entity's run.
  if (
    byEntityOnly &&
    !desc &&
    !c.hasMore &&
    skip === 0 &&
    query.afterPosition === undefined &&
    query.maxPosition === undefined &&
    (run === undefined || c.events.length - run.count >= limits.entityRunRefreshEvents)
  ) {
    log.runs.keep(p.entity!, c.events, p.hi);
  }
  const last = c.events[c.events.length - 1];
  return {
    events: c.events,
    hasMore: c.hasMore,
    nextPosition: c.hasMore && last !== undefined ? last.position : null,
  };
}

/** Events with a timestamp at or after `sinceUs` (timestamps never decrease in a log). */
export function countSince(
  log: Log,
  sinceUs: number,
  ctx: SegmentContext,
): { count: number; oldestUs: number } {
  let count = 0;
  let oldestUs = 0;
  for (let s = log.segments.length - 1; s >= 0; s--) {
    const segment = log.segments[s]!;
    if (segment.count === 0) continue;
    if (segment.lastTimestampUs < sinceUs) break;
    if (segment.firstTimestampUs >= sinceUs) {
      count += segment.count;
      oldestUs = segment.firstTimestampUs;
      continue;
    }
    const view = indexView(segment, ctx);
    const first = lowerBoundTime(view, sinceUs);
    count += view.count - first;
    if (first < view.count) oldestUs = view.timestamp(first);
    break;
  }
  return { count, oldestUs };
}
