// GET /metrics through prom-client, with the allsource_ names of the API reference. The hot path
// never builds a label string: each route's children (a duration histogram, a counter per
// status) are looked up once and kept, so a request costs two map hits and the client's own
// increments (BENCHMARKS.md measures it). Store figures are read when Prometheus scrapes.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Store } from '../engine/index.js';
import type { BackupCounters } from './backups.js';

/** Request and append latencies, in seconds. */
export const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];
/** fdatasync latencies, in seconds: from a fast NVMe flush to a stalled disk. */
export const FSYNC_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1];

export interface ServerMetrics {
  ingested(n: number): void;
  query(kind: string): void;
  websocket(delta: number): void;
  rateLimited(): void;
  /** One finished HTTP request: its route pattern, status code and duration. */
  request(route: string, status: number, seconds: number): void;
  /** One append (single or batch) from body to acknowledgement. */
  ingestion(seconds: number): void;
  /** One fdatasync of the write path (the store calls it). */
  fsync(seconds: number): void;
  /** What to read at scrape time. */
  attach(store: Store, transport: string, backups: BackupCounters): void;
  render(): Promise<string>;
  readonly contentType: string;
  /** Plain running totals, for the OTLP export. */
  totals(): { eventsIngested: number; requests: number; rateLimited: number; websockets: number };
}

interface RouteChildren {
  duration: { observe(v: number): void };
  byStatus: Map<number, { inc(): void }>;
}

export function createMetrics(): ServerMetrics {
  const registry = new Registry();
  let source: { store: Store; transport: string; backups: BackupCounters } | null = null;
  const gauge = (name: string, help: string, read: (g: Gauge) => void) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        if (source !== null) read(this);
      },
    });

  const events = new Counter({
    name: 'allsource_events_ingested_total',
    help: 'Events written (duplicates not counted).',
    registers: [registry],
  });
  const queries = new Counter({
    name: 'allsource_queries_total',
    help: 'Read requests by kind.',
    labelNames: ['query_type'],
    registers: [registry],
  });
  const sockets = new Gauge({
    name: 'allsource_websocket_connections',
    help: 'Open WebSocket connections.',
    registers: [registry],
  });
  const limited = new Counter({
    name: 'allsource_rate_limited_total',
    help: 'Requests answered 429 RATE_LIMITED.',
    registers: [registry],
  });
  const requests = new Counter({
    name: 'allsource_http_requests_total',
    help: 'HTTP requests by route and status.',
    labelNames: ['route', 'status'],
    registers: [registry],
  });
  const durations = new Histogram({
    name: 'allsource_http_request_duration_seconds',
    help: 'HTTP request time, from route to response.',
    labelNames: ['route'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const ingestion = new Histogram({
    name: 'allsource_ingestion_duration_seconds',
    help: 'Time from a parsed append to its acknowledgement.',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const fsyncs = new Histogram({
    name: 'allsource_fsync_duration_seconds',
    help: 'fdatasync calls on the write path and their time.',
    buckets: FSYNC_BUCKETS,
    registers: [registry],
  });
  gauge('allsource_storage_size_bytes', 'Bytes in event segments.', (g) => {
    let bytes = 0;
    for (const tenant of source!.store.tenantIds())
      bytes += source!.store.stats(tenant).storageBytes;
    g.set(bytes);
  });
  // Counters kept by the store or the backup routes, copied in at scrape time.
  const copied = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        if (source === null) return;
        this.reset();
        this.inc(read());
      },
    });
  copied(
    'allsource_compaction_runs_total',
    'Compaction passes finished.',
    () => source!.store.compactionStats().runs,
  );
  copied(
    'allsource_compaction_events_removed_total',
    'Events removed by erasure and retention.',
    () => source!.store.compactionStats().totals.eventsCompacted,
  );
  copied('allsource_compaction_bytes_reclaimed_total', 'Segment bytes freed by compaction.', () => {
    const t = source!.store.compactionStats().totals;
    return t.bytesBefore - t.bytesAfter;
  });
  copied(
    'allsource_entity_run_reads_total',
    'Reads by entity served (in part) from entity runs kept in the read cache.',
    () => source!.store.counters().entityRunReads,
  );
  new Counter({
    name: 'allsource_backups_total',
    help: 'Backups by result.',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      if (source === null) return;
      this.reset();
      this.inc({ result: 'ok' }, source.backups.completed);
      this.inc({ result: 'failed' }, source.backups.failed);
    },
  });
  gauge(
    'allsource_backup_last_success_timestamp_seconds',
    'Unix time of the last good backup (0: none).',
    (g) => g.set(source!.backups.lastSuccessUnixSec),
  );
  new Gauge({
    name: 'allsource_transport_info',
    help: 'The HTTP transport in use.',
    labelNames: ['transport'],
    registers: [registry],
    collect() {
      if (source !== null) this.set({ transport: source.transport }, 1);
    },
  });

  const plain = { eventsIngested: 0, requests: 0, rateLimited: 0, websockets: 0 };
  const routes = new Map<string, RouteChildren>();
  const queryKinds = new Map<string, { inc(): void }>();
  return {
    ingested(n) {
      plain.eventsIngested += n;
      if (n > 0) events.inc(n);
    },
    query(kind) {
      let child = queryKinds.get(kind);
      if (child === undefined) {
        child = queries.labels(kind);
        queryKinds.set(kind, child);
      }
      child.inc();
    },
    websocket(delta) {
      plain.websockets += delta;
      sockets.inc(delta);
    },
    rateLimited() {
      plain.rateLimited++;
      limited.inc();
    },
    request(route, status, seconds) {
      plain.requests++;
      let children = routes.get(route);
      if (children === undefined) {
        children = { duration: durations.labels(route), byStatus: new Map() };
        routes.set(route, children);
      }
      let counter = children.byStatus.get(status);
      if (counter === undefined) {
        counter = requests.labels(route, String(status));
        children.byStatus.set(status, counter);
      }
      counter.inc();
      children.duration.observe(seconds);
    },
    ingestion(seconds) {
      ingestion.observe(seconds);
    },
    fsync(seconds) {
      fsyncs.observe(seconds);
    },
    attach(store, transport, backups) {
      source = { store, transport, backups };
    },
    render: () => registry.metrics(),
    totals: () => ({ ...plain }),
    contentType: registry.contentType,
  };
}
