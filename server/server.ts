// startServer: the store, the uWebSockets.js app, its routes, and graceful shutdown.
import { openStore, type Store } from '../engine/index.js';
import { openAccounts } from './auth/accounts.js';
import type { Caller } from './auth/authenticate.js';
import { createAuthenticator } from './auth/authenticate.js';
import { createBackoff } from './auth/backoff.js';
import { bootstrap } from './auth/bootstrap.js';
import { Permission, rolePermissions } from './auth/roles.js';
import { authRoutes } from './auth/routes.js';
import { createTokens, loadSecret } from './auth/tokens.js';
import { backupRoutes } from './backups.js';
import { compactionRoutes } from './compaction.js';
import type { ServerConfig } from './config.js';
import { docsRoutes } from './docs_ui.js';
import { HttpError } from './errors.js';
import { entityRoutes } from './http/entities.js';
import { eventRoutes } from './http/events.js';
import { send, sendError } from './http/reply.js';
import { type Handler, type RequestPath, type RouteOptions, route } from './http/request.js';
import { createLogger, createRequestIds, engineLogger, type ServerLogger } from './log.js';
import { createMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { startOtlpMetrics } from './otlp_metrics.js';
import { createQuotaChecks } from './tenants/quotas.js';
import { openRegistry, pushRateHeaders, retentionPolicy, takeToken } from './tenants/registry.js';
import { tenantRoutes } from './tenants/routes.js';
import { createTracing } from './tracing.js';
import { loadTransport, type Transport } from './uws.js';
import { SERVICE_VERSION } from './version.js';
import { registerStream } from './ws/stream.js';

type Method = 'get' | 'post' | 'put' | 'del';

/** Every caller when authentication is off (a development setting; the start says so). */
const UNAUTHENTICATED_ADMIN: Caller = {
  tenantId: 'default',
  tenantJson: 'default',
  role: 'admin',
  permissions: rolePermissions.admin,
  userId: null,
  keyId: null,
};

export interface RunningServer {
  /** Where a generated bootstrap admin password was written (first start only). */
  readonly bootstrapPasswordFile: string | null;
  readonly adminCreated: boolean;
  readonly port: number;
  readonly transport: Transport;
  /** Every HTTP route with the permission it needs (null: public). */
  readonly routes: readonly { method: string; pattern: string; permission: number | null }[];
  readonly store: Store;
  readonly log: ServerLogger;
  /** Stops accepting, lets in-flight requests finish, syncs and closes the store. */
  close(): Promise<void>;
}

function patternMatches(pattern: string, url: string): boolean {
  const a = pattern.split('/');
  const b = url.split('/');
  return a.length === b.length && a.every((part, i) => part.startsWith(':') || part === b[i]);
}

export async function startServer(
  config: ServerConfig,
  log: ServerLogger = createLogger(config),
): Promise<RunningServer> {
  const { uws, transport } = loadTransport(config.allowJsFallback);
  const tracing = createTracing(config);
  const metrics = createMetrics();
  const accounts = await openAccounts(config.dataDir);
  const booted = await bootstrap(accounts, config.dataDir, process.env, config.passwordMinLength);
  const tokens = createTokens(
    await loadSecret(config.dataDir, config.jwtSecret),
    config.jwtLifetimeSec,
    config.credentialCacheMax,
  );
  const authenticator = createAuthenticator(accounts, tokens, config.credentialCacheMax);
  const backoff = createBackoff(
    config.loginFailuresMax,
    config.loginWindowSec * 1000,
    config.credentialCacheMax,
  );
  const registry = await openRegistry(config.dataDir, config.defaultTenantRateTier);
  const store = await openStore({
    dataDir: config.dataDir,
    fsync: config.fsync,
    fsyncIntervalMs: config.fsyncIntervalMs,
    segmentBytesMax: config.segmentBytesMax,
    cacheBytes: config.cacheBytes,
    preallocateBytes: config.preallocateBytes,
    entityRuns: config.entityRuns,
    idempotencyWindowEvents: config.idempotencyWindowEvents,
    payloadBytesMax: config.payloadBytesMax,
    metadataBytesMax: config.metadataBytesMax,
    batchEventsMax: config.batchEventsMax,
    retention: {
      maxAgeMs: config.retentionDays * 24 * 3600 * 1000,
      maxBytes: config.retentionMaxBytes,
    },
    compactionIntervalMs: config.compactionIntervalSec * 1000,
    compactionBytesPerSec: config.compactionBytesPerSec,
    logger: engineLogger(log),
    observeFsync: (seconds) => metrics.fsync(seconds),
    onCompactionPass: (run, startedAtMs) => {
      tracing?.record('compaction.pass', startedAtMs, {
        'allsource.compaction.files': run.filesCompacted,
        'allsource.compaction.bytes_before': run.bytesBefore,
        'allsource.compaction.bytes_after': run.bytesAfter,
        'allsource.events': run.eventsCompacted,
      });
      if (run.filesCompacted > 0) {
        log.info({ ...run, component: 'compaction' }, 'compaction pass');
      }
    },
  });
  for (const entry of registry.list()) {
    const r = entry.record.retention;
    if (r !== undefined && r !== null) store.setRetention(entry.record.id, retentionPolicy(r));
  }
  const started = Date.now();
  let shuttingDown = false;
  const path: RequestPath = {
    get shuttingDown() {
      return shuttingDown;
    },
    bodyBytesMax: config.bodyBytesMax,
    inFlight: 0,
    authenticate: config.authEnabled ? authenticator.authenticate : () => UNAUTHENTICATED_ADMIN,
    observe: metrics.request,
    requestId: createRequestIds(),
    log,
    accessLog: config.accessLog,
    tracing,
    admit(caller, ex) {
      const entry = registry.get(caller.tenantId);
      if (entry === undefined || !entry.record.active) {
        throw new HttpError('FORBIDDEN', 'your tenant is inactive or does not exist');
      }
      if (!config.rateLimitEnabled) return;
      const wait = takeToken(entry, Date.now());
      pushRateHeaders(entry, ex.headers);
      if (wait > 0) {
        metrics.rateLimited();
        throw new HttpError('RATE_LIMITED', 'rate limit exceeded', { retry_after: wait });
      }
    },
  };
  const quotas = createQuotaChecks(registry, store);
  const input = { jsonDepthMax: config.jsonDepthMax, batchEventsMax: config.batchEventsMax };
  const events = eventRoutes(store, input, metrics, quotas);
  const entities = entityRoutes(store, { historyMax: 1000 }, metrics, quotas);
  const tenants = tenantRoutes(registry, store, accounts);
  const backups = backupRoutes(store, config);
  const compaction = compactionRoutes(store);
  metrics.attach(store, transport, backups.counters);
  const otlpMetrics = startOtlpMetrics(config, store, metrics);
  const docs = docsRoutes();
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
  const metricsRoute: Handler = async (ex) =>
    send(ex, '200 OK', await metrics.render(), metrics.contentType);

  const auth = authRoutes(accounts, tokens, backoff, registry, quotas, {
    passwordMinLength: config.passwordMinLength,
    registrationsPerHour: config.registrationsPerHour,
    credentialCacheMax: config.credentialCacheMax,
  });
  const { Read, Write, Admin, Metrics, ManageTenants } = Permission;
  const routes: [Method, string, RouteOptions, Handler][] = [
    ['post', '/api/v1/events', { permission: Write, body: true, span: 'ingest' }, events.append],
    [
      'post',
      '/api/v1/events/batch',
      { permission: Write, body: true, span: 'ingest' },
      events.batch,
    ],
    ['get', '/api/v1/events/query', { permission: Read, span: 'query' }, events.query],
    ['get', '/api/v1/events/:event_id', { permission: Read, params: 1 }, events.byId],
    ['get', '/api/v1/entities/:entity_id/state', { permission: Read, params: 1 }, entities.state],
    [
      'get',
      '/api/v1/entities/:entity_id/snapshot',
      { permission: Read, params: 1 },
      entities.snapshot,
    ],
    [
      'del',
      '/api/v1/entities/:entity_id',
      { permission: Admin, params: 1, span: 'erase' },
      entities.erase,
    ],
    ['post', '/api/v1/snapshots', { permission: Write, body: true }, entities.create],
    ['get', '/api/v1/snapshots', { permission: Read }, entities.list],
    [
      'get',
      '/api/v1/snapshots/:entity_id/latest',
      { permission: Read, params: 1 },
      entities.latest,
    ],
    ['get', '/api/v1/stats', { permission: Read }, stats],
    ['post', '/api/v1/auth/login', { permission: null, body: true, address: true }, auth.login],
    [
      'post',
      '/api/v1/auth/register',
      { permission: Admin, body: true, anonymous: config.allowRegistration, address: true },
      auth.register,
    ],
    ['get', '/api/v1/auth/me', { permission: Read }, auth.me],
    ['post', '/api/v1/auth/api-keys', { permission: Read, body: true }, auth.createKey],
    ['get', '/api/v1/auth/api-keys', { permission: Read }, auth.listKeys],
    ['del', '/api/v1/auth/api-keys/:id', { permission: Read, params: 1 }, auth.revokeKey],
    ['get', '/api/v1/auth/users', { permission: Admin }, auth.listUsers],
    ['del', '/api/v1/auth/users/:id', { permission: Admin, params: 1 }, auth.deleteUser],
    ['post', '/api/v1/auth/users/:id/activate', { permission: Admin, params: 1 }, auth.activate],
    [
      'post',
      '/api/v1/auth/users/:id/deactivate',
      { permission: Admin, params: 1 },
      auth.deactivate,
    ],
    ['post', '/api/v1/tenants', { permission: ManageTenants, body: true }, tenants.create],
    ['get', '/api/v1/tenants', { permission: ManageTenants }, tenants.list],
    ['get', '/api/v1/tenants/:id', { permission: Read, params: 1 }, tenants.one],
    ['get', '/api/v1/tenants/:id/stats', { permission: Read, params: 1 }, tenants.stats],
    [
      'put',
      '/api/v1/tenants/:id/quotas',
      { permission: ManageTenants, body: true, params: 1 },
      tenants.quotas,
    ],
    [
      'post',
      '/api/v1/tenants/:id/activate',
      { permission: ManageTenants, params: 1 },
      tenants.activate,
    ],
    [
      'post',
      '/api/v1/tenants/:id/deactivate',
      { permission: ManageTenants, params: 1 },
      tenants.deactivate,
    ],
    ['del', '/api/v1/tenants/:id', { permission: ManageTenants, params: 1 }, tenants.remove],
    [
      'put',
      '/api/v1/tenants/:id/retention',
      { permission: ManageTenants, body: true, params: 1 },
      tenants.retention,
    ],
    [
      'post',
      '/api/v1/compaction/trigger',
      { permission: Admin, span: 'compaction' },
      compaction.trigger,
    ],
    ['get', '/api/v1/compaction/stats', { permission: Admin }, compaction.stats],
    ['post', '/api/v1/backups', { permission: Admin, span: 'backup' }, backups.create],
    ['get', '/api/v1/backups', { permission: Admin }, backups.list],
    ['post', '/api/v1/backups/:id/verify', { permission: Admin, params: 1 }, backups.verify],
    ['get', '/health', { permission: null }, health],
    ['get', '/metrics', { permission: config.metricsRequireAuth ? Metrics : null }, metricsRoute],
    ['get', '/openapi.json', { permission: null }, (ex) => send(ex, '200 OK', openApi)],
    ['get', '/docs', { permission: null }, docs.page],
    ['get', '/docs/init.js', { permission: null }, docs.init],
    ['get', '/docs/swagger-ui-bundle.js', { permission: null }, docs.bundle],
    ['get', '/docs/swagger-ui.css', { permission: null }, docs.css],
  ];
  const openApi = JSON.stringify(
    openApiDocument(
      routes.map(([m, pattern, o]) => ({
        method: m === 'del' ? 'DELETE' : m.toUpperCase(),
        pattern,
        permission: o.permission,
      })),
    ),
  );
  const app = uws.App();
  for (const [method, pattern, options, handler] of routes)
    app[method](pattern, route(path, options, handler, pattern));
  const stream = registerStream(
    app,
    store,
    path.authenticate,
    {
      bufferedBytesMax: config.wsBufferedBytesMax,
      messageBytesMax: config.wsMessageBytesMax,
      tracing,
    },
    metrics,
  );
  app.any('/*', (res, req) => {
    const url = req.getUrl();
    const method = req.getMethod();
    const known = routes.some(([, pattern]) => patternMatches(pattern, url));
    const ex = { res, aborted: false, headers: [] as [string, string][] };
    res.onAborted(() => {
      ex.aborted = true;
    });
    if (known) {
      const allowed = routes
        .filter(([, p]) => patternMatches(p, url))
        .map(([m]) => (m === 'del' ? 'DELETE' : m.toUpperCase()));
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
    bootstrapPasswordFile: booted.passwordFile,
    routes: routes.map(([method, pattern, options]) => ({
      method: method === 'del' ? 'DELETE' : method.toUpperCase(),
      pattern,
      permission: options.permission,
    })),
    adminCreated: booted.adminCreated,
    log,
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
      // The last metric export reads the store, so it goes before the store closes.
      await otlpMetrics?.shutdown();
      await store.close();
      await registry.close();
      await tracing?.shutdown();
    },
  };
}

export { SERVICE_VERSION };
