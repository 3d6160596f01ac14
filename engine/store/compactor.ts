// Compaction across a store: passes over every tenant's logs, one pass at a time, on a timer and
// on demand; retention policies (a store default, per-tenant overrides); and the figures the
// server reports. The work itself is in compaction/.
import {
  type CompactContext,
  type CompactionTotals,
  compactLog,
  createRewriter,
  emptyTotals,
} from '../compaction/compact.js';
import { KEEP_ALL, type RetentionPolicy } from '../compaction/plan.js';
import { StoreError } from '../errors.js';
import type { Log } from '../log/log.js';

export type { RetentionPolicy };

export interface CompactionRun extends CompactionTotals {
  durationMs: number;
}

export interface CompactionStats {
  runs: number;
  running: boolean;
  /** Microseconds since the epoch; 0 before the first pass. */
  lastRunAtUs: number;
  lastDurationMs: number;
  lastError: string | null;
  /** Sums over every pass since the store opened. */
  totals: CompactionTotals;
  intervalMs: number;
  retention: RetentionPolicy;
}

export interface CompactorOptions {
  logs(): [string, { events: Log; snapshots: Log }][];
  context: Omit<CompactContext, 'rewriter'>;
  retention: RetentionPolicy;
  intervalMs: number;
  onPass?: ((run: CompactionRun, startedAtMs: number) => void) | undefined;
}

export interface Compactor {
  run(): Promise<CompactionRun>;
  stats(): CompactionStats;
  setRetention(tenantId: string, policy: RetentionPolicy | null): void;
  retentionOf(tenantId: string): RetentionPolicy;
  close(): Promise<void>;
}

export function checkRetention(policy: RetentionPolicy): RetentionPolicy {
  for (const [key, value] of Object.entries(policy)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new StoreError(
        'VALIDATION_ERROR',
        `retention ${key} must be a whole number >= 0 (0 = unlimited)`,
        { field: key },
      );
    }
  }
  return { maxAgeMs: policy.maxAgeMs, maxBytes: policy.maxBytes };
}

export function createCompactor(options: CompactorOptions): Compactor {
  const rewriter = createRewriter();
  const ctx: CompactContext = { ...options.context, rewriter };
  const overrides = new Map<string, RetentionPolicy>();
  const stats: CompactionStats = {
    runs: 0,
    running: false,
    lastRunAtUs: 0,
    lastDurationMs: 0,
    lastError: null,
    totals: emptyTotals(),
    intervalMs: options.intervalMs,
    retention: options.retention,
  };
  let closed = false;
  let chain: Promise<unknown> = Promise.resolve();

  const retentionOf = (id: string) => overrides.get(id) ?? options.retention;

  async function pass(): Promise<CompactionRun> {
    const started = performance.now();
    const startedAtMs = Date.now();
    const run: CompactionRun = { ...emptyTotals(), durationMs: 0 };
    stats.running = true;
    try {
      const nowUs = Date.now() * 1000;
      for (const [id, tenant] of options.logs()) {
        if (closed) break;
        // Snapshots are kept whatever the events' retention; erasure still applies to them.
        for (const [log, policy] of [
          [tenant.events, retentionOf(id)],
          [tenant.snapshots, KEEP_ALL],
        ] as const) {
          const done = await compactLog(log, policy, nowUs, ctx);
          run.filesCompacted += done.filesCompacted;
          run.bytesBefore += done.bytesBefore;
          run.bytesAfter += done.bytesAfter;
          run.eventsCompacted += done.eventsCompacted;
        }
      }
      stats.lastError = null;
    } catch (error) {
      stats.lastError = error instanceof Error ? error.message : String(error);
      throw error;
    } finally {
      run.durationMs = Math.round(performance.now() - started);
      stats.running = false;
      stats.runs++;
      stats.lastRunAtUs = Date.now() * 1000;
      stats.lastDurationMs = run.durationMs;
      for (const key of Object.keys(stats.totals) as (keyof CompactionTotals)[]) {
        stats.totals[key] += run[key];
      }
      options.onPass?.(run, startedAtMs);
    }
    return run;
  }

  function run(): Promise<CompactionRun> {
    const next = chain.then(pass, pass);
    chain = next.catch(() => {});
    return next;
  }

  const timer =
    options.intervalMs > 0
      ? setInterval(() => {
          if (stats.running) return;
          run().catch((error: unknown) =>
            ctx.logger.warn('scheduled compaction failed', { cause: String(error) }),
          );
        }, options.intervalMs)
      : null;
  timer?.unref();

  return {
    run,
    stats: () => ({ ...stats, totals: { ...stats.totals } }),
    setRetention(id, policy) {
      if (policy === null) overrides.delete(id);
      else overrides.set(id, checkRetention(policy));
    },
    retentionOf,
    async close() {
      closed = true;
      if (timer !== null) clearInterval(timer);
      // Stops a rewrite under way (its temporary files are removed), then lets the pass end.
      await rewriter.close();
      await chain;
    },
  };
}
