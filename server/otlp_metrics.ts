// Metrics pushed over OTLP/HTTP (JSON) beside /metrics, for deployments that collect with an
// OpenTelemetry Collector instead of scraping. Off unless [metrics] otlp_endpoint is set. The
// instruments are observable: they read the same figures as /metrics when an export is due,
// so nothing is added to the request path.
import type { ObservableResult } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import type { Store } from '../engine/index.js';
import type { ServerMetrics } from './metrics.js';
import { SERVICE_VERSION } from './version.js';

export interface OtlpMetricsConfig {
  metricsOtlpEndpoint: string;
  metricsOtlpIntervalSec: number;
  tracingServiceName: string;
}

export interface OtlpMetrics {
  /** Sends a last export and stops. */
  shutdown(): Promise<void>;
}

export function startOtlpMetrics(
  config: OtlpMetricsConfig,
  store: Store,
  metrics: ServerMetrics,
): OtlpMetrics | null {
  if (config.metricsOtlpEndpoint === '') return null;
  const reader = new PeriodicExportingMetricReader({
    exporter: new OTLPMetricExporter({ url: config.metricsOtlpEndpoint }),
    exportIntervalMillis: config.metricsOtlpIntervalSec * 1000,
  });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({
      'service.name': config.tracingServiceName,
      'service.version': SERVICE_VERSION,
    }),
    readers: [reader],
  });
  const meter = provider.getMeter('allsource', SERVICE_VERSION);
  const counter = (name: string, description: string, read: () => number) =>
    meter
      .createObservableCounter(name, { description })
      .addCallback((r: ObservableResult) => r.observe(read()));
  const gauge = (name: string, description: string, unit: string, read: () => number) =>
    meter
      .createObservableGauge(name, { description, unit })
      .addCallback((r: ObservableResult) => r.observe(read()));
  counter(
    'allsource.events.ingested',
    'Events written (duplicates not counted).',
    () => metrics.totals().eventsIngested,
  );
  counter('allsource.http.requests', 'HTTP requests answered.', () => metrics.totals().requests);
  counter(
    'allsource.rate_limited',
    'Requests answered 429 RATE_LIMITED.',
    () => metrics.totals().rateLimited,
  );
  counter('allsource.fsyncs', 'fdatasync calls on the write path.', () => store.counters().fsyncs);
  gauge(
    'allsource.websocket.connections',
    'Open WebSocket connections.',
    '{connection}',
    () => metrics.totals().websockets,
  );
  gauge('allsource.storage.size', 'Bytes in event segments.', 'By', () => {
    let bytes = 0;
    for (const tenant of store.tenantIds()) bytes += store.stats(tenant).storageBytes;
    return bytes;
  });
  return { shutdown: () => provider.shutdown() };
}
