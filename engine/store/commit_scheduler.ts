// Group commit across every log of a store. Each event-loop turn takes what every touched log
// has queued and starts one round for each. A log may have PIPELINE_DEPTH rounds in flight (the
// next is written while the previous waits for its fsync); a log at that depth keeps its queue
// growing, which is what makes its next group large.
import { limits } from '../limits.js';
import type { Log } from '../log/log.js';

const PIPELINE_DEPTH = limits.pipelineDepth;

export interface CommitScheduler {
  /** A log has appends queued: start a round for it soon. */
  touch(log: Log): void;
  /** True when nothing is queued, scheduled or in flight. */
  readonly idle: boolean;
  /** Resolves when the rounds in flight now have settled (or after one turn if none are). */
  drain(): Promise<void>;
  /** Event-loop turns that started at least one round. */
  readonly rounds: number;
}

export function createCommitScheduler(): CommitScheduler {
  const dirty = new Set<Log>();
  const inFlight = new Set<Promise<void>>();
  let scheduled = false;
  let rounds = 0;

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    setImmediate(startRounds);
  }

  function startRounds(): void {
    scheduled = false;
    let started = false;
    for (const log of dirty) {
      if (log.roundsInFlight >= PIPELINE_DEPTH) continue;
      dirty.delete(log);
      const round = log.takeRound();
      // A round takes at most limits.roundBytesMax; what it left waits for the next one.
      if (log.queue.length > 0) dirty.add(log);
      if (round === null) continue;
      started = true;
      const done: Promise<void> = log.writeRound(round).finally(() => {
        inFlight.delete(done);
        if (dirty.size > 0) schedule();
      });
      inFlight.add(done);
    }
    if (started) rounds++;
  }

  return {
    touch(log) {
      dirty.add(log);
      schedule();
    },
    get idle() {
      return dirty.size === 0 && inFlight.size === 0 && !scheduled;
    },
    async drain() {
      if (inFlight.size > 0) await Promise.allSettled(inFlight);
      else await new Promise((resolve) => setImmediate(resolve));
    },
    get rounds() {
      return rounds;
    },
  };
}
