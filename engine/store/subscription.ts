// A subscription is a cursor over one log with a filter. The consumer pulls: stored events come
// first, then live ones as they commit, read from the same log by position, so the switch from
// catch-up to live can neither skip nor repeat an event. A slow consumer simply pulls later; the
// log is its buffer, and the engine holds nothing for it in memory.
import type { EventView } from '../format/event_view.js';
import { limits } from '../limits.js';
import type { Log } from '../log/log.js';
import type { ReadResult, SubscriptionFilter } from '../types.js';

export interface Pull {
  events: EventView[];
  /** True when the pull reached the committed end: every matching event so far is delivered. */
  caughtUp: boolean;
}

export interface Subscription {
  /** Every event up to this position has been delivered or did not match. */
  readonly position: number;
  /**
   * The next matching events after `position` (at most `max`), synchronously, up to the
   * committed end or `upTo`, whichever is lower. `caughtUp` means that bound was reached.
   */
  pull(max?: number, upTo?: number): Pull;
  /** Resolves when the log has an event after `position`, the filter was reset, or it closed. */
  wait(): Promise<void>;
  /** Replaces the filter; the cursor stays where it is unless a new position is given. */
  reset(filter: SubscriptionFilter, afterPosition?: number): void;
  close(): void;
  readonly closed: boolean;
  [Symbol.asyncIterator](): AsyncIterator<EventView[]>;
}

type Reader = (
  log: Log,
  query: SubscriptionFilter & { afterPosition: number; maxPosition: number; limit: number },
) => ReadResult<EventView>;

export function createSubscription(
  log: Log,
  read: Reader,
  filter: SubscriptionFilter,
  afterPosition: number,
): Subscription {
  let cursor = Math.max(0, afterPosition);
  let current: SubscriptionFilter = { ...filter };
  let closed = false;
  /** Resolves a pending wait() early: on close, and on reset (the new filter may match stored events). */
  let wakeWaiter: (() => void) | null = null;
  const subscription: Subscription = {
    get position() {
      return cursor;
    },
    get closed() {
      return closed || log.isClosed;
    },
    pull(max = limits.subscriptionBatchMax, upTo = Number.MAX_SAFE_INTEGER) {
      if (subscription.closed) return { events: [], caughtUp: true };
      // Reads are synchronous and commits happen between event-loop turns, so nothing can
      // commit between taking `end` and the read below.
      const end = Math.min(log.lastPosition, upTo);
      if (end <= cursor) return { events: [], caughtUp: true };
      const limit = Math.max(1, Math.min(max, limits.subscriptionBatchMax));
      const result = read(log, { ...current, afterPosition: cursor, maxPosition: end, limit });
      if (result.hasMore) {
        cursor = result.events[result.events.length - 1]!.position;
        return { events: result.events, caughtUp: false };
      }
      cursor = Math.max(cursor, end);
      return { events: result.events, caughtUp: true };
    },
    wait() {
      if (subscription.closed) return Promise.resolve();
      return new Promise<void>((resolve) => {
        wakeWaiter = resolve;
        void log.waitForPosition(cursor).then(resolve);
      });
    },
    reset(next, position) {
      current = { ...next };
      if (position !== undefined) cursor = Math.max(0, position);
      wakeWaiter?.();
      wakeWaiter = null;
    },
    close() {
      closed = true;
      wakeWaiter?.();
      wakeWaiter = null;
    },
    async *[Symbol.asyncIterator]() {
      while (!subscription.closed) {
        const { events } = subscription.pull();
        if (events.length > 0) yield events;
        else await subscription.wait();
      }
    },
  };
  return subscription;
}
