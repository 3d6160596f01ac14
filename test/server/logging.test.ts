// Structured logs: JSON lines (or pretty ones) with request ids, echoed to clients as
// x-request-id, and no secrets on any line.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { adminHeaders, post, startServerProcess } from '../helpers/server.js';
import { tmpDir } from '../helpers/tmp.js';

const PASSWORD = 'correct-horse-battery';

it('logs JSON lines with request ids and never a secret', async (t) => {
  const server = await startServerProcess(tmpDir(), {
    ALLSOURCE_LOGGING_ACCESS: 'true',
    ALLSOURCE_BOOTSTRAP_ADMIN_PASSWORD: PASSWORD,
  });
  t.after(() => server.kill());
  const chosen = await post(
    `${server.url}/api/v1/events`,
    { event_type: 'a.b', entity_id: 'e', payload: {} },
    { ...adminHeaders, 'x-request-id': 'trace-abc.123' },
  );
  assert.equal(chosen.status, 200);
  assert.equal(chosen.headers.get('x-request-id'), 'trace-abc.123');
  const generated = await post(
    `${server.url}/api/v1/auth/login`,
    {
      username: 'admin',
      password: PASSWORD,
    },
    { 'x-request-id': 'bad id with spaces' },
  );
  assert.equal(generated.status, 200);
  const id = generated.headers.get('x-request-id')!;
  assert.match(id, /^[0-9a-f]{8}-[0-9a-z]+$/, 'an unusable incoming id is replaced');
  await server.stop();

  const lines = server
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(lines.some((l) => l.msg === 'listening' && l.service === 'allsource'));
  const access = lines.filter((l) => l.msg === 'request');
  const first = access.find((l) => l.req_id === 'trace-abc.123');
  assert.ok(first, 'the access line carries the client id');
  assert.equal(first.route, '/api/v1/events');
  assert.equal(first.status, 200);
  assert.equal(first.tenant, 'default');
  assert.ok(access.some((l) => l.req_id === id && l.route === '/api/v1/auth/login'));
  const all = server.output();
  assert.ok(!all.includes(PASSWORD), 'the password never reaches the log');
  assert.ok(!all.includes('ask_'), 'no API key reaches the log');
});

it('writes readable lines with format = pretty', async (t) => {
  const server = await startServerProcess(tmpDir(), { ALLSOURCE_LOGGING_FORMAT: 'pretty' });
  t.after(() => server.kill());
  await server.stop();
  assert.match(server.output(), /INFO.*listening/);
  assert.ok(
    !server
      .output()
      .split('\n')
      .some((l) => l.startsWith('{"level"')),
  );
});
