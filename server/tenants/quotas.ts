// Quotas, enforced inline: events per day (a sliding 24 hours read from the log), queries per
// hour (a rolling window kept here), storage bytes, API keys. (Projections and pipelines are
// recorded with the tenant; there is nothing to count until those features exist.)
import type { Store } from '../../engine/index.js';
import { quotaExceeded, type Registry } from './registry.js';

const DAY_MS = 86_400_000;

export interface QuotaChecks {
  /** Before an append of `n` events; throws QUOTA_EXCEEDED. */
  beforeAppend(tenantId: string, n: number): void;
  appended(tenantId: string, n: number): void;
  /** Counts one query, or throws QUOTA_EXCEEDED. */
  query(tenantId: string): void;
  /** Before creating an API key, given how many the tenant has. */
  beforeApiKey(tenantId: string, existing: number): void;
}

export function createQuotaChecks(registry: Registry, store: Store): QuotaChecks {
  return {
    beforeAppend(tenantId, n) {
      const entry = registry.get(tenantId);
      if (entry === undefined) return;
      const q = entry.record.quotas;
      const now = Date.now();
      if (q.max_events_per_day > 0) {
        // Counted from the log itself (exact across restarts and kill -9), at most once a second.
        if (now - entry.dayReadMs >= 1000) {
          const day = store.countSince(tenantId, (now - DAY_MS) * 1000);
          entry.dayCount = day.count;
          entry.dayOldestUs = day.oldestUs;
          entry.dayReadMs = now;
        }
        if (entry.dayCount + n > q.max_events_per_day) {
          const retry = Math.max(1, Math.ceil((entry.dayOldestUs / 1000 + DAY_MS - now) / 1000));
          throw quotaExceeded('max_events_per_day', retry);
        }
      }
      if (q.max_storage_bytes > 0) {
        // Read at most once a second: the quota may overshoot by a second of writes.
        if (now - entry.storageReadMs >= 1000) {
          entry.storageBytes = store.stats(tenantId).storageBytes;
          entry.storageReadMs = now;
        }
        if (entry.storageBytes >= q.max_storage_bytes) throw quotaExceeded('max_storage_bytes');
      }
    },
    appended(tenantId, n) {
      const entry = registry.get(tenantId);
      if (entry !== undefined) entry.dayCount += n;
    },
    query(tenantId) {
      const entry = registry.get(tenantId);
      if (entry === undefined) return;
      const now = Date.now();
      const max = entry.record.quotas.max_queries_per_hour;
      if (max > 0 && entry.queries.count(now) >= max) {
        throw quotaExceeded('max_queries_per_hour', entry.queries.retryAfterSec(now));
      }
      entry.queries.add(1, now);
    },
    beforeApiKey(tenantId, existing) {
      const max = registry.get(tenantId)?.record.quotas.max_api_keys ?? 0;
      if (max > 0 && existing >= max) throw quotaExceeded('max_api_keys');
    },
  };
}
