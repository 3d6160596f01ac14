// /api/v1/compaction: run a pass now, read the figures. A pass covers every tenant; both routes
// need Admin (role admin only). Retention per tenant is set on the tenant
// (PUT /api/v1/tenants/:id/retention); erasure on the entity (DELETE /api/v1/entities/:id).
import type { CompactionStats, Store } from '../engine/index.js';
import { send } from './http/reply.js';
import type { Handler } from './http/request.js';

function statsJson(s: CompactionStats) {
  return {
    runs: s.runs,
    running: s.running,
    last_run_at: s.lastRunAtUs === 0 ? null : new Date(s.lastRunAtUs / 1000).toISOString(),
    last_duration_ms: s.lastDurationMs,
    last_error: s.lastError,
    files_compacted_total: s.totals.filesCompacted,
    bytes_before_total: s.totals.bytesBefore,
    bytes_after_total: s.totals.bytesAfter,
    events_compacted_total: s.totals.eventsCompacted,
    interval_sec: s.intervalMs / 1000,
    retention: {
      max_age_days: s.retention.maxAgeMs / (24 * 3600 * 1000),
      max_bytes: s.retention.maxBytes,
    },
  };
}

export function compactionRoutes(store: Store) {
  const trigger: Handler = async (ex) => {
    const run = await store.compact();
    ex.span?.setAttributes({
      'allsource.compaction.files': run.filesCompacted,
      'allsource.compaction.bytes_before': run.bytesBefore,
      'allsource.compaction.bytes_after': run.bytesAfter,
      'allsource.events': run.eventsCompacted,
    });
    send(
      ex,
      '200 OK',
      JSON.stringify({
        files_compacted: run.filesCompacted,
        bytes_before: run.bytesBefore,
        bytes_after: run.bytesAfter,
        events_compacted: run.eventsCompacted,
        duration_ms: run.durationMs,
      }),
    );
  };
  const stats: Handler = (ex) =>
    send(ex, '200 OK', JSON.stringify(statsJson(store.compactionStats())));
  return { trigger, stats };
}
