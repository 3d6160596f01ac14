// Authentication, roles and tenant isolation, end to end over loopback.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import {
  adminHeaders,
  get,
  post,
  type ServerProcess,
  startServerProcess,
} from '../helpers/server.js';
import { tmpDir } from '../helpers/tmp.js';

const SECRET = 's'.repeat(40);
const ADMIN_PASSWORD = 'correct horse battery';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function login(url: string, username: string, password: string): Promise<string> {
  const r = await post(`${url}/api/v1/auth/login`, { username, password }, {});
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.token as string;
}

async function sign(
  claims: Record<string, unknown>,
  secret = SECRET,
  expSec = 3600,
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('allsource')
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + expSec)
    .sign(Buffer.from(secret));
}

describe('authentication and roles', () => {
  const dataDir = tmpDir();
  let server: ServerProcess;
  let u: string;
  let dir: string;
  const env = { ALLSOURCE_JWT_SECRET: SECRET, ALLSOURCE_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD };
  before(async () => {
    dir = dataDir;
    server = await startServerProcess(dir, env);
    u = server.url;
  });
  after(async () => {
    if (process.env.ALLSOURCE_DEBUG_SERVER === '1') process.stderr.write(server.output());
    await server.stop();
  });

  it('refuses protected routes without valid credentials, and keeps public ones open', async () => {
    assert.equal((await get(`${u}/api/v1/events/query`, {})).status, 401);
    assert.equal(
      (await get(`${u}/api/v1/events/query`, { 'x-api-key': `ask_${'x'.repeat(43)}` })).status,
      401,
    );
    const denied = await post(
      `${u}/api/v1/events`,
      { event_type: 'a.b', entity_id: 'e', payload: {} },
      {},
    );
    assert.equal(denied.status, 401);
    assert.equal(denied.body.code, 'UNAUTHORIZED');
    assert.equal((await get(`${u}/health`, {})).status, 200);
    assert.equal((await get(`${u}/metrics`, {})).status, 200);
  });

  it('logs in the bootstrap admin and answers /me with the token', async () => {
    const token = await login(u, 'admin', ADMIN_PASSWORD);
    const me = await get(`${u}/api/v1/auth/me`, bearer(token));
    assert.equal(me.status, 200);
    assert.equal(me.body.username, 'admin');
    assert.equal(me.body.role, 'admin');
    const wrong = await post(
      `${u}/api/v1/auth/login`,
      { username: 'admin', password: 'nope-nope' },
      {},
    );
    const nobody = await post(
      `${u}/api/v1/auth/login`,
      { username: 'ghost', password: 'nope-nope' },
      {},
    );
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.body, nobody.body, 'a wrong password and a missing user look the same');
  });

  it('checks every route against every role', async () => {
    const callers: Record<string, Record<string, string>> = { admin: adminHeaders };
    for (const role of ['developer', 'readonly', 'serviceaccount']) {
      const reg = await post(`${u}/api/v1/auth/register`, {
        username: `m-${role}`,
        email: `${role}@x`,
        password: 'password-1',
        role,
      });
      assert.equal(reg.status, 201);
      callers[role] = bearer(await login(u, `m-${role}`, 'password-1'));
    }
    const event = { event_type: 'matrix.test', entity_id: 'm', payload: {} };
    const matrix: [string, (h: Record<string, string>) => Promise<{ status: number }>, string[]][] =
      [
        [
          'append',
          (h) => post(`${u}/api/v1/events`, event, h),
          ['admin', 'developer', 'serviceaccount'],
        ],
        [
          'batch',
          (h) => post(`${u}/api/v1/events/batch`, { events: [event] }, h),
          ['admin', 'developer', 'serviceaccount'],
        ],
        [
          'query',
          (h) => get(`${u}/api/v1/events/query`, h),
          ['admin', 'developer', 'readonly', 'serviceaccount'],
        ],
        [
          'stats',
          (h) => get(`${u}/api/v1/stats`, h),
          ['admin', 'developer', 'readonly', 'serviceaccount'],
        ],
        [
          'snapshot',
          (h) => post(`${u}/api/v1/snapshots`, { entity_id: 'm' }, h),
          ['admin', 'developer', 'serviceaccount'],
        ],
        ['users', (h) => get(`${u}/api/v1/auth/users`, h), ['admin']],
        [
          'register',
          (h) =>
            post(
              `${u}/api/v1/auth/register`,
              { username: `r${Math.random()}`, email: 'e', password: 'password-1' },
              h,
            ),
          ['admin'],
        ],
      ];
    for (const [name, call, allowed] of matrix) {
      for (const [role, headers] of Object.entries(callers)) {
        const { status } = await call(headers);
        if (allowed.includes(role)) assert.ok(status < 400, `${role} ${name}: ${status}`);
        else assert.equal(status, 403, `${role} ${name}`);
      }
    }
  });

  it('never lets a caller grant more than it has', async () => {
    await post(`${u}/api/v1/auth/register`, {
      username: 'dev2',
      email: 'd@x',
      password: 'password-2',
      role: 'developer',
    });
    const dev = bearer(await login(u, 'dev2', 'password-2'));
    const escalate = await post(`${u}/api/v1/auth/api-keys`, { name: 'mine', role: 'admin' }, dev);
    assert.equal(escalate.status, 403);
    const registerAdmin = await post(
      `${u}/api/v1/auth/register`,
      { username: 'evil', email: 'e@x', password: 'password-3', role: 'admin' },
      dev,
    );
    assert.equal(registerAdmin.status, 403);
    const key = await post(
      `${u}/api/v1/auth/api-keys`,
      { name: 'svc', role: 'serviceaccount', expires_in_days: 30 },
      dev,
    );
    assert.equal(key.status, 201);
    assert.match(key.body.key as string, /^ask_[A-Za-z0-9_-]{43}$/);
    const withKey = { 'x-api-key': key.body.key as string };
    assert.equal(
      (
        await post(
          `${u}/api/v1/events`,
          { event_type: 'k.k', entity_id: 'k', payload: {} },
          withKey,
        )
      ).status,
      200,
    );
    assert.equal((await get(`${u}/api/v1/auth/users`, withKey)).status, 403);
    const listed = await get(`${u}/api/v1/auth/api-keys`, dev);
    assert.ok((listed.body.api_keys as { id: string }[]).some((k) => k.id === key.body.id));
    assert.ok(
      !JSON.stringify(listed.body).includes(key.body.key as string),
      'keys are never shown again',
    );
    const revoke = await fetch(`${u}/api/v1/auth/api-keys/${key.body.id}`, {
      method: 'DELETE',
      headers: dev,
    });
    assert.equal(revoke.status, 200);
    assert.equal(
      (await get(`${u}/api/v1/events/query`, withKey)).status,
      401,
      'a revoked key stops at once',
    );
  });

  it('stops a deactivated user at once, tokens and keys alike', async () => {
    const reg = await post(`${u}/api/v1/auth/register`, {
      username: 'temp',
      email: 't@x',
      password: 'password-4',
      role: 'serviceaccount',
    });
    const token = bearer(await login(u, 'temp', 'password-4'));
    const key = await post(`${u}/api/v1/auth/api-keys`, { name: 'temp-key' }, token);
    assert.equal((await get(`${u}/api/v1/stats`, token)).status, 200);
    assert.equal(
      (await post(`${u}/api/v1/auth/users/${reg.body.user_id}/deactivate`, {})).status,
      200,
    );
    assert.equal((await get(`${u}/api/v1/stats`, token)).status, 401);
    assert.equal(
      (await get(`${u}/api/v1/stats`, { 'x-api-key': key.body.key as string })).status,
      401,
    );
    assert.equal(
      (await post(`${u}/api/v1/auth/users/${reg.body.user_id}/activate`, {})).status,
      200,
    );
    assert.equal((await get(`${u}/api/v1/stats`, token)).status, 200);
  });

  it('refuses forged, tampered, expired and unsigned tokens', async () => {
    const real = await login(u, 'admin', ADMIN_PASSWORD);
    const me = await get(`${u}/api/v1/auth/me`, bearer(real));
    const claims = { sub: me.body.id, tenant_id: 'default', role: 'admin' };
    const [head, body, sig] = real.split('.');
    const payload = JSON.parse(Buffer.from(body!, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    const tampered = `${head}.${Buffer.from(JSON.stringify({ ...payload, tenant_id: 'other' })).toString('base64url')}.${sig}`;
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${body}.`;
    const forged = [
      ['wrong key', await sign(claims, 'w'.repeat(40))],
      ['expired', await sign(claims, SECRET, -60)],
      ['tampered', tampered],
      ['alg none', none],
      ['garbage', 'not.a.token'],
    ];
    for (const [name, token] of forged) {
      assert.equal((await get(`${u}/api/v1/stats`, bearer(token!))).status, 401, name);
    }
    assert.equal(
      (await get(`${u}/api/v1/stats`, bearer(await sign(claims)))).status,
      200,
      'a well-signed token passes',
    );
  });

  it('keeps tenants apart on every read path, including the WebSocket', async () => {
    const created = await post(`${u}/api/v1/tenants`, { id: 'acme', name: 'Acme' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const reg = await post(`${u}/api/v1/auth/register`, {
      username: 'acme',
      email: 'a@x',
      password: 'password-5',
      role: 'developer',
      tenant_id: 'acme',
    });
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    const acme = bearer(await login(u, 'acme', 'password-5'));
    const theirs = await post(
      `${u}/api/v1/events`,
      { event_type: 'secret.kept', entity_id: 'shared', payload: { t: 'acme' } },
      acme,
    );
    const ours = await post(`${u}/api/v1/events`, {
      event_type: 'secret.kept',
      entity_id: 'shared',
      payload: { t: 'default' },
    });
    const acmeView = await get(`${u}/api/v1/events/query?entity_id=shared`, acme);
    assert.deepEqual(
      (acmeView.body.events as { payload: unknown; tenant_id: string }[]).map((e) => [
        e.payload,
        e.tenant_id,
      ]),
      [[{ t: 'acme' }, 'acme']],
    );
    assert.equal((await get(`${u}/api/v1/events/${ours.body.event_id}`, acme)).status, 404);
    assert.equal((await get(`${u}/api/v1/events/${theirs.body.event_id}`)).status, 404);
    assert.equal((await get(`${u}/api/v1/entities/shared/state`, acme)).body.event_count, 1);
    const token = (acme.authorization as string).slice(7);
    const ws = new WebSocket(`${u.replace('http', 'ws')}/api/v1/events/stream?token=${token}`);
    const frames: { tenant_id: string }[] = [];
    ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as { tenant_id: string }));
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ from_position: 0 }));
    await new Promise((r) => setTimeout(r, 200));
    await post(`${u}/api/v1/events`, { event_type: 'secret.kept', entity_id: 'x', payload: {} });
    await post(
      `${u}/api/v1/events`,
      { event_type: 'secret.kept', entity_id: 'x', payload: {} },
      acme,
    );
    await new Promise((r) => setTimeout(r, 300));
    ws.close();
    assert.ok(frames.length >= 2);
    assert.ok(
      frames.every((f) => f.tenant_id === undefined || f.tenant_id === 'acme'),
      JSON.stringify(frames),
    );
    const anonymous = new WebSocket(`${u.replace('http', 'ws')}/api/v1/events/stream`);
    const status = await new Promise<number>((resolve) =>
      anonymous.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    );
    assert.equal(status, 401);
  });

  it('keeps users, keys and the JWT secret across a restart', async () => {
    const token = await login(u, 'admin', ADMIN_PASSWORD);
    const key = await post(`${u}/api/v1/auth/api-keys`, { name: 'survivor' });
    assert.equal(await server.stop(), 0);
    server = await startServerProcess(dir, { ...env, ALLSOURCE_JWT_SECRET: '' });
    u = server.url;
    assert.equal(
      (await get(`${u}/api/v1/stats`, { 'x-api-key': key.body.key as string })).status,
      200,
    );
    assert.equal(
      (await get(`${u}/api/v1/stats`, bearer(await login(u, 'dev2', 'password-2')))).status,
      200,
    );
    assert.equal(
      (await get(`${u}/api/v1/auth/me`, bearer(token))).status,
      401,
      'a token signed with the old configured secret',
    );
  });

  // Last: it blocks logins from this address for the rest of the window.
  it('backs off repeated failed logins with 429 and Retry-After', async () => {
    await post(`${u}/api/v1/auth/register`, {
      username: 'victim',
      email: 'v@x',
      password: 'password-6',
    });
    let last = 0;
    let retry: unknown;
    for (let i = 0; i < 7; i++) {
      const r = await post(
        `${u}/api/v1/auth/login`,
        { username: 'victim', password: 'wrong-guess' },
        {},
      );
      last = r.status;
      retry = r.body.retry_after;
    }
    assert.equal(last, 429);
    assert.ok((retry as number) >= 1);
  });
});

it('serves without credentials only when authentication is switched off, and warns', async (t) => {
  const dir = tmpDir();
  const open = await startServerProcess(dir, { ALLSOURCE_AUTH_ENABLED: '0' });
  t.after(() => open.stop());
  const r = await post(
    `${open.url}/api/v1/events`,
    { event_type: 'a.b', entity_id: 'e', payload: {} },
    {},
  );
  assert.equal(r.status, 200);
  assert.match(open.output(), /WARNING: authentication is disabled/);
});

it('opens registration only when allowed, and then only as readonly in tenant default', async (t) => {
  const dir = tmpDir();
  const user = (n: number, extra: Record<string, unknown> = {}) => ({
    username: `reader-${n}`,
    email: `r${n}@example.com`,
    password: 'password-123',
    ...extra,
  });
  const closed = await startServerProcess(dir);
  const refused = await post(`${closed.url}/api/v1/auth/register`, user(0), {});
  assert.equal(refused.status, 401, 'closed by default');
  await closed.stop();

  const open = await startServerProcess(dir, {
    ALLSOURCE_AUTH_ALLOW_REGISTRATION: 'true',
    ALLSOURCE_AUTH_REGISTRATIONS_PER_HOUR: '2',
  });
  t.after(() => open.stop());
  const created = await post(`${open.url}/api/v1/auth/register`, user(1), {});
  assert.equal(created.status, 201);
  assert.equal(created.body.role, 'readonly');
  assert.equal(created.body.tenant_id, 'default');
  for (const extra of [{ role: 'admin' }, { role: 'developer' }, { tenant_id: 'other' }]) {
    const r = await post(`${open.url}/api/v1/auth/register`, user(2, extra), {});
    assert.equal(r.status, 403, JSON.stringify(extra));
  }
  assert.equal((await post(`${open.url}/api/v1/auth/register`, user(3), {})).status, 201);
  const limited = await post(`${open.url}/api/v1/auth/register`, user(4), {});
  assert.equal(limited.status, 429, 'a bounded number per address');
  assert.ok(Number(limited.headers.get('retry-after')) >= 1);
  // With credentials the route is the admin's, as before.
  const byAdmin = await post(`${open.url}/api/v1/auth/register`, user(5, { role: 'developer' }));
  assert.equal(byAdmin.status, 201);
  assert.equal(byAdmin.body.role, 'developer');
});
