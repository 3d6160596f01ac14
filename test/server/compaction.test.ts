// Erasure, retention and compaction through the HTTP API.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { adminHeaders, get, post, startServerProcess } from '../helpers/server.js';
import { tmpDir } from '../helpers/tmp.js';

const SECRET = 'jane.doe@example.com';

async function call(url: string, method: string, body?: unknown) {
  const res = await fetch(url, {
    method,
    headers: { ...adminHeaders, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function onDisk(dataDir: string, text: string): boolean {
  const dir = path.join(dataDir, 'tenants', 'default', 'events');
  return fs.readdirSync(dir).some((n) => {
    try {
      return fs.readFileSync(path.join(dir, n), 'latin1').includes(text);
    } catch (error) {
      // A seal may rename its temporary index file between the listing and the read.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  });
}

it('erases an entity at once, and compaction removes it from disk', async (t) => {
  const dir = tmpDir();
  const server = await startServerProcess(dir, {
    ALLSOURCE_STORAGE_SEGMENT_BYTES_MAX: '4096',
    ALLSOURCE_STORAGE_COMPACTION_INTERVAL_SEC: '0',
  });
  t.after(() => server.kill());
  let firstId = '';
  for (let i = 0; i < 40; i++) {
    const r = await post(`${server.url}/api/v1/events`, {
      event_type: 'user.updated',
      entity_id: 'user-1',
      payload: { email: SECRET, i },
    });
    assert.equal(r.status, 200);
    if (i === 0) firstId = r.body.event_id as string;
    await post(`${server.url}/api/v1/events`, {
      event_type: 'order.placed',
      entity_id: `order-${i}`,
      payload: { i },
    });
  }
  const reserved = await post(`${server.url}/api/v1/events`, {
    event_type: 'allsource.entity_erased',
    entity_id: 'user-2',
    payload: {},
  });
  assert.equal(reserved.status, 400);
  assert.equal(reserved.body.code, 'VALIDATION_ERROR');

  const erased = await call(`${server.url}/api/v1/entities/user-1`, 'DELETE');
  assert.equal(erased.status, 200, JSON.stringify(erased.body));
  assert.equal(erased.body.erased, true);
  assert.equal(erased.body.version, 41);
  const missing = await call(`${server.url}/api/v1/entities/nobody`, 'DELETE');
  assert.equal(missing.status, 404);

  const q = await get(`${server.url}/api/v1/events/query?entity_id=user-1`);
  assert.deepEqual(
    (q.body.events as { event_type: string }[]).map((e) => e.event_type),
    ['allsource.entity_erased'],
  );
  assert.equal((await get(`${server.url}/api/v1/events/${firstId}`)).status, 404);
  const orders = await get(`${server.url}/api/v1/events/query?event_type=order.placed&limit=100`);
  assert.equal((orders.body.events as unknown[]).length, 40);
  assert.ok(onDisk(dir, SECRET));

  const run = await call(`${server.url}/api/v1/compaction/trigger`, 'POST');
  assert.equal(run.status, 200);
  assert.ok((run.body.events_compacted as number) >= 40, JSON.stringify(run.body));
  assert.ok((run.body.bytes_after as number) < (run.body.bytes_before as number));
  assert.ok(!onDisk(dir, SECRET), 'the erased data is gone from every segment');
  const stats = await get(`${server.url}/api/v1/compaction/stats`);
  assert.equal(stats.body.runs, 1);
  assert.equal(stats.body.running, false);
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /^allsource_compaction_runs_total 1$/m);
  assert.match(metrics, /^allsource_compaction_events_removed_total [1-9]\d*$/m);
  const after = await get(`${server.url}/api/v1/events/query?event_type=order.placed&limit=100`);
  assert.deepEqual(after.body.events, orders.body.events, 'survivors unchanged');
});

it("sets a tenant's retention and applies it at the next pass", async (t) => {
  const dir = tmpDir();
  const server = await startServerProcess(dir, {
    ALLSOURCE_STORAGE_SEGMENT_BYTES_MAX: '4096',
    ALLSOURCE_STORAGE_COMPACTION_INTERVAL_SEC: '0',
  });
  t.after(() => server.kill());
  for (let i = 0; i < 60; i++) {
    await post(`${server.url}/api/v1/events`, {
      event_type: 'metric.sampled',
      entity_id: `sensor-${i % 3}`,
      payload: { i, pad: 'x'.repeat(80) },
    });
  }
  const bad = await call(`${server.url}/api/v1/tenants/default/retention`, 'PUT', {
    max_age_days: -1,
    max_bytes: 0,
  });
  assert.equal(bad.status, 400);
  const set = await call(`${server.url}/api/v1/tenants/default/retention`, 'PUT', {
    max_age_days: 0,
    max_bytes: 4096,
  });
  assert.equal(set.status, 200);
  assert.deepEqual(set.body.retention, { max_age_days: 0, max_bytes: 4096 });
  const run = await call(`${server.url}/api/v1/compaction/trigger`, 'POST');
  assert.ok((run.body.events_compacted as number) > 0);
  const left = await get(`${server.url}/api/v1/events/query?limit=1000`);
  const positions = (left.body.events as { position: number }[]).map((e) => e.position);
  assert.ok(positions.length < 60);
  assert.equal(positions[positions.length - 1], 60, 'the newest events stay');
  // Inherit again: the override is gone, also after a restart.
  const cleared = await call(`${server.url}/api/v1/tenants/default/retention`, 'PUT', null);
  assert.equal(cleared.body.retention, null);
});
