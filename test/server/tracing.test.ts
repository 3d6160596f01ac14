// OpenTelemetry: with tracing on, spans reach an OTLP receiver (a plain HTTP server here), as
// children of the caller's traceparent, with the tenant as an attribute; with it off, nothing
// is sent.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { it } from 'node:test';
import { adminHeaders, get, post, startServerProcess } from '../helpers/server.js';
import { tmpDir } from '../helpers/tmp.js';

interface OtlpSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: { key: string; value: Record<string, unknown> }[];
}

async function receiver(t: { after(fn: () => unknown): void }) {
  const bodies: { url: string; type: string; body: unknown }[] = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      text += chunk;
    });
    req.on('end', () => {
      bodies.push({
        url: req.url ?? '',
        type: req.headers['content-type'] ?? '',
        body: JSON.parse(text),
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  const spans = (): OtlpSpan[] =>
    bodies.flatMap((b) =>
      (
        b.body as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] }
      ).resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)),
    );
  return { port: (server.address() as AddressInfo).port, bodies, spans };
}

const attribute = (span: OtlpSpan, key: string) =>
  span.attributes.find((a) => a.key === key)?.value;

it('exports spans over OTLP with the caller as parent', async (t) => {
  const otlp = await receiver(t);
  const server = await startServerProcess(tmpDir(), {
    ALLSOURCE_TRACING_ENABLED: 'true',
    ALLSOURCE_TRACING_ENDPOINT: `http://127.0.0.1:${otlp.port}/v1/traces`,
  });
  t.after(() => server.kill());
  const traceId = '0af7651916cd43dd8448eb211c80319c';
  const parent = 'b7ad6b7169203331';
  const appended = await post(
    `${server.url}/api/v1/events/batch`,
    {
      events: [
        { event_type: 'a.b', entity_id: 'e', payload: {} },
        { event_type: 'a.b', entity_id: 'f', payload: {} },
      ],
    },
    { ...adminHeaders, traceparent: `00-${traceId}-${parent}-01` },
  );
  assert.equal(appended.status, 200);
  assert.equal((await get(`${server.url}/api/v1/events/query?entity_id=e`)).status, 200);
  assert.equal((await get(`${server.url}/health`)).status, 200);
  const compacted = await post(`${server.url}/api/v1/compaction/trigger`, undefined);
  assert.equal(compacted.status, 200);
  // A graceful stop flushes what is buffered.
  assert.equal(await server.stop(), 0);

  assert.ok(otlp.bodies.length > 0, 'the receiver got an export');
  assert.equal(otlp.bodies[0]!.url, '/v1/traces');
  assert.match(otlp.bodies[0]!.type, /application\/json/);
  const spans = otlp.spans();
  const ingest = spans.find((s) => s.name === 'ingest');
  assert.ok(ingest, `spans: ${spans.map((s) => s.name).join(', ')}`);
  assert.equal(ingest.traceId, traceId);
  assert.equal(ingest.parentSpanId, parent);
  assert.deepEqual(attribute(ingest, 'allsource.tenant'), { stringValue: 'default' });
  assert.equal(Number(attribute(ingest, 'allsource.events')?.intValue), 2);
  assert.equal(Number(attribute(ingest, 'http.response.status_code')?.intValue), 200);
  const query = spans.find((s) => s.name === 'query');
  assert.ok(query);
  assert.notEqual(query.traceId, traceId, 'a request without traceparent starts its own trace');
  assert.ok(!query.parentSpanId, 'and has no parent');
  assert.ok(
    !spans.some((s) => attribute(s, 'http.route')?.stringValue === '/health'),
    'health is not traced',
  );
  assert.ok(
    spans.some((s) => s.name === 'compaction'),
    'the trigger request has its span',
  );
  assert.ok(
    spans.some((s) => s.name === 'compaction.pass'),
    'and so has the pass itself',
  );
});

it('sends nothing when tracing is off', async (t) => {
  const otlp = await receiver(t);
  const server = await startServerProcess(tmpDir(), {
    ALLSOURCE_TRACING_ENDPOINT: `http://127.0.0.1:${otlp.port}/v1/traces`,
  });
  t.after(() => server.kill());
  await post(`${server.url}/api/v1/events`, { event_type: 'a.b', entity_id: 'e', payload: {} });
  await server.stop();
  assert.equal(otlp.bodies.length, 0);
});

it('pushes metrics over OTLP beside /metrics when an endpoint is set', async (t) => {
  const otlp = await receiver(t);
  const server = await startServerProcess(tmpDir(), {
    ALLSOURCE_METRICS_OTLP_ENDPOINT: `http://127.0.0.1:${otlp.port}/v1/metrics`,
    ALLSOURCE_METRICS_OTLP_INTERVAL_SEC: '3600',
  });
  t.after(() => server.kill());
  for (let i = 0; i < 3; i++) {
    await post(`${server.url}/api/v1/events`, { event_type: 'a.b', entity_id: 'e', payload: {} });
  }
  // Shutdown sends the last export.
  assert.equal(await server.stop(), 0);
  const exports = otlp.bodies.filter((b) => b.url === '/v1/metrics');
  assert.ok(exports.length > 0, 'the receiver got a metrics export');
  const metrics = exports.flatMap((b) =>
    (
      b.body as {
        resourceMetrics: {
          scopeMetrics: {
            metrics: {
              name: string;
              sum?: { dataPoints: { asInt?: unknown; asDouble?: unknown }[] };
            }[];
          }[];
        }[];
      }
    ).resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics)),
  );
  const ingested = metrics.find((m) => m.name === 'allsource.events.ingested');
  assert.ok(ingested, `metrics: ${metrics.map((m) => m.name).join(', ')}`);
  const point = ingested.sum!.dataPoints[0]!;
  assert.equal(Number(point.asInt ?? point.asDouble), 3);
  assert.ok(metrics.some((m) => m.name === 'allsource.storage.size'));
});
