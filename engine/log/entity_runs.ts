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
import {
  eventJsonLength,
  eventsJson,
  jsonArray,
  tenantBytes,
  writeEventJson,
} from '../format/event_json.js';
import { EventView } from '../format/event_view.js';
import { limits } from '../limits.js';
import type { CacheEntry, ReadCache } from './cache.js';
import { lowerBound } from './segment.js';

/**
 * The run's events as wire JSON for one tenant id, built on the first request for it: the
 * objects separated by commas, so that consecutive events are one contiguous range.
 */
interface RunJson {
  tenantJson: string;
  buf: Buffer;
  /** Offset of event i's JSON in buf; event i ends at starts[i + 1] - 1 (a comma or the end). */
  starts: Uint32Array;
}

export interface EntityRun extends CacheEntry {
  /** Bytes held, JSON included; changes when the JSON is built (see EntityRuns.withJson). */
  bytes: number;
  readonly owner: EntityRuns;
  json: RunJson | null;
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
      owner: this,
      json: null,
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

  /** The run's wire JSON for `tenantJson` (the tenant id, JSON-escaped), built once. */
  withJson(run: EntityRun, tenantJson: string): RunJson {
    if (run.json !== null && run.json.tenantJson === tenantJson) return run.json;
    const tenant = tenantBytes(tenantJson);
    const views = Array.from({ length: run.count }, (_, i) => runView(run, i));
    const starts = new Uint32Array(run.count + 1);
    let total = 0;
    for (let i = 0; i < run.count; i++) {
      starts[i] = total;
      total += eventJsonLength(views[i]!, tenant) + 1;
    }
    starts[run.count] = total;
    const buf = Buffer.allocUnsafe(total - 1);
    for (let i = 0; i < run.count; i++) {
      const end = writeEventJson(views[i]!, tenant, buf, starts[i]!);
      if (i + 1 < run.count) buf[end] = 0x2c; // ,
    }
    const held = run.slot !== -1;
    // The cache counts an entry's bytes when it is added: re-add it with the JSON counted.
    if (held) this.cache.remove(run);
    if (run.json !== null) run.bytes -= run.json.buf.length + run.json.starts.byteLength;
    run.json = { tenantJson, buf, starts };
    run.bytes += buf.length + starts.byteLength;
    if (held) this.cache.add(run);
    return run.json;
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
}

/** The view of record i of a run. */
export function runView(run: EntityRun, i: number): EventView {
  const view = new EventView(run.buf, run.starts[i]!, run.starts[i + 1]!);
  view.run = run;
  view.runIndex = i;
  return view;
}

/**
 * `<head>[e1,e2,...]<tail>` like eventsJson, but the events of a read served from one entity
 * run are copied from the run's wire JSON (built on first use and kept with the run) instead
 * of being assembled field by field: an ascending stretch of them is a single copy.
 */
export function eventsJsonWithRuns(
  views: readonly EventView[],
  tenantJson: string,
  head: string,
  tail: string,
  alloc: (bytes: number) => Buffer = Buffer.allocUnsafe,
): Buffer {
  const run = views.length > 0 ? (views[0]!.run as EntityRun | null) : null;
  if (run === null || !views.every((v) => v.run === run)) {
    return eventsJson(views, tenantJson, head, tail, alloc);
  }
  const { buf, starts } = run.owner.withJson(run, tenantJson);
  let bodyBytes = Math.max(0, views.length - 1);
  for (const view of views) bodyBytes += starts[view.runIndex + 1]! - 1 - starts[view.runIndex]!;
  return jsonArray(head, tail, bodyBytes, alloc, (out, at) => {
    for (let i = 0; i < views.length; ) {
      const first = views[i]!.runIndex;
      let j = i + 1;
      while (j < views.length && views[j]!.runIndex === views[j - 1]!.runIndex + 1) j++;
      if (i > 0) out[at++] = 0x2c; // ,
      // Events first..first+(j-i)-1 with their commas: one range of the run's JSON.
      at += buf.copy(out, at, starts[first]!, starts[first + (j - i)]! - 1);
      i = j;
    }
    return at;
  });
}

/** First i whose position is >= position (count when none). */
export function runLowerBound(run: EntityRun, position: number): number {
  return lowerBound(run.count, (i) => run.positions[i]!, position);
}
