// How rounds reach the disk. Rounds are pipelined: the next one may be prepared and written
// while the previous one waits for its fsync, but they commit strictly in order, and a failure
// moves the epoch on so that every round prepared on top of the failed one is rejected too.
import { ioFailure, StoreError } from '../errors.js';
import { ActiveIndex } from './active_index.js';
import { writeCheckpointFile } from './checkpoint_file.js';
import type { Log, LogConfig } from './log.js';
import { PendingState } from './pending.js';
import { Preallocator } from './preallocate.js';
import { type PendingAppend, type PreparedRound, prepareRound, recordStart } from './round.js';
import { giveRoundBuffer } from './round_buffers.js';
import { cacheIdSection, newSegment, type Segment } from './segment.js';

export class RoundWriter {
  /** Bytes written since the last fsync (fsync = interval or never). */
  private unsynced = false;
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
  /** Zeros ahead of the active segment's appends (fsync = always). */
  private prealloc: Preallocator;
  /** Settles when the last rolled segment's fdatasync has (fsync = interval or never). */
  private rollSync: Promise<void> = Promise.resolve();
  /** Settles when the seals started so far have finished (index files and checkpoints). */
  private sealing: Promise<void> = Promise.resolve();

  constructor(
    private readonly log: Log,
    private readonly config: LogConfig,
    /** The position the checkpoint on disk covers. */
    private checkpointed = 0,
  ) {
    this.pending = new PendingState(log);
    this.writtenBytes = log.active.logBytes;
    this.prealloc = new Preallocator(
      config.io,
      log.active.fd,
      log.active.logBytes,
      config.preallocateBytes ?? 0,
    );
  }

  get roundsInFlight(): number {
    return this.prepared;
  }

  /** Builds the next round from the queue, against what the rounds in flight will leave. */
  prepare(queue: PendingAppend[]): PreparedRound | null {
    const round = prepareRound(queue, this.pending);
    if (round === null) return null;
    round.epoch = this.epoch;
    this.prepared++;
    return round;
  }

  /**
   * Writes and commits a round. Rounds are pipelined: the next one may be written while this
   * one waits for its fsync, but they commit strictly in order, and a failure moves the epoch
   * on so that every round prepared on top of the failed one is rejected too. A round that
   * needs the segment rolled waits until nothing else is in flight.
   */
  async write(round: PreparedRound): Promise<void> {
    const previous = this.tail;
    let settle = (): void => {};
    this.tail = new Promise((resolve) => {
      settle = resolve;
    });
    try {
      while (this.barrier !== null) await this.barrier;
      const segment = this.log.active;
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
      this.pending.settled(round.records);
      if (--this.prepared === 0) this.pending.reset();
      giveRoundBuffer(round.slab);
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
      this.log.commitPiece(round, 0, round.accepted.length, segment);
    }
  }

  /** Appends go in while they fit; the next that does not first rolls the segment. */
  private async writeWithRoll(round: PreparedRound): Promise<void> {
    let a = 0;
    try {
      while (a < round.accepted.length) {
        if (round.epoch !== this.epoch) throw this.staleError();
        const segment = this.log.active;
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
        this.log.commitPiece(round, a, b, segment);
        a = b;
      }
    } catch (error) {
      this.rejectFrom(
        round,
        a,
        error instanceof StoreError ? error : ioFailure(error, `writing ${this.log.dir}`),
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
        await this.prealloc.settle();
        await this.config.io.truncate(segment.fd, segment.logBytes);
        this.prealloc.cutTo(segment.logBytes);
      } catch {
        this.log.failure = new StoreError(
          'LOG_UNAVAILABLE',
          `log ${this.log.dir} disabled: ${typed.message}`,
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
    if (this.prealloc.mustWait(at, bytes.length)) await this.prealloc.settle();
    this.prealloc.writing(at + bytes.length, bytes.length);
    await this.config.io.writeAt(segment.fd, bytes, at);
    this.log.counters.writes++;
    this.log.counters.bytesWritten += bytes.length;
    if (this.config.fsync === 'always') await this.fdatasync(segment.fd);
    else this.unsynced = true;
  }

  /** Seals the active segment and starts a new one at `nextPosition`. */
  /**
   * Starts a new segment at `nextPosition`. The old one stops taking appends at once and keeps
   * serving reads from its in-memory index while the sealing thread writes its index file; then
   * it switches to the file and the entity checkpoint is written. Seals finish in order.
   */
  private async roll(nextPosition: number): Promise<void> {
    const { io } = this.config;
    const sealed = this.log.active;
    try {
      // A sealed segment ends at its last record: the zeros written ahead of it go.
      await this.prealloc.trim(sealed.logBytes);
      // Under fsync = always the old segment is already durable: this sync finds nothing to
      // write. Under interval and never, flushing a whole segment (128 MiB by default) stalled
      // appends for tens of milliseconds, so it runs while appends go on; the log's next sync
      // and the seal wait for it, so the new segment is never synced before the old one.
      const synced = this.fdatasync(sealed.fd);
      if (this.config.fsync === 'always') await synced;
      else {
        const settled = synced.catch((error: unknown) => {
          const typed = this.disable(error, sealed);
          this.config.logger.warn('syncing a sealed segment failed', { cause: typed.message });
        });
        this.rollSync = Promise.all([this.rollSync, settled]).then(() => {});
      }
      const next = newSegment(this.log.dir, nextPosition, -1);
      next.fd = io.openAppend(next.logPath);
      // The next segment will most likely hold about as many records as this one: sized so,
      // its index arrays never grow (each growth copies them all) while it fills.
      next.active = new ActiveIndex(nextPosition, sealed.count);
      io.fsyncDir(this.log.dir);
      this.prealloc = new Preallocator(io, next.fd, 0, this.config.preallocateBytes ?? 0);
      this.log.segments.push(next);
      this.writtenBytes = 0;
      this.unsynced = false;
    } catch (error) {
      throw this.disable(error, sealed);
    }
    const index = sealed.active!;
    const task = index.sealTask(sealed.indexPath);
    const durable = this.rollSync;
    this.sealing = this.sealing
      .then(() => durable)
      .then(() => this.config.sealer.seal(task))
      .then((result) => {
        // Its client ids stay cached for idempotency checks, with no file read to get them.
        cacheIdSection(sealed, this.config.cache, result.idPairs, result.idFilter);
        sealed.active = null;
        // Reads are synchronous and now go to the index file: no one reads the arrays again.
        index.release();
        return this.checkpointIfDue();
      })
      .catch((error: unknown) => {
        // The segment stays served from memory; the next open rebuilds what is missing.
        this.config.logger.warn('sealing a segment failed', {
          file: sealed.logPath,
          cause: String(error),
        });
      });
  }

  /** A roll failed: the log takes no more appends (reads go on). Returns the typed error. */
  private disable(error: unknown, sealed: Segment): StoreError {
    const typed = ioFailure(error, `sealing ${sealed.logPath}`);
    this.log.failure ??= new StoreError(
      'LOG_UNAVAILABLE',
      `log ${this.log.dir} disabled: ${typed.message}`,
    );
    return typed;
  }

  /**
   * Seals the active segment now, if it holds anything, once the rounds in flight have settled.
   * Compaction asks for this when the active segment holds events it must remove (erased or
   * past retention): only sealed segments are ever rewritten.
   */
  async rollNow(): Promise<void> {
    while (this.barrier !== null) await this.barrier;
    let release = (): void => {};
    const barrier = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.barrier = barrier;
    try {
      await this.tail;
      const active = this.log.active;
      if (this.log.failure !== null || active.count === 0) return;
      // Rounds prepared but not yet written take positions after the committed ones, so the
      // new segment's base is below all of them.
      await this.roll(active.lastPosition + 1);
    } finally {
      if (this.barrier === barrier) this.barrier = null;
      release();
    }
  }

  /** Cuts the zeros written ahead of the active segment (at close, with nothing in flight). */
  trimTail(): Promise<void> {
    return this.prealloc.trim(this.log.active.logBytes);
  }

  /** Settles when every seal started so far has finished. */
  get sealed(): Promise<void> {
    return this.sealing;
  }

  /**
   * The checkpoint holds the totals of one moment and the position they cover, so rounds that
   * commit while it is written are never counted twice; appends go on meanwhile.
   */
  private async writeCheckpoint(): Promise<void> {
    this.checkpointed = await writeCheckpointFile(this.config.io, this.log.dir, this.log.totals);
  }

  /**
   * A checkpoint encodes every entity of the log: 420-870 ms of CPU for 1.4M entities
   * (measured), which a log of one-event entities paid at every seal. A seal writes one only
   * once at least as many events as the log has entities have come since the last, so its cost
   * per event stays bounded; an open reads the records after it, about as many.
   */
  private checkpointIfDue(): Promise<void> {
    const since = this.log.totals.coveredPosition - this.checkpointed;
    return since >= this.log.totals.entities.size ? this.writeCheckpoint() : Promise.resolve();
  }

  /**
   * Writes a checkpoint once the seals started so far have finished, unless one already covers
   * the log (compaction asks for this before it rewrites segments: an open must never count
   * the totals again from rewritten segments, which lack removed events). Rejects if the write
   * fails; later seals go on regardless.
   */
  checkpointNow(): Promise<void> {
    const written = this.sealing.then(() =>
      this.checkpointed < this.log.totals.coveredPosition ? this.writeCheckpoint() : undefined,
    );
    this.sealing = written.catch(() => {});
    return written;
  }

  private async fdatasync(fd: number): Promise<void> {
    const started = performance.now();
    await this.config.io.fdatasync(fd);
    const ms = performance.now() - started;
    this.log.counters.fsyncs++;
    this.log.counters.fsyncMicrosTotal += Math.round(ms * 1000);
    this.config.observeFsync?.(ms / 1000);
  }

  /** fsyncs the active segment if bytes were written since the last sync. */
  async sync(): Promise<void> {
    await this.rollSync;
    if (!this.unsynced) return;
    this.unsynced = false;
    await this.fdatasync(this.log.active.fd);
  }
}
