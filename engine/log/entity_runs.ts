// Entity runs: the records of one entity, copied back to back into one buffer by a read that
// returned all of them. Reading an aggregate's whole history is the hottest query of an event
// store (every command on an entity rebuilds its state), and in a log where entities interleave
// each of its records sits in a different place: a cold read of 100 events touches 100 scattered
// records and their index entries, and on this class of machine those cache and TLB misses cost
// more than everything else the read does. A run turns the next read of the entity into a walk
// over one small buffer.
//
// A run holds exactly the entity's events at or below `lastPosition`; a read serves those from
// it and the rest (events appended since) from the segments. Runs live in the shared read cache,
// counted in bytes and evicted like any chunk, so memory stays within the cache budget. They are
// dropped when compaction rewrites the log, and erased entities never use one.
import { EventView } from '../format/event_view.js';
import { limits } from '../limits.js';
import type { CacheEntry, ReadCache } from './cache.js';

export interface EntityRun extends CacheEntry {
  readonly buf: Buffer;
  /** Offset of record i in buf; starts[count] is buf.length. */
  readonly starts: Uint32Array;
  /** Position of record i, ascending. */
  readonly positions: Float64Array;
  readonly count: number;
  /** Every event of the entity at or below this position is in the run. */
  readonly lastPosition: number;
}

export class EntityRuns {
  private readonly runs = new Map<string, EntityRun>();

  constructor(
    private readonly cache: ReadCache,
    private readonly enabled: boolean,
  ) {}

  get(entityId: string): EntityRun | undefined {
    const run = this.runs.get(entityId);
    if (run !== undefined) run.referenced = true;
    return run;
  }

  /**
   * Keeps `views` (every event of the entity up to `lastPosition`, ascending) as the entity's
   * run, unless the entity is too small to gain from one or too large to hold.
   */
  keep(entityId: string, views: readonly EventView[], lastPosition: number): void {
    if (!this.enabled || views.length < limits.entityRunEventsMin) return;
    const current = this.runs.get(entityId);
    if (current !== undefined && current.lastPosition >= lastPosition) return;
    let bytes = 0;
    for (const view of views) bytes += view.end - view.start;
    if (bytes > limits.entityRunBytesMax) return;
    const buf = Buffer.allocUnsafe(bytes);
    const starts = new Uint32Array(views.length + 1);
    const positions = new Float64Array(views.length);
    let at = 0;
    for (let i = 0; i < views.length; i++) {
      const view = views[i]!;
      starts[i] = at;
      positions[i] = view.position;
      at += view.buf.copy(buf, at, view.start, view.end);
    }
    starts[views.length] = at;
    if (current !== undefined) this.drop(entityId);
    const run: EntityRun = {
      buf,
      starts,
      positions,
      count: views.length,
      lastPosition,
      bytes: bytes + starts.byteLength + positions.byteLength,
      referenced: true,
      slot: -1,
      evict: () => {
        if (this.runs.get(entityId) === run) this.runs.delete(entityId);
      },
    };
    this.runs.set(entityId, run);
    this.cache.add(run);
  }

  drop(entityId: string): void {
    const run = this.runs.get(entityId);
    if (run === undefined) return;
    this.runs.delete(entityId);
    this.cache.remove(run);
  }

  /** Forgets every run (the log's segments were rewritten, or it is closing). */
  clear(): void {
    for (const run of this.runs.values()) this.cache.remove(run);
    this.runs.clear();
  }

  get size(): number {
    return this.runs.size;
  }
}

/** The view of record i of a run. */
export function runView(run: EntityRun, i: number): EventView {
  return new EventView(run.buf, run.starts[i]!, run.starts[i + 1]!);
}

/** First i whose position is >= position (count when none). */
export function runLowerBound(run: EntityRun, position: number): number {
  let lo = 0;
  let hi = run.count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (run.positions[mid]! < position) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
