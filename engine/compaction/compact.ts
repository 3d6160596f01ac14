// One compaction pass over one log: plan (plan.ts), rewrite each group on the worker thread
// (worker.ts), swap the result in (swap.ts). The event loop only plans, renames and swaps the
// in-memory segment list, in one synchronous step per group, so reads never see a half-swapped
// log; appends go on into the active segment throughout.
import path from 'node:path';
import { Piscina } from 'piscina';
import { segmentIndexName, segmentLogName } from '../format/names.js';
import type { Io } from '../io/io.js';
import type { Log } from '../log/log.js';
import { dropSegmentCache, newSegment, type Segment, type SegmentContext } from '../log/segment.js';
import { activeNeedsSealing, type Group, planCompaction, type RetentionPolicy } from './plan.js';
import {
  COMPACT_SUFFIX,
  removeReplaced,
  renameInto,
  type SwapPlan,
  writeSwapMarker,
} from './swap.js';
import type { RewriteResult, RewriteTask } from './worker.js';

export interface CompactionTotals {
  filesCompacted: number;
  bytesBefore: number;
  bytesAfter: number;
  eventsCompacted: number;
}

export interface Rewriter {
  rewrite(task: RewriteTask): Promise<RewriteResult>;
  close(): Promise<void>;
}

/** A pool of one worker thread, started on the first rewrite. */
export function createRewriter(): Rewriter {
  let pool: Piscina | null = null;
  return {
    rewrite(task) {
      pool ??= new Piscina({
        filename: new URL('./worker.js', import.meta.url).href,
        minThreads: 0,
        maxThreads: 1,
        idleTimeout: 30_000,
      });
      return pool.run(task) as Promise<RewriteResult>;
    },
    async close() {
      if (pool !== null) await pool.destroy();
      pool = null;
    },
  };
}

export interface CompactContext extends SegmentContext {
  io: Io;
  rewriter: Rewriter;
  segmentBytesMax: number;
  /** The rewrite's read rate limit (0: none). */
  bytesPerSec: number;
  /** False while something (a backup) must see the files as they are: the pass stops. */
  mayChangeFiles(): boolean;
  /** Test hook: called at each step of a swap, so a test can kill the process there. */
  step?: (name: 'rewritten' | 'decided' | 'renamed' | 'removed') => void;
}

export function emptyTotals(): CompactionTotals {
  return { filesCompacted: 0, bytesBefore: 0, bytesAfter: 0, eventsCompacted: 0 };
}

function previousPosition(log: Log, first: Segment): number {
  let previous = 0;
  for (const segment of log.segments) {
    if (segment === first) return previous;
    if (segment.count > 0) previous = segment.lastPosition;
  }
  return previous;
}

/** Runs a compaction pass over the log; stops early, leaving it consistent, if it closes. */
export async function compactLog(
  log: Log,
  policy: RetentionPolicy,
  nowUs: number,
  ctx: CompactContext,
): Promise<CompactionTotals> {
  const totals = emptyTotals();
  if (log.isClosed || !ctx.mayChangeFiles()) return totals;
  if (activeNeedsSealing(log, policy, nowUs, ctx)) await log.rollNow();
  // Segments being sealed right now are left alone; wait for those seals to count them in.
  await log.sealed;
  // Totals count what was ingested: they must be on disk before segments lose events.
  await log.checkpoint();
  const plan = planCompaction(log, policy, nowUs, ctx.segmentBytesMax, ctx);
  let complete = true;
  for (const group of plan.groups) {
    if (log.isClosed || !ctx.mayChangeFiles()) {
      complete = false;
      break;
    }
    const done = await compactGroup(log, group, plan.dropBeforeUs, plan.pending, ctx);
    if (done === null) {
      complete = false;
      continue;
    }
    if (done === 'unchanged') continue;
    totals.filesCompacted += group.segments.length;
    totals.bytesBefore += done.bytesIn;
    totals.bytesAfter += done.logBytes;
    totals.eventsCompacted += done.eventsIn - done.eventsKept;
  }
  if (complete)
    for (const [entity, tombstone] of plan.completes) log.erasuresDone.set(entity, tombstone);
  return totals;
}

async function compactGroup(
  log: Log,
  group: Group,
  dropBeforeUs: number,
  erasures: [string, number][],
  ctx: CompactContext,
): Promise<RewriteResult | 'unchanged' | null> {
  const { io } = ctx;
  const first = group.segments[0]!;
  const logName = segmentLogName(first.basePosition);
  const indexName = segmentIndexName(first.basePosition);
  const bytesIn = group.segments.reduce((sum, s) => sum + s.logBytes, 0);
  let result: RewriteResult = {
    eventsIn: group.segments.reduce((sum, s) => sum + s.count, 0),
    eventsKept: 0,
    bytesIn,
    logBytes: 0,
    lastPosition: 0,
    firstTimestampUs: 0,
    lastTimestampUs: 0,
  };
  const temps = [logName, indexName].map((n) => path.join(log.dir, `${n}${COMPACT_SUFFIX}`));
  if (group.rewrite) {
    try {
      result = await ctx.rewriter.rewrite({
        sources: group.segments.map((s) => ({ logPath: s.logPath, bytes: s.logBytes })),
        previousPosition: previousPosition(log, first),
        outBase: first.basePosition,
        tempLogPath: temps[0]!,
        tempIndexPath: temps[1]!,
        dropBeforeUs,
        // Only erasures this segment range can hold travel to the worker.
        erased: erasures.filter(([, t]) => t > first.basePosition),
        bytesPerSec: ctx.bytesPerSec,
      });
    } catch (error) {
      for (const temp of temps) io.unlink(temp);
      ctx.logger.warn('compaction rewrite failed', { dir: log.dir, cause: String(error) });
      return null;
    }
  }
  if (group.rewrite && group.segments.length === 1 && result.eventsKept === result.eventsIn) {
    // Nothing to drop after all (a hash collision marked it): keep the original.
    for (const temp of temps) io.unlink(temp);
    return 'unchanged';
  }
  ctx.step?.('rewritten');
  // The log may have closed, or a backup started, while the worker ran: then nothing changes.
  if (log.isClosed || !ctx.mayChangeFiles() || log.segments.indexOf(first) === -1) {
    for (const temp of temps) io.unlink(temp);
    return null;
  }
  const kept = result.eventsKept > 0;
  const swap: SwapPlan = {
    renames: kept ? [logName, indexName] : [],
    removes: group.segments
      .slice(kept ? 1 : 0)
      .flatMap((s) => [segmentLogName(s.basePosition), segmentIndexName(s.basePosition)]),
  };
  await writeSwapMarker(log.dir, swap);
  ctx.step?.('decided');
  if (log.isClosed) return null; // recovery finishes the swap at the next open
  // From the renames to the new segment list, one synchronous step: no read runs in between.
  renameInto(io, log.dir, swap);
  const at = log.segments.indexOf(first);
  const replacement: Segment[] = [];
  if (kept) {
    const segment = newSegment(log.dir, first.basePosition, io.openAppend(first.logPath));
    segment.logBytes = result.logBytes;
    segment.count = result.eventsKept;
    segment.lastPosition = result.lastPosition;
    segment.firstTimestampUs = result.firstTimestampUs;
    segment.lastTimestampUs = result.lastTimestampUs;
    replacement.push(segment);
  }
  log.segments.splice(at, group.segments.length, ...replacement);
  // Runs hold copies of records the rewrite may have dropped (retention, erasure).
  log.runs.clear();
  for (const old of group.segments) {
    dropSegmentCache(old, ctx.cache);
    io.close(old.fd);
  }
  ctx.step?.('renamed');
  await removeReplaced(log.dir, swap, () => ctx.step?.('removed'));
  return result;
}
