// The counters behind GET /metrics, in Prometheus text format with the allsource_ names of the
// API reference. Counting is a field increment on the hot path.

import type { Store } from '../engine/index.js';
import type { BackupCounters } from './backups.js';
import { Histogram } from './histogram.js';

export interface ServerMetrics {
  ingested(n: number): void;
  query(kind: string): void;
  websocket(delta: number): void;
  rateLimited(): void;
  /** One finished HTTP request: its route pattern, status code and duration. */
  request(route: string, status: number, seconds: number): void;
  /** One append (single or batch) from body to acknowledgement. */
  ingestion(seconds: number): void;
  render(store: Store, transport: string, backups?: BackupCounters): string;
}

export function createMetrics(): ServerMetrics {
  let eventsIngested = 0;
  let wsConnections = 0;
  let rateLimited = 0;
  /** route -> status -> count: no label string is built per request. */
  const requests = new Map<string, Map<number, number>>();
  const durations = new Map<string, Histogram>();
  const ingestion = new Histogram();
  const queries = new Map<string, number>();
  return {
    ingested(n) {
      eventsIngested += n;
    },
    query(kind) {
      queries.set(kind, (queries.get(kind) ?? 0) + 1);
    },
    websocket(delta) {
      wsConnections += delta;
    },
    rateLimited() {
      rateLimited++;
    },
    request(route, status, seconds) {
      let byStatus = requests.get(route);
      if (byStatus === undefined) {
        byStatus = new Map();
        requests.set(route, byStatus);
      }
      byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
      let h = durations.get(route);
      if (h === undefined) {
        h = new Histogram();
        durations.set(route, h);
      }
      h.observe(seconds);
    },
    ingestion(seconds) {
      ingestion.observe(seconds);
    },
    render(store, transport, backups) {
      const c = store.counters();
      const k = store.compactionStats();
      let storage = 0;
      for (const tenant of store.tenantIds()) storage += store.stats(tenant).storageBytes;
      const lines = [
        '# HELP allsource_events_ingested_total Events written (duplicates not counted).',
        '# TYPE allsource_events_ingested_total counter',
        `allsource_events_ingested_total ${eventsIngested}`,
        '# HELP allsource_queries_total Read requests by kind.',
        '# TYPE allsource_queries_total counter',
        ...[...queries].map(([k, n]) => `allsource_queries_total{query_type="${k}"} ${n}`),
        '# HELP allsource_websocket_connections Open WebSocket connections.',
        '# TYPE allsource_websocket_connections gauge',
        `allsource_websocket_connections ${wsConnections}`,
        '# HELP allsource_rate_limited_total Requests answered 429 RATE_LIMITED.',
        '# TYPE allsource_rate_limited_total counter',
        `allsource_rate_limited_total ${rateLimited}`,
        '# HELP allsource_storage_size_bytes Bytes in event segments.',
        '# TYPE allsource_storage_size_bytes gauge',
        `allsource_storage_size_bytes ${storage}`,
        '# HELP allsource_fsync_total fdatasync calls on the write path.',
        '# TYPE allsource_fsync_total counter',
        `allsource_fsync_total ${c.fsyncs}`,
        '# HELP allsource_fsync_duration_seconds_total Seconds spent in fdatasync.',
        '# TYPE allsource_fsync_duration_seconds_total counter',
        `allsource_fsync_duration_seconds_total ${c.fsyncMicrosTotal / 1e6}`,
        '# HELP allsource_http_requests_total HTTP requests by route and status.',
        '# TYPE allsource_http_requests_total counter',
        ...[...requests].flatMap(([route, byStatus]) =>
          [...byStatus].map(
            ([status, n]) =>
              `allsource_http_requests_total{route="${route}",status="${status}"} ${n}`,
          ),
        ),
        '# HELP allsource_http_request_duration_seconds HTTP request time, from route to response.',
        '# TYPE allsource_http_request_duration_seconds histogram',
        ...[...durations].flatMap(([route, h]) =>
          h.render('allsource_http_request_duration_seconds', `route="${route}"`),
        ),
        '# HELP allsource_ingestion_duration_seconds Time from a parsed append to its acknowledgement.',
        '# TYPE allsource_ingestion_duration_seconds histogram',
        ...ingestion.render('allsource_ingestion_duration_seconds'),
        '# HELP allsource_compaction_runs_total Compaction passes finished.',
        '# TYPE allsource_compaction_runs_total counter',
        `allsource_compaction_runs_total ${k.runs}`,
        '# HELP allsource_compaction_events_removed_total Events removed by erasure and retention.',
        '# TYPE allsource_compaction_events_removed_total counter',
        `allsource_compaction_events_removed_total ${k.totals.eventsCompacted}`,
        '# HELP allsource_compaction_bytes_reclaimed_total Segment bytes freed by compaction.',
        '# TYPE allsource_compaction_bytes_reclaimed_total counter',
        `allsource_compaction_bytes_reclaimed_total ${k.totals.bytesBefore - k.totals.bytesAfter}`,
        ...(backups === undefined
          ? []
          : [
              '# HELP allsource_backups_total Backups by result.',
              '# TYPE allsource_backups_total counter',
              `allsource_backups_total{result="ok"} ${backups.completed}`,
              `allsource_backups_total{result="failed"} ${backups.failed}`,
              '# HELP allsource_backup_last_success_timestamp_seconds Unix time of the last good backup (0: none).',
              '# TYPE allsource_backup_last_success_timestamp_seconds gauge',
              `allsource_backup_last_success_timestamp_seconds ${backups.lastSuccessUnixSec}`,
            ]),
        '# HELP allsource_transport_info The HTTP transport in use.',
        '# TYPE allsource_transport_info gauge',
        `allsource_transport_info{transport="${transport}"} 1`,
      ];
      return `${lines.join('\n')}\n`;
    },
  };
}
