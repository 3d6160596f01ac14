// Tenants: their settings, quotas, rate and usage. Kept in memory for the inline checks of the
// request path and persisted in <data dir>/auth/tenants.json (write-temp, fsync, rename):
// settings on every change, usage counters every few seconds and at shutdown.
import path from 'node:path';
import { createNodeIo, type Io, isValidTenantId } from '../../engine/index.js';
import { HttpError } from '../errors.js';
import { type Quotas, quotaPresets, type Rate, rateTiers, tierOfPreset } from './presets.js';
import { RollingWindow, type WindowState } from './window.js';

export interface TenantRecord {
  id: string;
  name: string;
  description: string;
  quotas: Quotas;
  rate: Rate;
  active: boolean;
  created_at: string;
  updated_at: string;
  usage: { queries: WindowState };
  /** Overrides the store's default retention; absent or null inherits it. */
  retention?: RetentionJson | null;
}

/** A retention as tenants.json and the API spell it; 0 means unlimited. */
export interface RetentionJson {
  max_age_days: number;
  max_bytes: number;
}

export function retentionPolicy(r: RetentionJson): { maxAgeMs: number; maxBytes: number } {
  return { maxAgeMs: r.max_age_days * 24 * 3600 * 1000, maxBytes: r.max_bytes };
}

export interface TenantEntry {
  record: TenantRecord;
  /** Events of the last 24 hours as last read from the log, when, and the oldest one's time. */
  dayCount: number;
  dayReadMs: number;
  dayOldestUs: number;
  /** Queries in the last hour, by minute. */
  queries: RollingWindow;
  tokens: number;
  refilledMs: number;
  /** Storage bytes as last read from the store, and when (refreshed at most every second). */
  storageBytes: number;
  storageReadMs: number;
  /** The X-RateLimit-Limit header, and the rate it was made for. */
  limitHeader: [string, string];
  limitRpm: number;
}

const MINUTE = 60_000;
const USAGE_FLUSH_MS = 5_000;

function entryOf(record: TenantRecord): TenantEntry {
  return {
    record,
    dayCount: 0,
    dayReadMs: 0,
    dayOldestUs: 0,
    queries: new RollingWindow(60, MINUTE, record.usage.queries),
    tokens: record.rate.burst_size,
    refilledMs: Date.now(),
    storageBytes: 0,
    storageReadMs: 0,
    limitHeader: ['x-ratelimit-limit', String(record.rate.requests_per_minute)],
    limitRpm: record.rate.requests_per_minute,
  };
}

function newRecord(
  id: string,
  name: string,
  description: string,
  preset: string,
  defaultTier: string,
): TenantRecord {
  const quotas = quotaPresets[preset];
  if (quotas === undefined)
    throw new HttpError(
      'VALIDATION_ERROR',
      'quota_preset must be free, professional, unlimited or standard',
      { field: 'quota_preset' },
    );
  const now = new Date().toISOString();
  return {
    id,
    name,
    description,
    quotas: { ...quotas },
    rate: {
      ...rateTiers[id === 'default' ? defaultTier : (tierOfPreset[preset] ?? 'professional')]!,
    },
    active: true,
    created_at: now,
    updated_at: now,
    usage: { queries: { counts: new Array(60).fill(0), headMs: 0 } },
  };
}

export interface Registry {
  get(id: string): TenantEntry | undefined;
  list(): TenantEntry[];
  create(input: {
    id: string;
    name: string;
    description: string;
    preset: string;
  }): Promise<TenantEntry>;
  /** Applies a change to an entry's settings and persists it. */
  update(entry: TenantEntry, change: () => void): Promise<void>;
  remove(id: string): Promise<void>;
  close(): Promise<void>;
}

export async function openRegistry(
  dataDir: string,
  defaultTier: string,
  io: Io = createNodeIo(),
): Promise<Registry> {
  const file = path.join(dataDir, 'auth', 'tenants.json');
  io.mkdirp(path.dirname(file));
  const raw = io.readFile(file);
  const records =
    raw === null ? [] : (JSON.parse(raw.toString('utf8')) as { tenants: TenantRecord[] }).tenants;
  const entries = new Map(records.map((r) => [r.id, entryOf(r)]));
  let writing = Promise.resolve();
  const persist = (): Promise<void> => {
    const body = JSON.stringify(
      { format: 1, tenants: [...entries.values()].map((e) => e.record) },
      null,
      1,
    );
    writing = writing.then(() => io.writeFileAtomic(file, Buffer.from(body)));
    return writing;
  };
  if (!entries.has('default')) {
    entries.set(
      'default',
      entryOf(
        newRecord('default', 'Default', 'The tenant that always exists', 'standard', defaultTier),
      ),
    );
    await persist();
  }
  const flusher = setInterval(() => {
    persist().catch(() => {});
  }, USAGE_FLUSH_MS);
  flusher.unref();
  return {
    get: (id) => entries.get(id),
    list: () => [...entries.values()],
    async create({ id, name, description, preset }) {
      if (!isValidTenantId(id))
        throw new HttpError('VALIDATION_ERROR', 'tenant ids are 1-64 of [A-Za-z0-9_-]', {
          field: 'id',
        });
      if (entries.has(id)) throw new HttpError('ALREADY_EXISTS', `tenant ${id} already exists`);
      const entry = entryOf(newRecord(id, name, description, preset, defaultTier));
      entries.set(id, entry);
      await persist();
      return entry;
    },
    async update(entry, change) {
      change();
      entry.record.updated_at = new Date().toISOString();
      await persist();
    },
    async remove(id) {
      entries.delete(id);
      await persist();
    },
    async close() {
      clearInterval(flusher);
      await persist();
    },
  };
}

/** Takes one token from the tenant's bucket; returns seconds to wait when it is empty (0 if taken). */
export function takeToken(entry: TenantEntry, now: number): number {
  const { requests_per_minute: rpm, burst_size: burst } = entry.record.rate;
  const perMs = rpm / MINUTE;
  entry.tokens = Math.min(burst, entry.tokens + (now - entry.refilledMs) * perMs);
  entry.refilledMs = now;
  if (entry.tokens >= 1) {
    entry.tokens -= 1;
    return 0;
  }
  return Math.max(1, Math.ceil((1 - entry.tokens) / perMs / 1000));
}

/** Adds the X-RateLimit-* headers after a request. */
export function pushRateHeaders(entry: TenantEntry, headers: [string, string][]): void {
  const { requests_per_minute: rpm, burst_size: burst } = entry.record.rate;
  if (entry.limitRpm !== rpm) {
    entry.limitHeader = ['x-ratelimit-limit', String(rpm)];
    entry.limitRpm = rpm;
  }
  const reset = Math.max(0, Math.ceil(((burst - entry.tokens) / rpm) * 60));
  headers.push(
    entry.limitHeader,
    ['x-ratelimit-remaining', String(Math.floor(entry.tokens))],
    ['x-ratelimit-reset', String(reset)],
  );
}

export function quotaExceeded(quota: keyof Quotas, retryAfter?: number): HttpError {
  return new HttpError('QUOTA_EXCEEDED', `the tenant's ${quota} quota is used up`, {
    quota,
    ...(retryAfter === undefined ? {} : { retry_after: retryAfter }),
  });
}
