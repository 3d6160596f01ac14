// Tenants: management, isolation of state, quotas, rate limits, usage across restarts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { get, post, type ServerProcess, startServerProcess } from '../helpers/server.js';
import { tmpDir } from '../helpers/tmp.js';

const event = (entity: string) => ({ event_type: 't.t', entity_id: entity, payload: {} });

describe('tenants, quotas and rate limits', () => {
  const dataDir = tmpDir();
  let server: ServerProcess;
  let u: string;
  before(async () => {
    server = await startServerProcess(dataDir);
    u = server.url;
  });
  after(() => server.stop());

  /** A tenant with an admin API key of its own. */
  async function tenant(
    id: string,
    body: Record<string, unknown> = {},
  ): Promise<Record<string, string>> {
    const created = await post(`${u}/api/v1/tenants`, { id, name: id, ...body });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const reg = await post(`${u}/api/v1/auth/register`, {
      username: `${id}-dev`,
      email: 'x',
      password: 'password-1',
      role: 'developer',
      tenant_id: id,
    });
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    const login = await post(
      `${u}/api/v1/auth/login`,
      { username: `${id}-dev`, password: 'password-1' },
      {},
    );
    return { authorization: `Bearer ${login.body.token as string}` };
  }

  it('creates tenants from presets, lists them, and reports stats with usage', async () => {
    const h = await tenant('t-free', { quota_preset: 'free', description: 'trial' });
    const one = await get(`${u}/api/v1/tenants/t-free`, h);
    assert.equal((one.body.quotas as { max_events_per_day: number }).max_events_per_day, 10_000);
    assert.deepEqual(one.body.rate, { requests_per_minute: 60, burst_size: 100 });
    await post(`${u}/api/v1/events/batch`, { events: [event('a'), event('b')] }, h);
    const stats = await get(`${u}/api/v1/tenants/t-free/stats`, h);
    assert.equal((stats.body.usage as { events_today: number }).events_today, 2);
    assert.equal((stats.body.utilization as { events_today: number }).events_today, 2 / 10_000);
    const list = await get(`${u}/api/v1/tenants`);
    assert.ok((list.body.tenants as { id: string }[]).some((t) => t.id === 't-free'));
    assert.equal((await get(`${u}/api/v1/tenants`, h)).status, 403, 'listing needs ManageTenants');
    assert.equal(
      (await get(`${u}/api/v1/tenants/default`, h)).status,
      404,
      'another tenant looks missing',
    );
    assert.equal((await post(`${u}/api/v1/tenants`, { id: 'bad/id', name: 'x' })).status, 400);
    assert.equal((await post(`${u}/api/v1/tenants`, { id: 't-free', name: 'x' })).status, 409);
  });

  it('limits the request rate per tenant with a token bucket and says so in headers', async () => {
    const h = await tenant('t-slow', { rate: { requests_per_minute: 60, burst_size: 3 } });
    const statuses: number[] = [];
    let last: Headers | null = null;
    for (let i = 0; i < 4; i++) {
      const r = await get(`${u}/api/v1/stats`, h);
      statuses.push(r.status);
      last = r.headers;
    }
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    assert.ok(Number(last!.get('retry-after')) >= 1);
    assert.equal(last!.get('x-ratelimit-limit'), '60');
    assert.equal(last!.get('x-ratelimit-remaining'), '0');
    const other = await get(`${u}/api/v1/stats`);
    assert.equal(other.status, 200, 'other tenants are not slowed down');
    assert.ok(other.headers.get('x-ratelimit-remaining') !== null);
  });

  it('enforces quotas inline, naming the quota', async () => {
    const h = await tenant('t-small', {
      quotas: { max_events_per_day: 5, max_api_keys: 1, max_queries_per_hour: 3 },
    });
    assert.equal(
      (await post(`${u}/api/v1/events/batch`, { events: [event('a'), event('b'), event('c')] }, h))
        .status,
      200,
    );
    const over = await post(
      `${u}/api/v1/events/batch`,
      { events: [event('d'), event('e'), event('f')] },
      h,
    );
    assert.equal(over.status, 429);
    assert.equal(over.body.code, 'QUOTA_EXCEEDED');
    assert.equal(over.body.quota, 'max_events_per_day');
    assert.ok(Number(over.headers.get('retry-after')) >= 1);
    assert.equal((await post(`${u}/api/v1/auth/api-keys`, { name: 'one' }, h)).status, 201);
    const second = await post(`${u}/api/v1/auth/api-keys`, { name: 'two' }, h);
    assert.equal(second.body.quota, 'max_api_keys');
    const queries = [];
    for (let i = 0; i < 4; i++) queries.push((await get(`${u}/api/v1/events/query`, h)).status);
    assert.deepEqual(queries, [200, 200, 200, 429]);
    const raise = await fetch(`${u}/api/v1/tenants/t-small/quotas`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-api-key': `ask_${'t'.repeat(43)}` },
      body: JSON.stringify({ max_events_per_day: 100 }),
    });
    assert.equal(raise.status, 200);
    assert.equal((await post(`${u}/api/v1/events/batch`, { events: [event('d')] }, h)).status, 200);
  });

  it('stops a deactivated tenant, refuses to deactivate default, and deletes data', async () => {
    const h = await tenant('t-gone');
    await post(`${u}/api/v1/events`, event('x'), h);
    assert.equal((await post(`${u}/api/v1/tenants/t-gone/deactivate`, {})).status, 200);
    assert.equal((await get(`${u}/api/v1/stats`, h)).status, 403);
    assert.equal((await post(`${u}/api/v1/tenants/t-gone/activate`, {})).status, 200);
    assert.equal((await get(`${u}/api/v1/stats`, h)).status, 200);
    assert.equal((await post(`${u}/api/v1/tenants/default/deactivate`, {})).status, 400);
    const deleted = await fetch(`${u}/api/v1/tenants/t-gone`, {
      method: 'DELETE',
      headers: { 'x-api-key': `ask_${'t'.repeat(43)}` },
    });
    assert.equal(deleted.status, 200);
    assert.equal((await get(`${u}/api/v1/stats`, h)).status, 401, 'its users are gone');
    assert.equal((await get(`${u}/api/v1/tenants/t-gone`)).status, 404);
    const again = await tenant('t-gone');
    assert.equal(
      (await get(`${u}/api/v1/events/query`, again)).body.count,
      0,
      'a new tenant of that id starts empty',
    );
  });

  it('keeps tenants and usage across a restart', async () => {
    const before = await get(`${u}/api/v1/tenants/t-free/stats`);
    assert.equal(await server.stop(), 0);
    server = await startServerProcess(dataDir);
    u = server.url;
    const afterRestart = await get(`${u}/api/v1/tenants/t-free/stats`);
    assert.deepEqual(
      (afterRestart.body.usage as { events_today: number }).events_today,
      (before.body.usage as { events_today: number }).events_today,
    );
    assert.equal(afterRestart.body.name, 't-free');
  });
});
