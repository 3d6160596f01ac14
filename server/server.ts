// startServer: the store, the uWebSockets.js app, its routes, and graceful shutdown.
import { type EventView, openStore, type Store } from '../engine/index.js';
import type { ServerConfig } from './config.js';
import { HttpError } from './errors.js';
import { entityRoutes } from './http/entities.js';
import { eventRoutes } from './http/events.js';
import { send, sendError } from './http/reply.js';
import { type Handler, type RequestPath, route } from './http/request.js';
import { createMetrics } from './metrics.js';
import { loadTransport, type Transport } from './uws.js';
import { registerStream } from './ws/stream.js';

export const SERVICE_VERSION = '0.1.0';

export interface RunningServer {
  readonly port: number;
  readonly transport: Transport;
  readonly store: Store;
  /** Stops accepting, lets in-flight requests finish, syncs and closes the store. */
  close(): Promise<void>;
}

/** The routes, as (method, pattern): used for 405 answers on known paths. */
const ROUTES: [string, string, number][] = [
  ['post', '/api/v1/events', 0],
  ['post', '/api/v1/events/batch', 0],
  ['get', '/api/v1/events/query', 0],
  ['get', '/api/v1/events/:event_id', 1],
  ['get', '/api/v1/entities/:entity_id/state', 1],
  ['get', '/api/v1/entities/:entity_id/snapshot', 1],
  ['post', '/api/v1/snapshots', 0],
  ['get', '/api/v1/snapshots', 0],
  ['get', '/api/v1/snapshots/:entity_id/latest', 1],
  ['get', '/api/v1/stats', 0],
  ['get', '/health', 0],
  ['get', '/metrics', 0],
];

function patternMatches(pattern: string, url: string): boolean {
  const a = pattern.split('/');
  const b = url.split('/');
  return a.length === b.length && a.every((part, i) => part.startsWith(':') || part === b[i]);
}

export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const { uws, transport } = loadTransport(config.allowJsFallback);
  const store = await openStore({
    dataDir: config.dataDir,
    fsync: config.fsync,
    fsyncIntervalMs: config.fsyncIntervalMs,
    segmentBytesMax: config.segmentBytesMax,
    cacheBytes: config.cacheBytes,
    payloadBytesMax: config.payloadBytesMax,
    metadataBytesMax: config.metadataBytesMax,
    batchEventsMax: config.batchEventsMax,
  });
  const metrics = createMetrics();
  const started = Date.now();
  let shuttingDown = false;
  const path: RequestPath = {
    get shuttingDown() {
      return shuttingDown;
    },
    bodyBytesMax: config.bodyBytesMax,
    inFlight: 0,
    onResponse: () => {},
  };
  const input = { jsonDepthMax: config.jsonDepthMax, batchEventsMax: config.batchEventsMax };
  const events = eventRoutes(store, input, metrics);
  const entities = entityRoutes(store, { historyMax: 1000 }, metrics);
  const stats: Handler = (ex, _info, caller) => {
    const s = store.stats(caller.tenantId);
    send(
      ex,
      '200 OK',
      JSON.stringify({
        total_events: s.totalEvents,
        total_entities: s.totalEntities,
        total_event_types: s.totalEventTypes,
        total_ingested: s.totalIngested,
      }),
    );
  };
  const health: Handler = (ex) => {
    let total = 0;
    let bytes = 0;
    for (const t of store.tenantIds()) {
      const s = store.stats(t);
      total += s.totalEvents;
      bytes += s.storageBytes;
    }
    send(
      ex,
      '200 OK',
      JSON.stringify({
        status: 'healthy',
        service: 'allsource-core',
        version: SERVICE_VERSION,
        uptime_seconds: Math.floor((Date.now() - started) / 1000),
        transport,
        storage: {
          fsync: config.fsync,
          tenants: store.tenantIds().length,
          total_events: total,
          storage_bytes: bytes,
        },
      }),
    );
  };
  const metricsRoute: Handler = (ex) =>
    send(ex, '200 OK', metrics.render(store, transport), 'text/plain; version=0.0.4');

  const app = uws.App();
  app
    .post('/api/v1/events', route(path, { body: true }, events.append))
    .post('/api/v1/events/batch', route(path, { body: true }, events.batch))
    .get('/api/v1/events/query', route(path, {}, events.query))
    .get('/api/v1/events/:event_id', route(path, { params: 1 }, events.byId))
    .get('/api/v1/entities/:entity_id/state', route(path, { params: 1 }, entities.state))
    .get('/api/v1/entities/:entity_id/snapshot', route(path, { params: 1 }, entities.snapshot))
    .post('/api/v1/snapshots', route(path, { body: true }, entities.create))
    .get('/api/v1/snapshots', route(path, {}, entities.list))
    .get('/api/v1/snapshots/:entity_id/latest', route(path, { params: 1 }, entities.latest))
    .get('/api/v1/stats', route(path, {}, stats))
    .get('/health', route(path, {}, health))
    .get('/metrics', route(path, {}, metricsRoute));
  const stream = registerStream(
    app,
    store,
    { bufferedBytesMax: config.wsBufferedBytesMax, messageBytesMax: config.wsMessageBytesMax },
    metrics,
  );
  app.any('/*', (res, req) => {
    const url = req.getUrl();
    const method = req.getMethod();
    const known = ROUTES.some(([, pattern]) => patternMatches(pattern, url));
    const ex = { res, aborted: false, headers: [] as [string, string][] };
    res.onAborted(() => {
      ex.aborted = true;
    });
    if (known) {
      const allowed = ROUTES.filter(([, p]) => patternMatches(p, url)).map(([m]) =>
        m.toUpperCase(),
      );
      sendError(
        ex,
        new HttpError('METHOD_NOT_ALLOWED', `${method.toUpperCase()} is not allowed here`),
        [['allow', allowed.join(', ')]],
      );
    } else
      sendError(
        ex,
        new HttpError('ROUTE_NOT_FOUND', `no route for ${method.toUpperCase()} ${url}`),
      );
  });

  const listenSocket = await new Promise<unknown>((resolve, reject) => {
    app.listen(config.host, config.port, (socket) => {
      if (socket) resolve(socket);
      else reject(new Error(`could not listen on ${config.host}:${config.port}`));
    });
  }).catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
  const port = uws.us_socket_local_port(listenSocket as never);

  return {
    port,
    transport,
    store,
    async close() {
      if (shuttingDown) return;
      shuttingDown = true;
      uws.us_listen_socket_close(listenSocket as never);
      const deadline = Date.now() + config.shutdownGraceMs;
      while (path.inFlight > 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      stream.closeAll();
      await store.close();
    },
  };
}

export type { EventView };
