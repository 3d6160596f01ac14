import type { StoreError } from '../errors.js';
import { hashString32 } from '../format/checksum.js';
import { positionFromId } from '../format/event_id.js';
import type { EventView } from '../format/event_view.js';
import type { Io } from '../io/io.js';
import { limits } from '../limits.js';
import type { FsyncPolicy } from '../types.js';
import type { ReadCache } from './cache.js';
import { EntityRuns } from './entity_runs.js';
import { type Logger, openLogDir } from './open.js';
import { type PendingAppend, type PreparedRound, recordStart } from './round.js';
import type { Sealer } from './sealer.js';
import {
  dropSegmentCache,
  idCandidates,
  indexView,
  lowerBoundRel,
  readRecord,
  type Segment,
} from './segment.js';
import { applyEvent, type LogTotals } from './state.js';
import { RoundWriter } from './writer.js';

export interface LogConfig {
  sealer: Sealer;
  io: Io;
  cache: ReadCache;
  logger: Logger;
  fsync: FsyncPolicy;
  segmentBytesMax: number;
  /** Bytes zeroed ahead of the active segment at most (preallocate.ts); 0: none. */
  preallocateBytes?: number;
  /** Whether reads keep entity runs (entity_runs.ts); off, every read uses the segments. */
  entityRuns?: boolean;
  /** Events back from the newest that an append's client id is checked against (retries). */
  idempotencyWindowEvents?: number;
  observeFsync?: ((seconds: number) => void) | undefined;
}

interface Waiter {
  after: number;
  resolve(): void;
}

export class Log {
  readonly dir: string;
  readonly segments: Segment[];
  readonly totals: LogTotals;
  readonly truncations: number;
  /** Appends waiting for the next round. */
  queue: PendingAppend[] = [];
  /** Set by a failure that left the file in an unknown state: appends stop, reads go on. */
  failure: StoreError | null = null;
  /** Erasures compaction has carried out on disk: entity id to tombstone position. */
  readonly erasuresDone = new Map<string, number>();
  /** Whole entity histories kept for repeated reads (entity_runs.ts). */
  readonly runs: EntityRuns;
  /** Write-path counters, read by metrics and benchmarks. */
  readonly counters = {
    writes: 0,
    fsyncs: 0,
    bytesWritten: 0,
    fsyncMicrosTotal: 0,
    entityRunReads: 0,
  };
  private waiters: Waiter[] = [];
  private readonly writer: RoundWriter;
  private closed = false;

  /** See findRetry. */
  private readonly idempotencyWindow: number;

  private constructor(
    private readonly config: LogConfig,
    dir: string,
    opened: Awaited<ReturnType<typeof openLogDir>>,
  ) {
    this.dir = dir;
    this.segments = opened.segments;
    this.totals = opened.totals;
    this.truncations = opened.truncations;
    this.writer = new RoundWriter(this, config, opened.checkpointPosition);
    this.runs = new EntityRuns(config.cache, config.entityRuns ?? true);
    this.idempotencyWindow =
      config.idempotencyWindowEvents ?? limits.idempotencyWindowEventsDefault;
  }

  static async open(config: LogConfig, dir: string): Promise<Log> {
    return new Log(config, dir, await openLogDir(config.io, dir, config.logger));
  }

  get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  /**
   * The last position ever assigned. An empty active segment's base is one past it (a roll
   * starts the next segment there), which stays true when compaction has removed every event
   * before it: positions are never reused.
   */
  get lastPosition(): number {
    const active = this.active;
    return active.count > 0 ? active.lastPosition : active.basePosition - 1;
  }

  get lastTimestampUs(): number {
    for (let s = this.segments.length - 1; s >= 0; s--) {
      const segment = this.segments[s]!;
      if (segment.count > 0) return segment.lastTimestampUs;
    }
    return 0;
  }

  get storageBytes(): number {
    let total = 0;
    for (const segment of this.segments) total += segment.logBytes;
    return total;
  }

  entityVersion(entityId: string): number {
    return this.totals.entities.get(entityId)?.version ?? 0;
  }

  /** The committed event at `position`, or null. */
  readPosition(position: number): EventView | null {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.segments[mid]!.basePosition <= position) lo = mid;
      else hi = mid - 1;
    }
    const segment = this.segments[lo]!;
    if (segment.count === 0 || position < segment.basePosition || position > segment.lastPosition) {
      return null;
    }
    const view = indexView(segment, this.config);
    const rel = position - segment.basePosition;
    const i = lowerBoundRel(view, rel);
    if (i >= view.count || view.relPosition(i) !== rel) return null;
    return readRecord(segment, view, i, this.config);
  }

  /**
   * The committed event with this id: by the position a generated id carries, else through
   * the segments' client-id sections, newest first, among events after position `after`.
   * `hash`: the id's xxh32, when the caller has it.
   */
  findById(id: string, after = 0, hash?: number): EventView | null {
    const position = positionFromId(id);
    if (position !== null && position > after) {
      const found = this.readPosition(position);
      if (found !== null && found.id === id) return found;
    }
    const idHash = hash ?? hashString32(id);
    for (let s = this.segments.length - 1; s >= 0; s--) {
      const segment = this.segments[s]!;
      if (segment.count === 0) continue;
      if (segment.lastPosition <= after) break;
      const rels = idCandidates(segment, this.config, idHash);
      if (rels.length === 0) continue;
      const view = indexView(segment, this.config);
      for (const rel of rels) {
        const i = lowerBoundRel(view, rel);
        if (i >= view.count || view.relPosition(i) !== rel) continue;
        const record = readRecord(segment, view, i, this.config);
        if (record.id === id && record.position > after) return record;
      }
    }
    return null;
  }

  /**
   * The event an append with this client id would repeat: the same search, bounded to the
   * idempotency window (the last `idempotencyWindowEvents` events). Without a bound every
   * append of a new id searched every segment of the log, and slowed as the log grew.
   */
  findRetry(id: string, hash: number): EventView | null {
    return this.findById(id, this.lastPosition - this.idempotencyWindow, hash);
  }

  /** Seals the active segment now if it holds events (see RoundWriter.rollNow). */
  rollNow(): Promise<void> {
    return this.writer.rollNow();
  }

  /** Writes the entity checkpoint after the seals started so far, unless one covers the log. */
  checkpoint(): Promise<void> {
    return this.writer.checkpointNow();
  }

  /** Settles when the seals started so far have finished (index files written). */
  get sealed(): Promise<void> {
    return this.writer.sealed;
  }

  /** Rounds prepared and not yet settled. */
  get roundsInFlight(): number {
    return this.writer.roundsInFlight;
  }

  /**
   * Takes queued appends, in order, up to limits.roundBytesMax of records (at least one), and
   * builds the next round from them; null when nothing is waiting. What is left waits for the
   * next round, which is encoded while this one is written: with four 330 KB batches queued,
   * rounds of at most 1 MiB took batch appends from 535-629K to 677-726K events/s in paired
   * by-hand runs, where one round of all four left the event loop idle during its write.
   */
  takeRound(): PreparedRound | null {
    let taken = 0;
    let bytes = 0;
    while (taken < this.queue.length) {
      bytes += this.queue[taken]!.bytes;
      if (bytes > limits.roundBytesMax && taken > 0) break;
      taken++;
    }
    const queue = taken === this.queue.length ? this.queue : this.queue.splice(0, taken);
    if (queue === this.queue) this.queue = [];
    if (this.failure !== null) {
      for (const append of queue) append.reject(this.failure);
      return null;
    }
    return this.writer.prepare(queue);
  }

  /** Writes the round and commits it (see writer.ts). */
  writeRound(round: PreparedRound): Promise<void> {
    return this.writer.write(round);
  }

  /** fsyncs the active segment if bytes were written since the last sync. */
  sync(): Promise<void> {
    return this.writer.sync();
  }

  /** Makes appends [a, b) of the round visible: indexes, totals, results, subscribers. */
  commitPiece(round: PreparedRound, a: number, b: number, segment: Segment): void {
    const index = segment.active!;
    const first = recordStart(round, a);
    const end = recordStart(round, b);
    const fileStart = segment.logBytes - round.offsets[first]!;
    for (let j = first; j < end; j++) {
      const r = round.records[j]!;
      index.add(
        r.position - segment.basePosition,
        fileStart + round.offsets[j]!,
        r.timestampUs,
        r.clientId ? r.id : null,
        r.eventType,
        r.entityId,
        r.idHash,
      );
      applyEvent(this.totals, r.entityId, r.eventType, r.version, r.position);
    }
    if (end > first) {
      if (segment.count === 0) segment.firstTimestampUs = round.records[first]!.timestampUs;
      segment.count += end - first;
      segment.logBytes += round.offsets[end]! - round.offsets[first]!;
      index.logBytes = segment.logBytes;
      segment.lastPosition = round.records[end - 1]!.position;
      segment.lastTimestampUs = round.records[end - 1]!.timestampUs;
      this.totals.coveredPosition = segment.lastPosition;
    }
    for (let k = a; k < b; k++) {
      const { append, results } = round.accepted[k]!;
      append.resolve(results);
    }
    if (end > first) this.wake();
  }

  /** Resolves once an event after `position` is committed, or the log closes. */
  waitForPosition(position: number): Promise<void> {
    if (this.closed || this.lastPosition > position) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ after: position, resolve }));
  }

  private wake(): void {
    const last = this.lastPosition;
    const waiting: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (last > waiter.after) waiter.resolve();
      else waiting.push(waiter);
    }
    this.waiters = waiting;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const { io, cache } = this.config;
    try {
      await this.writer.sealed;
      if (this.failure === null) {
        await this.writer.trimTail();
        await io.fdatasync(this.active.fd);
      }
    } finally {
      this.runs.clear();
      for (const segment of this.segments) {
        dropSegmentCache(segment, cache);
        io.close(segment.fd);
      }
      for (const waiter of this.waiters) waiter.resolve();
      this.waiters = [];
    }
  }
}
