// The counters behind GET /metrics, in Prometheus text format with the allsource_ names of the
// API reference. Counting is a field increment on the hot path.
import type { Store } from '../engine/index.js';

export interface ServerMetrics {
  ingested(n: number): void;
  query(kind: string): void;
  websocket(delta: number): void;
  rateLimited(): void;
  render(store: Store, transport: string): string;
}

export function createMetrics(): ServerMetrics {
  let eventsIngested = 0;
  let wsConnections = 0;
  let rateLimited = 0;
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
    render(store, transport) {
      const c = store.counters();
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
        '# HELP allsource_fsync_duration_seconds_sum Seconds spent in fdatasync.',
        '# TYPE allsource_fsync_duration_seconds_sum counter',
        `allsource_fsync_duration_seconds_sum ${c.fsyncMicrosTotal / 1e6}`,
        '# HELP allsource_transport_info The HTTP transport in use.',
        '# TYPE allsource_transport_info gauge',
        `allsource_transport_info{transport="${transport}"} 1`,
      ];
      return `${lines.join('\n')}\n`;
    },
  };
}
