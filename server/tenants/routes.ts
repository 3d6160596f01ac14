// /api/v1/tenants/...: create, list, read, stats, quotas, activate, deactivate, delete.
import type { Store } from '../../engine/index.js';
import type { Accounts } from '../auth/accounts.js';
import type { Caller } from '../auth/authenticate.js';
import { Permission } from '../auth/roles.js';
import { HttpError } from '../errors.js';
import { parseJsonBody } from '../http/event_input.js';
import { send } from '../http/reply.js';
import type { Handler } from '../http/request.js';
import { QUOTA_KEYS, type Quotas, type Rate } from './presets.js';
import {
  type Registry,
  type RetentionJson,
  retentionPolicy,
  type TenantEntry,
} from './registry.js';

function json(entry: TenantEntry) {
  const r = entry.record;
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    quotas: r.quotas,
    rate: r.rate,
    created_at: r.created_at,
    updated_at: r.updated_at,
    active: r.active,
    retention: r.retention ?? null,
  };
}

function object(raw: Buffer | null): Record<string, unknown> {
  const value = parseJsonBody(raw!);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError('VALIDATION_ERROR', 'the body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

function applyQuotas(target: Quotas, input: unknown): void {
  if (input === undefined) return;
  if (input === null || typeof input !== 'object')
    throw new HttpError('VALIDATION_ERROR', 'quotas must be an object', { field: 'quotas' });
  for (const [key, value] of Object.entries(input)) {
    if (!(QUOTA_KEYS as string[]).includes(key))
      throw new HttpError('VALIDATION_ERROR', `unknown quota ${key}`, { field: key });
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw new HttpError('VALIDATION_ERROR', `${key} must be an integer >= 0 (0 = unlimited)`, {
        field: key,
      });
    }
    target[key as keyof Quotas] = value;
  }
}

function applyRate(target: Rate, input: unknown): void {
  if (input === undefined) return;
  const r = input as Partial<Rate> | null;
  const ok = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 1;
  if (r === null || typeof r !== 'object' || !ok(r.requests_per_minute) || !ok(r.burst_size)) {
    throw new HttpError(
      'VALIDATION_ERROR',
      'rate needs requests_per_minute and burst_size, integers >= 1',
      { field: 'rate' },
    );
  }
  target.requests_per_minute = r.requests_per_minute!;
  target.burst_size = r.burst_size!;
}

export function tenantRoutes(registry: Registry, store: Store, accounts: Accounts) {
  const canManage = (caller: Caller) => (caller.permissions & Permission.ManageTenants) !== 0;
  /** A tenant the caller may see; any other answers exactly like a missing one. */
  const visible = (caller: Caller, id: string): TenantEntry => {
    const entry = registry.get(id);
    if (entry === undefined || (id !== caller.tenantId && !canManage(caller)))
      throw new HttpError('NOT_FOUND', 'no such tenant');
    return entry;
  };
  const notDefault = (id: string, what: string): void => {
    if (id === 'default')
      throw new HttpError('VALIDATION_ERROR', `the default tenant cannot be ${what}`);
  };

  const create: Handler = async (ex, _info, _caller, raw) => {
    const b = object(raw);
    if (typeof b.id !== 'string' || typeof b.name !== 'string' || b.name.length === 0) {
      throw new HttpError('VALIDATION_ERROR', 'id and name are required strings', { field: 'id' });
    }
    const entry = await registry.create({
      id: b.id,
      name: b.name,
      description: typeof b.description === 'string' ? b.description : '',
      preset: typeof b.quota_preset === 'string' ? b.quota_preset : 'standard',
    });
    await registry.update(entry, () => {
      applyQuotas(entry.record.quotas, b.quotas);
      applyRate(entry.record.rate, b.rate);
      entry.tokens = entry.record.rate.burst_size;
    });
    send(ex, '201 Created', JSON.stringify(json(entry)));
  };
  const list: Handler = (ex) => {
    const tenants = registry.list().map(json);
    send(ex, '200 OK', JSON.stringify({ tenants, total: tenants.length }));
  };
  const one: Handler = (ex, info, caller) =>
    send(ex, '200 OK', JSON.stringify(json(visible(caller, info.params[0]!))));
  const stats: Handler = (ex, info, caller) => {
    const entry = visible(caller, info.params[0]!);
    const r = entry.record;
    const now = Date.now();
    const usage = {
      events_today: store.countSince(r.id, (now - 86_400_000) * 1000).count,
      queries_this_hour: entry.queries.count(now),
      storage_bytes: store.stats(r.id).storageBytes,
      api_keys: [...accounts.keys()].filter((k) => k.tenant_id === r.id && !k.revoked).length,
      projections: 0,
      pipelines: 0,
    };
    const ratio = (used: number, max: number) => (max === 0 ? 0 : used / max);
    const utilization = {
      events_today: ratio(usage.events_today, r.quotas.max_events_per_day),
      queries_this_hour: ratio(usage.queries_this_hour, r.quotas.max_queries_per_hour),
      storage_bytes: ratio(usage.storage_bytes, r.quotas.max_storage_bytes),
      api_keys: ratio(usage.api_keys, r.quotas.max_api_keys),
    };
    send(
      ex,
      '200 OK',
      JSON.stringify({
        tenant_id: r.id,
        name: r.name,
        active: r.active,
        usage,
        quotas: r.quotas,
        utilization,
        created_at: r.created_at,
        updated_at: r.updated_at,
      }),
    );
  };
  const quotas: Handler = async (ex, info, caller, raw) => {
    const entry = visible(caller, info.params[0]!);
    const b = object(raw);
    const next = { ...entry.record.quotas };
    const rate = { ...entry.record.rate };
    const { rate: rateInput, ...rest } = b;
    applyQuotas(next, b.quotas ?? rest);
    applyRate(rate, rateInput);
    await registry.update(entry, () => {
      entry.record.quotas = next;
      entry.record.rate = rate;
      entry.tokens = Math.min(entry.tokens, rate.burst_size);
    });
    send(ex, '200 OK', JSON.stringify(json(entry)));
  };
  /** PUT retention: {max_age_days, max_bytes}, each a whole number (0: unlimited), or null to inherit. */
  const retention: Handler = async (ex, info, caller, raw) => {
    const entry = visible(caller, info.params[0]!);
    const value = parseJsonBody(raw!);
    let next: RetentionJson | null = null;
    if (value !== null) {
      const b = value as Partial<RetentionJson>;
      const whole = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
      if (
        typeof b !== 'object' ||
        Array.isArray(b) ||
        !whole(b.max_age_days) ||
        !whole(b.max_bytes)
      ) {
        throw new HttpError(
          'VALIDATION_ERROR',
          'retention needs max_age_days and max_bytes, whole numbers >= 0 (0 = unlimited), or null',
          { field: 'retention' },
        );
      }
      next = { max_age_days: b.max_age_days!, max_bytes: b.max_bytes! };
    }
    store.setRetention(entry.record.id, next === null ? null : retentionPolicy(next));
    await registry.update(entry, () => {
      entry.record.retention = next;
    });
    send(ex, '200 OK', JSON.stringify(json(entry)));
  };
  const setActive =
    (active: boolean): Handler =>
    async (ex, info, caller) => {
      const entry = visible(caller, info.params[0]!);
      if (!active) notDefault(entry.record.id, 'deactivated');
      await registry.update(entry, () => {
        entry.record.active = active;
      });
      send(ex, '200 OK', JSON.stringify(json(entry)));
    };
  const remove: Handler = async (ex, info, caller) => {
    const entry = visible(caller, info.params[0]!);
    notDefault(entry.record.id, 'deleted');
    // Its users and keys go first, so that nothing can write while the data is removed.
    for (const user of [...accounts.users.values()])
      if (user.tenant_id === entry.record.id) await accounts.deleteUser(user.id);
    await accounts.update(() => {
      for (const key of accounts.keys()) if (key.tenant_id === entry.record.id) key.revoked = true;
    });
    await registry.remove(entry.record.id);
    await store.deleteTenant(entry.record.id);
    send(ex, '200 OK', JSON.stringify({ id: entry.record.id, deleted: true }));
  };
  return {
    create,
    list,
    one,
    stats,
    quotas,
    activate: setActive(true),
    deactivate: setActive(false),
    remove,
    retention,
  };
}
