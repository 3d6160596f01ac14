// Server settings: defaults, then environment, then flags. Every limit a client can hit is here
// and in docs/TUNING.md. (The TOML file and its sections come with the operations work.)
import path from 'node:path';
import { type FsyncPolicy, limits } from '../engine/index.js';

export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  segmentBytesMax: number;
  cacheBytes: number;
  /** Largest request body. */
  bodyBytesMax: number;
  payloadBytesMax: number;
  metadataBytesMax: number;
  batchEventsMax: number;
  /** Deepest nesting of arrays and objects accepted in a request body. */
  jsonDepthMax: number;
  /** Bytes a WebSocket may have queued before live events for it pause. */
  wsBufferedBytesMax: number;
  /** Largest message a WebSocket client may send. */
  wsMessageBytesMax: number;
  /** Start on the pure-JS uWebSockets.js fallback if the native binary does not load. */
  allowJsFallback: boolean;
  /** Milliseconds shutdown waits for in-flight requests before closing anyway. */
  shutdownGraceMs: number;
  /** HS256 secret (at least 32 characters); generated into the data directory when empty. */
  jwtSecret: string;
  /** Off: no credentials are asked for and every request acts as admin of tenant default. */
  authEnabled: boolean;
  /** Per-tenant token buckets; off answers no request with 429 RATE_LIMITED. */
  rateLimitEnabled: boolean;
  /** Rate tier of the default tenant (free, professional, unlimited, dev). */
  defaultTenantRateTier: string;
  /** GET /metrics needs credentials with the Metrics permission. */
  metricsRequireAuth: boolean;
  jwtLifetimeSec: number;
  passwordMinLength: number;
  /** Verified tokens and API keys kept in memory, each. */
  credentialCacheMax: number;
  /** Failed logins per username or address in `loginWindowSec` before back-off. */
  loginFailuresMax: number;
  loginWindowSec: number;
}

const MiB = 1024 * 1024;

export function defaultConfig(): ServerConfig {
  return {
    host: '127.0.0.1',
    port: 3900,
    dataDir: path.resolve('data'),
    fsync: 'always',
    fsyncIntervalMs: limits.fsyncIntervalMsDefault,
    segmentBytesMax: limits.segmentBytesMaxDefault,
    cacheBytes: limits.cacheBytesDefault,
    bodyBytesMax: 16 * MiB,
    payloadBytesMax: limits.payloadBytesMaxDefault,
    metadataBytesMax: limits.metadataBytesMaxDefault,
    batchEventsMax: limits.batchEventsMaxDefault,
    jsonDepthMax: 64,
    wsBufferedBytesMax: 1 * MiB,
    wsMessageBytesMax: 64 * 1024,
    allowJsFallback: false,
    shutdownGraceMs: 10_000,
    jwtSecret: '',
    metricsRequireAuth: false,
    authEnabled: true,
    rateLimitEnabled: true,
    defaultTenantRateTier: 'dev',
    jwtLifetimeSec: 24 * 3600,
    passwordMinLength: 8,
    credentialCacheMax: 10_000,
    loginFailuresMax: 5,
    loginWindowSec: 900,
  };
}

type Key = keyof ServerConfig;
const ENV: Record<string, Key> = {
  ALLSOURCE_HOST: 'host',
  ALLSOURCE_PORT: 'port',
  ALLSOURCE_DATA_DIR: 'dataDir',
  ALLSOURCE_STORAGE_FSYNC: 'fsync',
  ALLSOURCE_STORAGE_FSYNC_INTERVAL_MS: 'fsyncIntervalMs',
  ALLSOURCE_STORAGE_SEGMENT_BYTES_MAX: 'segmentBytesMax',
  ALLSOURCE_STORAGE_CACHE_BYTES: 'cacheBytes',
  ALLSOURCE_SERVER_BODY_BYTES_MAX: 'bodyBytesMax',
  ALLSOURCE_STORAGE_PAYLOAD_BYTES_MAX: 'payloadBytesMax',
  ALLSOURCE_STORAGE_BATCH_EVENTS_MAX: 'batchEventsMax',
  ALLSOURCE_SERVER_WS_BUFFERED_BYTES_MAX: 'wsBufferedBytesMax',
  ALLSOURCE_ALLOW_JS_FALLBACK: 'allowJsFallback',
  ALLSOURCE_JWT_SECRET: 'jwtSecret',
  ALLSOURCE_METRICS_REQUIRE_AUTH: 'metricsRequireAuth',
  ALLSOURCE_AUTH_ENABLED: 'authEnabled',
  ALLSOURCE_RATE_LIMIT_ENABLED: 'rateLimitEnabled',
  ALLSOURCE_RATE_LIMIT_DEFAULT_TIER: 'defaultTenantRateTier',
  ALLSOURCE_AUTH_JWT_LIFETIME_SEC: 'jwtLifetimeSec',
  ALLSOURCE_AUTH_PASSWORD_MIN_LENGTH: 'passwordMinLength',
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function coerce(config: ServerConfig, key: Key, raw: string, source: string): string | null {
  const current = config[key];
  if (typeof current === 'number') {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0)
      return `${source}: ${key} must be a whole number >= 0, got "${raw}"`;
    (config as unknown as Record<string, unknown>)[key] = n;
  } else if (typeof current === 'boolean') {
    if (!['1', '0', 'true', 'false'].includes(raw))
      return `${source}: ${key} must be true or false`;
    (config as unknown as Record<string, unknown>)[key] = raw === '1' || raw === 'true';
  } else {
    (config as unknown as Record<string, unknown>)[key] =
      key === 'dataDir' ? path.resolve(raw) : raw;
  }
  return null;
}

/** Builds the config from env and `--key value` overrides; lists every problem at once. */
export function loadConfig(
  env: NodeJS.ProcessEnv,
  overrides: Partial<Record<Key, string | undefined>>,
): ServerConfig {
  const config = defaultConfig();
  const problems: string[] = [];
  for (const [name, key] of Object.entries(ENV)) {
    const raw = env[name];
    if (raw !== undefined && raw !== '') {
      const problem = coerce(config, key, raw, name);
      if (problem !== null) problems.push(problem);
    }
  }
  for (const [key, raw] of Object.entries(overrides)) {
    if (raw === undefined) continue;
    const problem = coerce(config, key as Key, raw, `--${key}`);
    if (problem !== null) problems.push(problem);
  }
  if (!['always', 'interval', 'never'].includes(config.fsync)) {
    problems.push(`fsync must be always, interval or never, got "${config.fsync}"`);
  }
  if (config.port > 65_535) problems.push('port must be 0-65535');
  if (config.bodyBytesMax < 1024) problems.push('bodyBytesMax must be at least 1024');
  if (problems.length > 0)
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return config;
}
