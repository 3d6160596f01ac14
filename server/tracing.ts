// OpenTelemetry tracing, off by default. When on, traced routes (ingest, query, erasure, backup,
// compaction) and WebSocket subscriptions get a server span, child of the request's W3C
// `traceparent` when it has one, with the tenant and sizes as attributes, exported in batches
// over OTLP/HTTP (JSON; Jaeger and collectors take it) or to Zipkin. When off, the request
// path checks one null and does nothing else.
import {
  type Attributes,
  defaultTextMapGetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { SERVICE_VERSION } from './version.js';

export interface TracingConfig {
  tracingEnabled: boolean;
  tracingExporter: 'otlp' | 'zipkin';
  tracingEndpoint: string;
  tracingSamplePercent: number;
  tracingServiceName: string;
}

export interface Tracing {
  /** A server span for a request; `traceparent` is its header ('' when absent). */
  startServer(name: string, traceparent: string, attributes: Attributes): Span;
  /** A finished piece of background work (a compaction pass), as a span of its own. */
  record(name: string, startedAtMs: number, attributes: Attributes): void;
  /** Ends a request span with its status code. */
  finish(span: Span, status: number): void;
  /** Sends what is buffered and stops. */
  shutdown(): Promise<void>;
}

/** The tracing of the config, or null when it is off (the request path then skips it all). */
export function createTracing(config: TracingConfig): Tracing | null {
  if (!config.tracingEnabled) return null;
  const exporter =
    config.tracingExporter === 'zipkin'
      ? new ZipkinExporter({ url: config.tracingEndpoint, serviceName: config.tracingServiceName })
      : new OTLPTraceExporter({ url: config.tracingEndpoint });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      'service.name': config.tracingServiceName,
      'service.version': SERVICE_VERSION,
    }),
    // A caller's sampling decision stands; new traces are sampled at the configured ratio.
    sampler: new ParentBasedSampler({
      root: new TraceIdRatioBasedSampler(config.tracingSamplePercent / 100),
    }),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: 1000 })],
  });
  const tracer = provider.getTracer('allsource', SERVICE_VERSION);
  const propagator = new W3CTraceContextPropagator();
  return {
    startServer(name, traceparent, attributes) {
      const parent =
        traceparent === ''
          ? ROOT_CONTEXT
          : propagator.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter);
      return tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
    },
    record(name, startedAtMs, attributes) {
      tracer
        .startSpan(
          name,
          { kind: SpanKind.INTERNAL, attributes, startTime: startedAtMs },
          ROOT_CONTEXT,
        )
        .end();
    },
    finish(span, status) {
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    },
    shutdown: () => provider.shutdown(),
  };
}
