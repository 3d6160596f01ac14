// Every route over loopback against a real server process, and every error status.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  adminHeaders,
  get,
  post,
  type ServerProcess,
  startServerProcess,
} from '../helpers/server.js';
import { tmpDir } from '../helpers/tmp.js';

describe('HTTP routes', () => {
  const dataDir = tmpDir();
  let server: ServerProcess;
  let u: string;
  before(async () => {
    const dir = dataDir;
    server = await startServerProcess(dir, {
      ALLSOURCE_SERVER_BODY_BYTES_MAX: '4096',
      ALLSOURCE_STORAGE_BATCH_EVENTS_MAX: '5',
    });
    u = server.url;
  });
  after(() => server.stop());

  it('reports health with the native transport', async () => {
    const { status, body } = await get(`${u}/health`);
    assert.equal(status, 200);
    assert.equal(body.status, 'healthy');
    assert.equal(body.service, 'allsource-core');
    assert.equal(body.transport, 'uws-native');
  });

  it('appends, enforces expected versions, and answers a retried id with the original', async () => {
    const first = await post(`${u}/api/v1/events`, {
      event_type: 'user.created',
      entity_id: 'u-1',
      payload: { name: 'Ada' },
    });
    assert.equal(first.status, 200);
    assert.deepEqual(Object.keys(first.body), ['event_id', 'timestamp', 'version', 'position']);
    assert.match(first.body.timestamp as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const conflict = await post(`${u}/api/v1/events`, {
      event_type: 'user.renamed',
      entity_id: 'u-1',
      payload: {},
      expected_version: 0,
    });
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.code, 'WRONG_EXPECTED_VERSION');
    assert.equal(conflict.body.current_version, 1);
    const keyed = {
      event_type: 'user.renamed',
      entity_id: 'u-1',
      payload: { name: 'Ada L' },
      id: 'req-7',
      expected_version: 1,
    };
    const once = await post(`${u}/api/v1/events`, keyed);
    const twice = await post(`${u}/api/v1/events`, keyed);
    assert.equal(once.status, 200);
    assert.equal(twice.status, 200);
    assert.deepEqual(twice.body, once.body);
  });

  it('writes batches atomically and returns every result', async () => {
    const ok = await post(`${u}/api/v1/events/batch`, {
      events: [
        { event_type: 'order.placed', entity_id: 'o-1', payload: { total: 5 } },
        {
          event_type: 'order.paid',
          entity_id: 'o-1',
          payload: { paid: true },
          metadata: { via: 'card' },
        },
      ],
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.total, 2);
    assert.equal(ok.body.ingested, 2);
    const results = ok.body.events as { event_id: string; position: number; timestamp: string }[];
    assert.equal(results[1]!.position, results[0]!.position + 1);
    assert.equal(results[0]!.timestamp, results[1]!.timestamp, 'one round, one timestamp');
    // Client ids come back exactly, escaped where JSON needs it.
    const odd = ['say "hi"', 'back\\slash', 'caf\u00e9'];
    const withIds = await post(`${u}/api/v1/events/batch`, {
      events: odd.map((id) => ({ id, event_type: 'odd.id', entity_id: 'o-3', payload: {} })),
    });
    assert.equal(withIds.status, 200);
    assert.deepEqual(
      (withIds.body.events as { event_id: string }[]).map((e) => e.event_id),
      odd,
    );
    const bad = await post(`${u}/api/v1/events/batch`, {
      events: [
        { event_type: 'order.placed', entity_id: 'o-2', payload: {} },
        { event_type: 'order.paid', entity_id: 'o-1', payload: {}, expected_version: 0 },
      ],
    });
    assert.equal(bad.status, 409);
    const o2 = await get(`${u}/api/v1/events/query?entity_id=o-2`);
    assert.equal(o2.body.count, 0, 'nothing of the failed batch was written');
  });

  it('queries with filters, order, cursor and time bounds, and fetches by id', async () => {
    for (let i = 0; i < 6; i++)
      await post(`${u}/api/v1/events`, {
        event_type: 'tick.tock',
        entity_id: 'clock',
        payload: { i },
      });
    const all = await get(`${u}/api/v1/events/query?entity_id=clock`);
    const events = all.body.events as Record<string, unknown>[];
    assert.equal(all.body.count, 6);
    assert.deepEqual(Object.keys(events[0]!), [
      'id',
      'event_type',
      'entity_id',
      'tenant_id',
      'payload',
      'timestamp',
      'metadata',
      'version',
      'position',
    ]);
    assert.equal(events[0]!.tenant_id, 'default');
    const page = await get(`${u}/api/v1/events/query?entity_id=clock&limit=4&order=desc`);
    assert.equal(page.body.has_more, true);
    const rest = await get(
      `${u}/api/v1/events/query?entity_id=clock&order=desc&after_position=${page.body.next_position}`,
    );
    assert.equal(rest.body.count, 2);
    const since = events[2]!.timestamp as string;
    const until = events[4]!.timestamp as string;
    const window = await get(
      `${u}/api/v1/events/query?entity_id=clock&since=${since}&until=${until}`,
    );
    assert.deepEqual(
      (window.body.events as { payload: { i: number } }[]).map((e) => e.payload.i),
      [2, 3, 4],
    );
    const asOf = await get(`${u}/api/v1/events/query?entity_id=clock&as_of=${since}`);
    assert.equal(asOf.body.count, 3);
    const prefix = await get(`${u}/api/v1/events/query?event_type_prefix=tick.`);
    assert.equal(prefix.body.count, 6);
    const one = await get(`${u}/api/v1/events/${events[1]!.id}`);
    assert.deepEqual(one.body, events[1]);
    assert.equal(
      (await get(`${u}/api/v1/events/00000000-0000-8000-8000-000000000000`)).status,
      404,
    );
  });

  it('reconstructs entity state, with snapshots, and counts', async () => {
    await post(`${u}/api/v1/events`, {
      event_type: 'acct.opened',
      entity_id: 'acct',
      payload: { owner: 'x', balance: 0 },
    });
    await post(`${u}/api/v1/events`, {
      event_type: 'acct.credited',
      entity_id: 'acct',
      payload: { balance: 10 },
    });
    const snap = await post(`${u}/api/v1/snapshots`, { entity_id: 'acct' });
    assert.equal(snap.status, 200);
    assert.equal(snap.body.event_count, 2);
    await post(`${u}/api/v1/events`, {
      event_type: 'acct.credited',
      entity_id: 'acct',
      payload: { balance: 25 },
    });
    const state = await get(`${u}/api/v1/entities/acct/state`);
    assert.equal(state.status, 200);
    assert.deepEqual(state.body.current_state, { owner: 'x', balance: 25 });
    assert.equal(state.body.event_count, 3);
    const list = await get(`${u}/api/v1/snapshots?entity_id=acct`);
    assert.equal(list.body.total, 1);
    const latest = await get(`${u}/api/v1/snapshots/acct/latest`);
    assert.deepEqual(latest.body.state, { owner: 'x', balance: 10 });
    const projection = await get(`${u}/api/v1/entities/acct/snapshot`);
    assert.equal(projection.body.from_projection, 'entity_snapshots');
    assert.equal((await get(`${u}/api/v1/entities/nobody/state`)).status, 404);
    const stats = await get(`${u}/api/v1/stats`);
    assert.ok((stats.body.total_events as number) > 0);
    const metrics = await get(`${u}/metrics`);
    const text = metrics.body.text as string;
    assert.match(text, /^allsource_events_ingested_total \d+$/m);
    assert.match(
      text,
      /^allsource_http_requests_total\{route="\/api\/v1\/events",status="200"\} \d+$/m,
    );
    assert.match(
      text,
      /^allsource_http_request_duration_seconds_bucket\{le="\+Inf",route="\/api\/v1\/stats"\} [1-9]\d*$/m,
    );
    assert.match(text, /^allsource_ingestion_duration_seconds_count [1-9]\d*$/m);
    assert.match(text, /^allsource_fsync_duration_seconds_count [1-9]\d*$/m);
    assert.match(text, /^allsource_transport_info\{transport="uws-native"\} 1$/m);
  });

  it('answers bad input with the JSON error of API.md and stays up', async () => {
    const cases: [
      string,
      () => Promise<{ status: number; body: Record<string, unknown> }>,
      number,
      string,
    ][] = [
      ['malformed JSON', () => post(`${u}/api/v1/events`, '{"event_type":'), 400, 'INVALID_JSON'],
      [
        'invalid UTF-8',
        () => post(`${u}/api/v1/events`, Buffer.from([0x7b, 0xff, 0x7d])),
        400,
        'INVALID_JSON',
      ],
      [
        'missing field',
        () => post(`${u}/api/v1/events`, { event_type: 'a.b', payload: {} }),
        400,
        'VALIDATION_ERROR',
      ],
      [
        'ill-typed field',
        () => post(`${u}/api/v1/events`, { event_type: 5, entity_id: 'e', payload: {} }),
        400,
        'VALIDATION_ERROR',
      ],
      [
        'bad event type',
        () => post(`${u}/api/v1/events`, { event_type: 'A..b', entity_id: 'e', payload: {} }),
        400,
        'VALIDATION_ERROR',
      ],
      [
        'deep nesting',
        () =>
          post(
            `${u}/api/v1/events`,
            `{"event_type":"a.b","entity_id":"e","payload":${'['.repeat(100)}${']'.repeat(100)}}`,
          ),
        400,
        'VALIDATION_ERROR',
      ],
      [
        'body too large',
        () =>
          post(`${u}/api/v1/events`, {
            event_type: 'a.b',
            entity_id: 'e',
            payload: 'x'.repeat(5000),
          }),
        413,
        'PAYLOAD_TOO_LARGE',
      ],
      [
        'batch too large',
        () =>
          post(`${u}/api/v1/events/batch`, {
            events: Array.from({ length: 6 }, () => ({
              event_type: 'a.b',
              entity_id: 'e',
              payload: 1,
            })),
          }),
        413,
        'LIMIT_EXCEEDED',
      ],
      [
        'wrong content type',
        () => post(`${u}/api/v1/events`, 'x', { ...adminHeaders, 'content-type': 'text/plain' }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      ['unknown route', () => get(`${u}/api/v1/nothing`), 404, 'ROUTE_NOT_FOUND'],
      ['bad order', () => get(`${u}/api/v1/events/query?order=up`), 400, 'VALIDATION_ERROR'],
      [
        'limit too big',
        () => get(`${u}/api/v1/events/query?limit=999999`),
        400,
        'VALIDATION_ERROR',
      ],
      [
        'bad timestamp',
        () => get(`${u}/api/v1/events/query?since=yesterday`),
        400,
        'VALIDATION_ERROR',
      ],
    ];
    for (const [name, call, status, code] of cases) {
      const { status: got, body } = await call();
      assert.equal(got, status, name);
      assert.equal(body.code, code, name);
      assert.equal(typeof body.error, 'string', name);
    }
    const wrongMethod = await fetch(`${u}/api/v1/stats`, { method: 'DELETE' });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get('allow'), 'GET');
    assert.equal(((await wrongMethod.json()) as { code: string }).code, 'METHOD_NOT_ALLOWED');
    assert.equal((await get(`${u}/health`)).status, 200);
  });
});
