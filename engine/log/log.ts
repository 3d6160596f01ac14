// One ordered log of events in one directory: its segments, its committed totals, its queue of
// appends waiting for the next group-commit round, and the waiters of subscriptions.
import path from 'node:path';
import { ioFailure, StoreError } from '../errors.js';
import { encodeCheckpoint } from '../format/checkpoint.js';
import { hashString32 } from '../format/checksum.js';
import { positionFromId } from '../format/event_id.js';
import type { EventView } from '../format/event_view.js';
import { CHECKPOINT_NAME } from '../format/names.js';
import { encodeSegmentIndex, IndexKind } from '../format/segment_index.js';
import type { Io } from '../io/io.js';
import type { FsyncPolicy } from '../types.js';
import { ActiveIndex } from './active_index.js';
import type { ReadCache } from './cache.js';
import { type Logger, openLogDir } from './open.js';
import { PendingState } from './pending.js';
import { type PendingAppend, type PreparedRound, prepareRound, recordStart } from './round.js';
import {
  dropSegmentCache,
  indexView,
  lowerBoundRel,
  newSegment,
  readRecord,
  type Segment,
} from './segment.js';
import { applyEvent, type LogTotals } from './state.js';

export interface LogConfig {
  io: Io;
  cache: ReadCache;
  logger: Logger;
  fsync: FsyncPolicy;
  segmentBytesMax: number;
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
  /** Bytes written since the last fsync (fsync = interval or never). */
  unsynced = false;
  /** Write-path counters, read by metrics and benchmarks. */
  readonly counters = { writes: 0, fsyncs: 0, bytesWritten: 0, fsyncMicrosTotal: 0 };
  private waiters: Waiter[] = [];
  /** What rounds in flight will leave behind; the next round is checked against it. */
  private readonly pending: PendingState;
  /** Rounds prepared and not yet settled. */
  private prepared = 0;
  /** Moves on at every failed write: rounds prepared in an older epoch are rejected. */
  private epoch = 0;
  /** End of the bytes written to the active segment, committed or in flight. */
  private writtenBytes: number;
  /** Settles when the newest round in flight has settled. */
  private tail: Promise<void> = Promise.resolve();
  /** Set while a roll or a repair must have the file to itself. */
  private barrier: Promise<void> | null = null;
  private closed = false;

  private constructor(
    private readonly config: LogConfig,
    dir: string,
    opened: Awaited<ReturnType<typeof openLogDir>>,
  ) {
    this.dir = dir;
    this.segments = opened.segments;
    this.totals = opened.totals;
    this.truncations = opened.truncations;
    this.pending = new PendingState(this);
    this.writtenBytes = this.active.logBytes;
  }

  static async open(config: LogConfig, dir: string): Promise<Log> {
    return new Log(config, dir, await openLogDir(config.io, dir, config.logger));
  }

  get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  get lastPosition(): number {
    for (let s = this.segments.length - 1; s >= 0; s--) {
      const segment = this.segments[s]!;
      if (segment.count > 0) return segment.lastPosition;
    }
    return 0;
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

  /** The committed event with this id: by the position a generated id carries, else by index. */
  findById(id: string): EventView | null {
    const position = positionFromId(id);
    if (position !== null) {
      const found = this.readPosition(position);
      if (found !== null && found.id === id) return found;
    }
    const hash = hashString32(id);
    for (let s = this.segments.length - 1; s >= 0; s--) {
      const segment = this.segments[s]!;
      if (segment.count === 0) continue;
      const view = indexView(segment, this.config);
      for (const rel of view.candidates(IndexKind.Ids, id, hash)) {
        const i = lowerBoundRel(view, rel);
        if (i >= view.count || view.relPosition(i) !== rel) continue;
        const record = readRecord(segment, view, i, this.config);
        if (record.id === id) return record;
      }
    }
    return null;
  }

  /** Rounds prepared and not yet settled. */
  get roundsInFlight(): number {
    return this.prepared;
  }

  /** Takes the queue and builds the next round, or null when nothing is waiting. */
  takeRound(): PreparedRound | null {
    const queue = this.queue;
    this.queue = [];
    if (this.failure !== null) {
      for (const append of queue) append.reject(this.failure);
      return null;
    }
    const round = prepareRound(queue, this.pending);
    if (round === null) return null;
    round.epoch = this.epoch;
    this.pending.add(round);
    this.prepared++;
    return round;
  }

  /**
   * Writes and commits a round. Rounds are pipelined: the next one may be written while this
   * one waits for its fsync, but they commit strictly in order, and a failure moves the epoch
   * on so that every round prepared on top of the failed one is rejected too. A round that
   * needs the segment rolled waits until nothing else is in flight.
   */
  async writeRound(round: PreparedRound): Promise<void> {
    const previous = this.tail;
    let settle = (): void => {};
    this.tail = new Promise((resolve) => {
      settle = resolve;
    });
    try {
      while (this.barrier !== null) await this.barrier;
      const segment = this.active;
      const fits = this.writtenBytes + round.buf.length <= this.config.segmentBytesMax;
      if (round.epoch !== this.epoch) {
        this.rejectFrom(round, 0, this.staleError());
      } else if (fits || (segment.count === 0 && this.writtenBytes === 0)) {
        await this.writeInPlace(round, segment, previous);
      } else {
        let release = (): void => {};
        const barrier = new Promise<void>((resolve) => {
          release = resolve;
        });
        this.barrier = barrier;
        try {
          await previous;
          await this.writeWithRoll(round);
        } finally {
          if (this.barrier === barrier) this.barrier = null;
          release();
        }
      }
    } finally {
      if (--this.prepared === 0) this.pending.reset();
      settle();
    }
  }

  /** The common case: the whole round goes after what is already written. */
  private async writeInPlace(
    round: PreparedRound,
    segment: Segment,
    previous: Promise<void>,
  ): Promise<void> {
    const at = this.writtenBytes;
    this.writtenBytes += round.buf.length;
    let failure: unknown = null;
    try {
      await this.writePiece(segment, round.buf, at);
    } catch (error) {
      failure = error;
    }
    await previous;
    if (round.epoch !== this.epoch) {
      this.rejectFrom(round, 0, this.staleError());
    } else if (failure !== null) {
      this.rejectFrom(round, 0, await this.repair(failure, segment));
    } else {
      this.commitPiece(round, 0, round.accepted.length, segment);
    }
  }

  /** Appends go in while they fit; the next that does not first rolls the segment. */
  private async writeWithRoll(round: PreparedRound): Promise<void> {
    let a = 0;
    try {
      while (a < round.accepted.length) {
        if (round.epoch !== this.epoch) throw this.staleError();
        const segment = this.active;
        const room = this.config.segmentBytesMax - segment.logBytes;
        const from = round.offsets[recordStart(round, a)]!;
        let b = a;
        while (b < round.accepted.length) {
          const bytes = round.offsets[recordStart(round, b + 1)]! - from;
          if (bytes > room && (b > a || segment.count > 0)) break;
          b++;
        }
        if (b === a) {
          await this.roll(round.records[recordStart(round, a)]!.position);
          continue;
        }
        const bytes = round.buf.subarray(from, round.offsets[recordStart(round, b)]!);
        this.writtenBytes = segment.logBytes + bytes.length;
        try {
          await this.writePiece(segment, bytes, segment.logBytes);
        } catch (error) {
          throw await this.repair(error, segment);
        }
        this.commitPiece(round, a, b, segment);
        a = b;
      }
    } catch (error) {
      this.rejectFrom(
        round,
        a,
        error instanceof StoreError ? error : ioFailure(error, `writing ${this.dir}`),
      );
    }
  }

  private rejectFrom(round: PreparedRound, a: number, error: StoreError): void {
    for (let k = a; k < round.accepted.length; k++) round.accepted[k]!.append.reject(error);
  }

  private staleError(): StoreError {
    return new StoreError(
      'IO_ERROR',
      'an earlier append in the same pipeline failed; nothing was written',
      {
        retryable: true,
      },
    );
  }

  /**
   * After a failed write or fsync: move the epoch on (rounds in flight behind this one will be
   * rejected), wait for them to settle, and cut the file back to its committed bytes before
   * anything new is written. If the cut fails, the log takes no more appends.
   */
  private async repair(error: unknown, segment: Segment): Promise<StoreError> {
    const typed = ioFailure(error, `appending to ${segment.logPath}`);
    this.epoch++;
    this.pending.reset();
    const behind = this.tail;
    let release = (): void => {};
    const barrier = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.barrier = barrier;
    void (async () => {
      // Rounds already in flight (this one included) settle first; they see the new epoch.
      await behind;
      try {
        await this.config.io.truncate(segment.fd, segment.logBytes);
      } catch {
        this.failure = new StoreError(
          'LOG_UNAVAILABLE',
          `log ${this.dir} disabled: ${typed.message}`,
        );
      }
      this.writtenBytes = segment.logBytes;
      if (this.barrier === barrier) this.barrier = null;
      release();
    })();
    return typed;
  }

  private async writePiece(segment: Segment, bytes: Buffer, at: number): Promise<void> {
    if (bytes.length === 0) return;
    await this.config.io.writeAt(segment.fd, bytes, at);
    this.counters.writes++;
    this.counters.bytesWritten += bytes.length;
    if (this.config.fsync === 'always') await this.fdatasync(segment.fd);
    else this.unsynced = true;
  }

  /** Makes appends [a, b) of the round visible: indexes, totals, results, subscribers. */
  private commitPiece(round: PreparedRound, a: number, b: number, segment: Segment): void {
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
        r.id,
        r.eventType,
        r.entityId,
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

  /** Seals the active segment and starts a new one at `nextPosition`. */
  private async roll(nextPosition: number): Promise<void> {
    const { io } = this.config;
    const sealed = this.active;
    try {
      await this.fdatasync(sealed.fd);
      await io.writeFileAtomic(sealed.indexPath, encodeSegmentIndex(sealed.active!));
      sealed.active = null;
      const next = newSegment(this.dir, nextPosition, -1);
      next.fd = io.openAppend(next.logPath);
      next.active = new ActiveIndex(nextPosition);
      io.fsyncDir(this.dir);
      this.segments.push(next);
      this.writtenBytes = 0;
      this.unsynced = false;
      await this.writeCheckpoint(sealed.lastPosition);
    } catch (error) {
      const typed = ioFailure(error, `sealing ${sealed.logPath}`);
      this.failure = new StoreError(
        'LOG_UNAVAILABLE',
        `log ${this.dir} disabled: ${typed.message}`,
      );
      throw typed;
    }
  }

  private async writeCheckpoint(coveredPosition: number): Promise<void> {
    const buf = encodeCheckpoint({ ...this.totals, coveredPosition });
    await this.config.io.writeFileAtomic(path.join(this.dir, CHECKPOINT_NAME), buf);
  }

  private async fdatasync(fd: number): Promise<void> {
    const started = performance.now();
    await this.config.io.fdatasync(fd);
    this.counters.fsyncs++;
    this.counters.fsyncMicrosTotal += Math.round((performance.now() - started) * 1000);
  }

  /** fsyncs the active segment if bytes were written since the last sync. */
  async sync(): Promise<void> {
    if (!this.unsynced) return;
    this.unsynced = false;
    await this.fdatasync(this.active.fd);
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
      if (this.failure === null) await io.fdatasync(this.active.fd);
    } finally {
      for (const segment of this.segments) {
        dropSegmentCache(segment, cache);
        io.close(segment.fd);
      }
      for (const waiter of this.waiters) waiter.resolve();
      this.waiters = [];
    }
  }
}
