// Server settings. One table describes every key: its section, type, default and range. From it
// come the TOML file's reading and validation, the environment overrides
// (ALLSOURCE_<SECTION>_<KEY>, plus the short forms of the API reference), `config generate`
// and `config show`. Precedence: defaults, then the file, then the environment, then flags.
// Every problem is collected and reported at once.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'smol-toml';
import { type FsyncPolicy, limits } from '../engine/index.js';

export interface ServerConfig {
  host: string;
  port: number;
  bodyBytesMax: number;
  jsonDepthMax: number;
  wsBufferedBytesMax: number;
  wsMessageBytesMax: number;
  shutdownGraceMs: number;
  allowJsFallback: boolean;
  dataDir: string;
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  segmentBytesMax: number;
  cacheBytes: number;
  preallocateBytes: number;
  entityRuns: boolean;
  idempotencyWindowEvents: number;
  payloadBytesMax: number;
  metadataBytesMax: number;
  batchEventsMax: number;
  authEnabled: boolean;
  jwtSecret: string;
  jwtLifetimeSec: number;
  passwordMinLength: number;
  credentialCacheMax: number;
  allowRegistration: boolean;
  registrationsPerHour: number;
  loginFailuresMax: number;
  loginWindowSec: number;
  rateLimitEnabled: boolean;
  defaultTenantRateTier: string;
  metricsRequireAuth: boolean;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';
  logFormat: 'json' | 'pretty';
  accessLog: boolean;
  metricsOtlpEndpoint: string;
  metricsOtlpIntervalSec: number;
  tracingEnabled: boolean;
  tracingExporter: 'otlp' | 'zipkin';
  tracingEndpoint: string;
  tracingSamplePercent: number;
  tracingServiceName: string;
  retentionDays: number;
  retentionMaxBytes: number;
  compactionIntervalSec: number;
  compactionBytesPerSec: number;
  backupDir: string;
  backupRetention: number;
  backupGzipLevel: number;
  backupVerifyAfter: boolean;
}

type Field = keyof ServerConfig;

interface Setting {
  section: string;
  key: string;
  field: Field;
  /** int: a whole number in [min, max]; enum: one of `choices`. */
  type: 'string' | 'int' | 'bool' | 'enum';
  default: string | number | boolean;
  min?: number;
  max?: number;
  choices?: string[];
  /** Short environment name besides ALLSOURCE_<SECTION>_<KEY>. */
  env?: string;
  secret?: boolean;
  about: string;
}

const KiB = 1024;
const MiB = 1024 * KiB;

export const SECTIONS = [
  'server',
  'storage',
  'auth',
  'rate_limit',
  'backup',
  'metrics',
  'logging',
  'tracing',
];

export const SETTINGS: Setting[] = [
  {
    section: 'server',
    key: 'host',
    field: 'host',
    type: 'string',
    default: '127.0.0.1',
    env: 'ALLSOURCE_HOST',
    about: 'Address to bind. Loopback by default; put a TLS proxy in front of any other.',
  },
  {
    section: 'server',
    key: 'port',
    field: 'port',
    type: 'int',
    default: 3900,
    min: 0,
    max: 65_535,
    env: 'ALLSOURCE_PORT',
    about: 'Port; 0 picks a free one.',
  },
  {
    section: 'server',
    key: 'body_bytes_max',
    field: 'bodyBytesMax',
    type: 'int',
    default: 16 * MiB,
    min: KiB,
    max: 1024 * MiB,
    about: 'Largest request body.',
  },
  {
    section: 'server',
    key: 'json_depth_max',
    field: 'jsonDepthMax',
    type: 'int',
    default: 64,
    min: 1,
    max: 1000,
    about: 'Deepest nesting of arrays and objects in a payload or metadata.',
  },
  {
    section: 'server',
    key: 'ws_buffered_bytes_max',
    field: 'wsBufferedBytesMax',
    type: 'int',
    default: MiB,
    min: KiB,
    max: 256 * MiB,
    about: 'Bytes a WebSocket may have queued before it is served from the log.',
  },
  {
    section: 'server',
    key: 'ws_message_bytes_max',
    field: 'wsMessageBytesMax',
    type: 'int',
    default: 64 * KiB,
    min: 64,
    max: 16 * MiB,
    about: 'Largest message a WebSocket client may send.',
  },
  {
    section: 'server',
    key: 'shutdown_grace_ms',
    field: 'shutdownGraceMs',
    type: 'int',
    default: 10_000,
    min: 0,
    max: 600_000,
    about: 'How long shutdown waits for requests in flight.',
  },
  {
    section: 'server',
    key: 'allow_js_fallback',
    field: 'allowJsFallback',
    type: 'bool',
    default: false,
    env: 'ALLSOURCE_ALLOW_JS_FALLBACK',
    about: 'Start on the slow JavaScript HTTP fallback if the native binary does not load.',
  },
  {
    section: 'storage',
    key: 'data_dir',
    field: 'dataDir',
    type: 'string',
    default: 'data',
    env: 'ALLSOURCE_DATA_DIR',
    about: 'Data directory (relative to the working directory).',
  },
  {
    section: 'storage',
    key: 'fsync',
    field: 'fsync',
    type: 'enum',
    default: 'always',
    choices: ['always', 'interval', 'never'],
    about:
      'always: acknowledge after fdatasync; interval: sync every fsync_interval_ms; never: leave it to the OS.',
  },
  {
    section: 'storage',
    key: 'fsync_interval_ms',
    field: 'fsyncIntervalMs',
    type: 'int',
    default: limits.fsyncIntervalMsDefault,
    min: 1,
    max: 60_000,
    about: 'With fsync = "interval": milliseconds between syncs.',
  },
  {
    section: 'storage',
    key: 'segment_bytes_max',
    field: 'segmentBytesMax',
    type: 'int',
    default: limits.segmentBytesMaxDefault,
    min: limits.segmentBytesMin,
    max: limits.segmentBytesMaxCeiling,
    about: 'Segment size before a new one starts; open reads the whole last one.',
  },
  {
    section: 'storage',
    key: 'cache_bytes',
    field: 'cacheBytes',
    type: 'int',
    default: limits.cacheBytesDefault,
    min: limits.chunkBytes,
    max: 1024 * 1024 * MiB,
    about: 'Read cache for record chunks and sealed indexes, for the whole store.',
  },
  {
    section: 'storage',
    key: 'preallocate_bytes',
    field: 'preallocateBytes',
    type: 'int',
    default: limits.preallocateBytesDefault,
    min: 0,
    max: limits.segmentBytesMaxCeiling,
    about:
      'With fsync = "always": zero up to this many bytes of the active segment ahead of appends, so that fsyncs commit data only; 0 turns it off.',
  },
  {
    section: 'storage',
    key: 'entity_runs',
    field: 'entityRuns',
    type: 'bool',
    default: true,
    about:
      'Keep whole entity histories in the read cache, so that repeated reads of an entity walk one buffer.',
  },
  {
    section: 'storage',
    key: 'idempotency_window_events',
    field: 'idempotencyWindowEvents',
    type: 'int',
    default: limits.idempotencyWindowEventsDefault,
    min: 1,
    max: Number.MAX_SAFE_INTEGER,
    about:
      "An event's client id is recognised as a retry when the event it repeats is among the tenant's last this many events.",
  },
  {
    section: 'storage',
    key: 'payload_bytes_max',
    field: 'payloadBytesMax',
    type: 'int',
    default: limits.payloadBytesMaxDefault,
    min: 1,
    max: limits.payloadBytesMaxCeiling,
    about: 'Largest payload of one event.',
  },
  {
    section: 'storage',
    key: 'metadata_bytes_max',
    field: 'metadataBytesMax',
    type: 'int',
    default: limits.metadataBytesMaxDefault,
    min: 1,
    max: limits.payloadBytesMaxCeiling,
    about: 'Largest metadata of one event.',
  },
  {
    section: 'storage',
    key: 'batch_events_max',
    field: 'batchEventsMax',
    type: 'int',
    default: limits.batchEventsMaxDefault,
    min: 1,
    max: limits.batchEventsMaxCeiling,
    about: 'Events in one atomic batch.',
  },
  {
    section: 'auth',
    key: 'enabled',
    field: 'authEnabled',
    type: 'bool',
    default: true,
    about: 'Off: no credentials, every request is admin of tenant default (development only).',
  },
  {
    section: 'auth',
    key: 'jwt_secret',
    field: 'jwtSecret',
    type: 'string',
    default: '',
    env: 'ALLSOURCE_JWT_SECRET',
    secret: true,
    about: 'HS256 secret, at least 32 characters; empty: generated once into the data directory.',
  },
  {
    section: 'auth',
    key: 'jwt_lifetime_sec',
    field: 'jwtLifetimeSec',
    type: 'int',
    default: 24 * 3600,
    min: 60,
    max: 366 * 86_400,
    about: 'Lifetime of login tokens.',
  },
  {
    section: 'auth',
    key: 'password_min_length',
    field: 'passwordMinLength',
    type: 'int',
    default: 8,
    min: 1,
    max: 1024,
    about: 'Shortest password accepted.',
  },
  {
    section: 'auth',
    key: 'credential_cache_max',
    field: 'credentialCacheMax',
    type: 'int',
    default: 10_000,
    min: 1,
    max: 10_000_000,
    about: 'Verified tokens and API keys kept in memory, each.',
  },
  {
    section: 'auth',
    key: 'allow_registration',
    field: 'allowRegistration',
    type: 'bool',
    default: false,
    about:
      'Let anyone POST /api/v1/auth/register without credentials, as a readonly user of tenant default.',
  },
  {
    section: 'auth',
    key: 'registrations_per_hour',
    field: 'registrationsPerHour',
    type: 'int',
    default: 10,
    min: 1,
    max: 1_000_000,
    about: 'With allow_registration: anonymous registrations accepted per address per hour.',
  },
  {
    section: 'auth',
    key: 'login_failures_max',
    field: 'loginFailuresMax',
    type: 'int',
    default: 5,
    min: 1,
    max: 1000,
    about: 'Failed logins per username or address before back-off.',
  },
  {
    section: 'auth',
    key: 'login_window_sec',
    field: 'loginWindowSec',
    type: 'int',
    default: 900,
    min: 1,
    max: 86_400,
    about: 'Window of the login back-off.',
  },
  {
    section: 'rate_limit',
    key: 'enabled',
    field: 'rateLimitEnabled',
    type: 'bool',
    default: true,
    about: 'Per-tenant token buckets.',
  },
  {
    section: 'rate_limit',
    key: 'default_tier',
    field: 'defaultTenantRateTier',
    type: 'enum',
    default: 'dev',
    choices: ['free', 'professional', 'unlimited', 'dev'],
    about: 'Rate tier of the default tenant.',
  },
  {
    section: 'storage',
    key: 'retention_days',
    field: 'retentionDays',
    type: 'int',
    default: 0,
    min: 0,
    max: 1_000_000,
    about: 'Default retention of events in days (0 keeps them forever); tenants may override it.',
  },
  {
    section: 'storage',
    key: 'retention_max_bytes',
    field: 'retentionMaxBytes',
    type: 'int',
    default: 0,
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    about: "Default cap on a tenant's event log in bytes, oldest segments first (0: no cap).",
  },
  {
    section: 'storage',
    key: 'compaction_interval_sec',
    field: 'compactionIntervalSec',
    type: 'int',
    default: limits.compactionIntervalMsDefault / 1000,
    min: 0,
    max: 7 * 24 * 3600,
    about:
      'Seconds between background compaction passes (0: only POST /api/v1/compaction/trigger).',
  },
  {
    section: 'storage',
    key: 'compaction_bytes_per_sec',
    field: 'compactionBytesPerSec',
    type: 'int',
    default: limits.compactionBytesPerSecDefault,
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    about: 'Read rate limit of a compaction rewrite, so that appends keep the disk (0: no limit).',
  },
  {
    section: 'backup',
    key: 'dir',
    field: 'backupDir',
    type: 'string',
    default: './backups',
    about: 'Directory of backups (one sub-directory per backup). Keep it on another disk.',
  },
  {
    section: 'backup',
    key: 'retention',
    field: 'backupRetention',
    type: 'int',
    default: 7,
    min: 1,
    max: 10_000,
    about: 'Backups kept by `allsource backup prune` and after each new backup; older ones go.',
  },
  {
    section: 'backup',
    key: 'gzip_level',
    field: 'backupGzipLevel',
    type: 'int',
    default: limits.backupGzipLevelDefault,
    min: 1,
    max: 9,
    about: 'gzip level of backup archives: 1 is fastest, 9 smallest.',
  },
  {
    section: 'backup',
    key: 'verify_after',
    field: 'backupVerifyAfter',
    type: 'bool',
    default: true,
    about: 'Re-read and check every new backup before reporting it done.',
  },
  {
    section: 'logging',
    key: 'level',
    field: 'logLevel',
    type: 'enum',
    default: 'info',
    choices: ['trace', 'debug', 'info', 'warn', 'error', 'silent'],
    about: 'Least severe level written to stderr.',
  },
  {
    section: 'logging',
    key: 'format',
    field: 'logFormat',
    type: 'enum',
    default: 'json',
    choices: ['json', 'pretty'],
    about: 'json: one object per line, for collectors; pretty: readable lines, for people.',
  },
  {
    section: 'logging',
    key: 'access',
    field: 'accessLog',
    type: 'bool',
    default: false,
    about: 'One line per request (id, method, route, status, ms, tenant). Costs on the hot path.',
  },
  {
    section: 'metrics',
    key: 'otlp_endpoint',
    field: 'metricsOtlpEndpoint',
    type: 'string',
    default: '',
    about:
      'Also push metrics over OTLP/HTTP here (e.g. http://127.0.0.1:4318/v1/metrics); empty: off.',
  },
  {
    section: 'metrics',
    key: 'otlp_interval_sec',
    field: 'metricsOtlpIntervalSec',
    type: 'int',
    default: 60,
    min: 1,
    max: 3600,
    about: 'Seconds between OTLP metric exports.',
  },
  {
    section: 'tracing',
    key: 'enabled',
    field: 'tracingEnabled',
    type: 'bool',
    default: false,
    about: 'OpenTelemetry spans for ingest, query, erasure, backup, compaction and subscriptions.',
  },
  {
    section: 'tracing',
    key: 'exporter',
    field: 'tracingExporter',
    type: 'enum',
    default: 'otlp',
    choices: ['otlp', 'zipkin'],
    about: 'otlp: OTLP over HTTP with JSON (collectors, Jaeger); zipkin: the Zipkin v2 JSON API.',
  },
  {
    section: 'tracing',
    key: 'endpoint',
    field: 'tracingEndpoint',
    type: 'string',
    default: 'http://127.0.0.1:4318/v1/traces',
    about: 'Where spans go (for Zipkin, e.g. http://127.0.0.1:9411/api/v2/spans).',
  },
  {
    section: 'tracing',
    key: 'sample_percent',
    field: 'tracingSamplePercent',
    type: 'int',
    default: 100,
    min: 0,
    max: 100,
    about: "Share of new traces recorded; a caller's traceparent decision is always followed.",
  },
  {
    section: 'tracing',
    key: 'service_name',
    field: 'tracingServiceName',
    type: 'string',
    default: 'allsource',
    about: 'service.name of the spans.',
  },
  {
    section: 'metrics',
    key: 'require_auth',
    field: 'metricsRequireAuth',
    type: 'bool',
    default: false,
    about: 'GET /metrics needs credentials with the Metrics permission.',
  },
];

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const envName = (s: Setting) => `ALLSOURCE_${s.section}_${s.key}`.toUpperCase();

/** The value of `raw` for setting `s`, or undefined after recording why it is not one. */
function coerce(s: Setting, raw: unknown, source: string, problems: string[]): unknown {
  const where = `${source}: ${s.section}.${s.key}`;
  let value = raw;
  if (typeof raw === 'string' && s.type === 'int')
    value = /^\d+$/.test(raw.trim()) ? Number(raw) : Number.NaN;
  if (typeof raw === 'string' && s.type === 'bool') {
    value = ['1', 'true'].includes(raw) ? true : ['0', 'false'].includes(raw) ? false : raw;
  }
  let problem: string | null = null;
  if (s.type === 'int') {
    if (typeof value !== 'number' || !Number.isInteger(value)) problem = 'must be a whole number';
    else if (value < (s.min ?? 0) || value > (s.max ?? Number.MAX_SAFE_INTEGER)) {
      problem = `must be from ${s.min} to ${s.max}, got ${value}`;
    }
  } else if (s.type === 'bool') {
    if (typeof value !== 'boolean') problem = 'must be true or false';
  } else if (typeof value !== 'string') {
    problem = 'must be a string';
  } else if (s.type === 'enum' && !s.choices!.includes(value)) {
    problem = `must be one of ${s.choices!.join(', ')}, got "${value}"`;
  }
  if (problem === null) return value;
  problems.push(`${where} ${problem}`);
  return undefined;
}

export function defaultConfig(): ServerConfig {
  const config = {} as Record<Field, unknown>;
  for (const s of SETTINGS) config[s.field] = s.default;
  config.dataDir = path.resolve(String(config.dataDir));
  config.backupDir = path.resolve(String(config.backupDir));
  return config as unknown as ServerConfig;
}

/**
 * Builds the config from a TOML file's text (optional), the environment and flag overrides
 * (by field name). Throws ConfigError listing every problem.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv,
  overrides: Partial<Record<Field, string | undefined>>,
  file?: { path: string; text: string },
): ServerConfig {
  const config = defaultConfig() as unknown as Record<Field, unknown>;
  const problems: string[] = [];
  const set = (s: Setting, raw: unknown, source: string) => {
    const value = coerce(s, raw, source, problems);
    if (value !== undefined)
      config[s.field] =
        s.field === 'dataDir' || s.field === 'backupDir' ? path.resolve(String(value)) : value;
  };
  if (file !== undefined) {
    let doc: Record<string, unknown> = {};
    try {
      doc = parse(file.text) as Record<string, unknown>;
    } catch (error) {
      problems.push(
        `${file.path}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
      );
    }
    for (const [section, body] of Object.entries(doc)) {
      if (
        !SECTIONS.includes(section) ||
        body === null ||
        typeof body !== 'object' ||
        Array.isArray(body)
      ) {
        problems.push(`${file.path}: unknown section [${section}]`);
        continue;
      }
      for (const [key, raw] of Object.entries(body)) {
        const s = SETTINGS.find((x) => x.section === section && x.key === key);
        if (s === undefined) problems.push(`${file.path}: unknown key ${section}.${key}`);
        else set(s, raw, file.path);
      }
    }
  }
  for (const s of SETTINGS) {
    for (const name of [envName(s), s.env]) {
      const raw = name === undefined ? undefined : env[name];
      if (raw !== undefined && raw !== '') set(s, raw, name!);
    }
  }
  for (const [field, raw] of Object.entries(overrides)) {
    const s = SETTINGS.find((x) => x.field === field);
    if (raw !== undefined && s !== undefined) set(s, raw, `--${s.key.replaceAll('_', '-')}`);
  }
  const secret = config.jwtSecret as string;
  if (secret !== '' && secret.length < 32)
    problems.push('auth.jwt_secret must be at least 32 characters (or empty)');
  if (problems.length > 0)
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return config as unknown as ServerConfig;
}

function literal(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** A commented TOML file with every key at its default (or at `config`'s values). */
export function renderConfig(config?: ServerConfig, redact = true): string {
  const lines = [
    '# AllSource configuration. Every key is optional; the value shown is the default.',
    '',
  ];
  for (const section of SECTIONS) {
    lines.push(`[${section}]`);
    const settings = SETTINGS.filter((s) => s.section === section);
    if (settings.length === 0) lines.push('# (no settings yet)');
    for (const s of settings) {
      const value =
        config === undefined ? s.default : (config as unknown as Record<Field, unknown>)[s.field];
      const shown = s.secret && redact && value !== '' ? '"<redacted>"' : literal(value);
      const extra =
        s.type === 'int'
          ? ` Range ${s.min}-${s.max}.`
          : s.type === 'enum'
            ? ` One of ${s.choices!.join(', ')}.`
            : '';
      lines.push(`# ${s.about}${extra} Environment: ${envName(s)}${s.env ? ` or ${s.env}` : ''}.`);
      lines.push(`${s.key} = ${shown}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

/** The TOML file named by --config or ALLSOURCE_CONFIG, if any. */
export function readConfigFile(
  file: string | undefined,
): { path: string; text: string } | undefined {
  const chosen = file ?? process.env.ALLSOURCE_CONFIG;
  if (chosen === undefined || chosen === '') return undefined;
  try {
    return { path: chosen, text: fs.readFileSync(chosen, 'utf8') };
  } catch (error) {
    throw new ConfigError(
      `cannot read ${chosen}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** Settings that weaken a deployment, each with what it risks; printed at start. */
export function startupWarnings(config: ServerConfig): string[] {
  const out: string[] = [];
  if (!config.authEnabled) {
    out.push(
      'authentication is disabled (ALLSOURCE_AUTH_ENABLED=0): every request acts as admin of tenant default.',
    );
  }
  if (config.fsync === 'never') out.push('fsync = never: a crash can lose acknowledged events.');
  if (!LOOPBACK.test(config.host)) {
    out.push(
      `listening on ${config.host}, not loopback, and the server speaks plain HTTP: put a TLS-terminating proxy in front (OPERATING.md).`,
    );
    if (!config.metricsRequireAuth)
      out.push('/metrics is public on that address (metrics.require_auth = false).');
  }
  if (config.allowRegistration) {
    out.push(
      'auth.allow_registration = true: anyone who reaches the port can create readonly users.',
    );
  }
  if (!config.rateLimitEnabled) out.push('rate limits are off (rate_limit.enabled = false).');
  return out;
}
