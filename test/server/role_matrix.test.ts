// Every route of the server's own table against every role: 403 exactly when the role lacks
// the route's permission. Generated, so a new route cannot skip the check.

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { rolePermissions } from '../../server/auth/roles.js';
import type { RunningServer } from '../../server/server.js';
import { startInProcess } from '../helpers/in_process.js';
import { newTmpDir, removeDir } from '../helpers/tmp.js';

const KEY = `ask_${'m'.repeat(43)}`;
const dir = newTmpDir();
let server: RunningServer;
let base: string;
const callers: Record<string, Record<string, string>> = {};

async function call(method: string, url: string, headers: Record<string, string>, body?: unknown) {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  await res.arrayBuffer();
  return res.status;
}

before(async () => {
  ({ server, base } = await startInProcess(dir, KEY, 'matrix-admin-pass'));
  callers.admin = { 'x-api-key': KEY };
  for (const role of ['developer', 'readonly', 'serviceaccount']) {
    const reg = { username: `u-${role}`, email: 'x', password: 'password-1', role };
    assert.equal(await call('POST', `${base}/api/v1/auth/register`, callers.admin, reg), 201);
    const login = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: `u-${role}`, password: 'password-1' }),
    });
    callers[role] = {
      authorization: `Bearer ${((await login.json()) as { token: string }).token}`,
    };
  }
});

after(async () => {
  await server.close();
  removeDir(dir);
});

it('answers 403 on every route exactly when the role lacks its permission', async () => {
  let checked = 0;
  for (const route of server.routes) {
    if (route.permission === null) continue;
    const path = route.pattern.replace(/:[a-z_]+/g, 'no-such-thing');
    const body = route.method === 'POST' || route.method === 'PUT' ? {} : undefined;
    for (const [role, headers] of Object.entries(callers)) {
      const status = await call(route.method, `${base}${path}`, headers, body);
      const allowed =
        (rolePermissions[role as keyof typeof rolePermissions] & route.permission) !== 0;
      if (allowed) assert.notEqual(status, 403, `${role} ${route.method} ${route.pattern}`);
      else assert.equal(status, 403, `${role} ${route.method} ${route.pattern}`);
      checked++;
    }
  }
  assert.ok(checked >= 4 * 25, `only ${checked} checks`);
  for (const route of server.routes) {
    if (route.permission === null) continue;
    const status = await call(
      route.method,
      `${base}${route.pattern.replace(/:[a-z_]+/g, 'x')}`,
      {},
    );
    assert.equal(status, 401, `${route.method} ${route.pattern} without credentials`);
  }
});
