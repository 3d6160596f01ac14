// The append contract: validation, limits, atomic batches, expected versions, idempotency,
// group commit and the fsync policies.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventJson } from '../../engine/format/event_json.js';
import type { RecordInput } from '../../engine/format/record.js';
import { type AppendEvent, isStoreError } from '../../engine/index.js';
import { limits } from '../../engine/limits.js';
import { PendingState } from '../../engine/log/pending.js';
import { ev, payloadOf } from '../helpers/events.js';
import { openTiny } from '../helpers/store.js';
import { tmpDir } from '../helpers/tmp.js';

describe('append', () => {
  it('rejects events that break the event model with VALIDATION_ERROR', async (t) => {
    const store = await openTiny(tmpDir());
    t.after(() => store.close());
    const bad: [string, AppendEvent][] = [
      ['upper-case type', ev('User.Created', 'e')],
      ['leading dot', ev('.user', 'e')],
      ['trailing dot', ev('user.', 'e')],
      ['double dot', ev('user..created', 'e')],
      ['empty type', ev('', 'e')],
      ['type too long', ev('a'.repeat(129), 'e')],
      ['empty entity', ev('a.b', '')],
      ['whitespace entity', ev('a.b', '   ')],
      ['control character', ev('a.b', 'line\nbreak')],
      ['entity too long', ev('a.b', 'é'.repeat(65))],
      ['lone surrogate', ev('a.b', 'x\ud800')],
      ['empty payload', { eventType: 'a.b', entityId: 'e', payload: Buffer.alloc(0) }],
      ['bad expected version', ev('a.b', 'e', {}, { expectedVersion: -1 })],
      ['fractional expected version', ev('a.b', 'e', {}, { expectedVersion: 1.5 })],
      ['empty id', ev('a.b', 'e', {}, { id: '' })],
      ['ascii entity too long', ev('a.b', 'e'.repeat(129))],
      ['delete character', ev('a.b', 'del\u007f')],
      ['C1 control character', ev('a.b', 'c1\u0085')],
      ['tab-only entity', ev('a.b', '\t')],
      ['ideographic space only', ev('a.b', '\u3000')],
    ];
    // A good event goes first: what it leaves behind (the last event type that passed, the
    // longest plain entity id) must let no bad one through.
    await store.append('default', [ev('a.b', 'e'.repeat(128))]);
    for (const [name, event] of bad) {
      await assert.rejects(
        store.append('default', [event]),
        (e) => isStoreError(e, 'VALIDATION_ERROR'),
        name,
      );
    }
    await assert.rejects(store.append('default', []), (e) => isStoreError(e, 'VALIDATION_ERROR'));
    await assert.rejects(
      store.append('default', [
        ev('a.b', 'e', {}, { id: 'same' }),
        ev('a.b', 'f', {}, { id: 'same' }),
      ]),
      (e) => isStoreError(e, 'VALIDATION_ERROR'),
    );
    await assert.rejects(store.append('bad/tenant', [ev('a.b', 'e')]), (e) =>
      isStoreError(e, 'INVALID_TENANT_ID'),
    );
    assert.equal(store.stats('default').totalEvents, 1);
  });

  it('stores names with quotes, backslashes and non-ASCII and serves them as valid JSON', async (t) => {
    const store = await openTiny(tmpDir());
    t.after(() => store.close());
    const names: [string, string | undefined][] = [
      ['plain', undefined],
      ['quo"te', 'id"1'],
      ['back\\slash', 'id\\2'],
      ['café-ß', 'ïd-3'],
      ['ünï"\\cödé', 'plain-id'],
      ['with space', 'ïd "5"'],
    ];
    await store.append(
      'default',
      names.map(([entity, id]) => ev('a.b', entity, { entity }, id === undefined ? {} : { id })),
    );
    const events = store.read('default', {}).events;
    assert.equal(events.length, names.length);
    events.forEach((view, i) => {
      const wire = JSON.parse(eventJson(view, 'default').toString());
      assert.equal(wire.entity_id, names[i]![0]);
      if (names[i]![1] !== undefined) assert.equal(wire.id, names[i]![1]);
      assert.deepEqual(wire.payload, { entity: names[i]![0] });
    });
  });

  it('enforces payload, metadata and batch limits with LIMIT_EXCEEDED', async (t) => {
    const store = await openTiny(tmpDir(), {
      payloadBytesMax: 100,
      metadataBytesMax: 50,
      batchEventsMax: 3,
    });
    t.after(() => store.close());
    await assert.rejects(
      store.append('default', [ev('a.b', 'e', { x: 'y'.repeat(100) })]),
      (e) => isStoreError(e, 'LIMIT_EXCEEDED') && e.details.limit === 100,
    );
    await assert.rejects(
      store.append('default', [
        ev('a.b', 'e', {}, { metadata: Buffer.from(`"${'m'.repeat(60)}"`) }),
      ]),
      (e) => isStoreError(e, 'LIMIT_EXCEEDED'),
    );
    await assert.rejects(
      store.append('default', [ev('a.b', 'e'), ev('a.b', 'e'), ev('a.b', 'e'), ev('a.b', 'e')]),
      (e) => isStoreError(e, 'LIMIT_EXCEEDED'),
    );
    const ok = await store.append('default', [ev('a.b', 'e', { x: 'y'.repeat(80) })]);
    assert.equal(ok.length, 1);
  });

  it('writes a batch whole or not at all when one expected version fails', async (t) => {
    const store = await openTiny(tmpDir());
    t.after(() => store.close());
    await store.append('default', [ev('a.b', 'x')]);
    await assert.rejects(
      store.append('default', [
        ev('a.b', 'y', {}, { expectedVersion: 0 }),
        ev('a.b', 'x', {}, { expectedVersion: 5 }),
      ]),
      (e) => isStoreError(e, 'WRONG_EXPECTED_VERSION') && e.details.currentVersion === 1,
    );
    assert.equal(store.entityVersion('default', 'y'), 0);
    assert.equal(store.stats('default').totalEvents, 1);
    // Versions inside one batch follow each other.
    const r = await store.append('default', [
      ev('a.b', 'y', {}, { expectedVersion: 0 }),
      ev('a.b', 'y', {}, { expectedVersion: 1 }),
    ]);
    assert.deepEqual(
      r.map((x) => x.version),
      [1, 2],
    );
  });

  it('lets exactly one of many racing writers win the same expected version', async (t) => {
    const store = await openTiny(tmpDir());
    t.after(() => store.close());
    const attempts = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        store.append('default', [ev('a.b', 'race', { i }, { expectedVersion: 0 })]),
      ),
    );
    assert.equal(attempts.filter((a) => a.status === 'fulfilled').length, 1);
    assert.ok(
      attempts
        .filter((a) => a.status === 'rejected')
        .every((a) => isStoreError((a as PromiseRejectedResult).reason, 'WRONG_EXPECTED_VERSION')),
    );
    assert.equal(store.read('default', { entityId: 'race' }).events.length, 1);
  });

  it('answers racing retries of one client id with one event', async (t) => {
    const store = await openTiny(tmpDir());
    t.after(() => store.close());
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        store.append('default', [ev('a.b', 'e', {}, { id: 'req-1' })]),
      ),
    );
    assert.equal(new Set(results.map(([r]) => r!.position)).size, 1);
    assert.equal(results.filter(([r]) => !r!.duplicate).length, 1);
    assert.equal(store.stats('default').totalEvents, 1);
  });

  it('shares one write and one fsync among concurrent appends', async (t) => {
    const store = await openTiny(tmpDir(), { segmentBytesMax: 1 << 20 });
    t.after(() => store.close());
    const before = store.counters();
    await Promise.all(
      Array.from({ length: 64 }, (_, i) => store.append('default', [ev('a.b', `e${i}`)])),
    );
    const after = store.counters();
    assert.equal(store.stats('default').totalEvents, 64);
    assert.ok(after.fsyncs - before.fsyncs < 64, `fsyncs: ${after.fsyncs - before.fsyncs}`);
    assert.ok(after.writes - before.writes < 64);
  });

  it('splits a queue past limits.roundBytesMax into rounds, in order, each batch whole', async (t) => {
    const store = await openTiny(tmpDir(), { segmentBytesMax: 64 << 20, fsync: 'never' });
    t.after(() => store.close());
    // Four batches of about 0.4 MiB each, queued in one turn: more than one round's worth.
    const text = 'x'.repeat(400);
    const batch = (b: number) =>
      Array.from({ length: 1000 }, (_, i) => ev('a.b', `e${i % 7}`, { b, i, text }));
    const results = await Promise.all([0, 1, 2, 3].map((b) => store.append('default', batch(b))));
    assert.ok(store.counters().writes >= 2, `writes: ${store.counters().writes}`);
    // Positions follow arrival order and each batch holds consecutive positions.
    results.forEach((rs, b) => {
      assert.equal(rs[0]!.position, b * 1000 + 1);
      assert.equal(rs[999]!.position, b * 1000 + 1000);
    });
    const read = store.read('default', { limit: 10_000 }).events.map(payloadOf);
    assert.deepEqual(
      read.map((p) => [(p as { b: number }).b, (p as { i: number }).i]),
      [0, 1, 2, 3].flatMap((b) => Array.from({ length: 1000 }, (_, i) => [b, i])),
    );
    assert.equal(limits.roundBytesMax < 4 * 1000 * 400, true, 'the queue was over one round');
  });

  for (const fsync of ['interval', 'never'] as const) {
    it(`keeps events across a clean close with fsync = ${fsync}`, async (t) => {
      const dir = tmpDir();
      const store = await openTiny(dir, { fsync, fsyncIntervalMs: 5 });
      for (let i = 0; i < 30; i++) await store.append('default', [ev('a.b', 'e', { i })]);
      if (fsync === 'interval') {
        await new Promise((resolve) => setTimeout(resolve, 20));
        assert.ok(store.counters().fsyncs > 0, 'the interval timer syncs');
      } else {
        assert.equal(
          store.counters().fsyncs,
          store.stats('default').segments - 1,
          'only seals sync',
        );
      }
      await store.close();
      const reopened = await openTiny(dir);
      t.after(() => reopened.close());
      assert.equal(reopened.read('default', {}).events.length, 30);
      assert.deepEqual(
        payloadOf(reopened.read('default', { order: 'desc', limit: 1 }).events[0]!),
        { i: 29 },
      );
    });
  }

  it('refuses appends after close with STORE_CLOSED', async () => {
    const store = await openTiny(tmpDir());
    const pending = store.append('default', [ev('a.b', 'e')]);
    await store.close();
    await pending;
    await assert.rejects(store.append('default', [ev('a.b', 'e')]), (e) =>
      isStoreError(e, 'STORE_CLOSED'),
    );
  });
});

describe('claims of rounds in flight', () => {
  it('drops a settled round client ids even while other rounds keep the pipeline busy', () => {
    const committed = {
      lastPosition: 0,
      lastTimestampUs: 0,
      entityVersion: () => 0,
      findRetry: () => null,
    };
    const pending = new PendingState(committed);
    const record = (id: string) => ({ id, clientId: true, entityId: 'e' }) as RecordInput;
    const [a, b] = [record('a'), record('b')];
    pending.ids.set('a', a);
    pending.ids.set('b', b);
    pending.settled([a, record('generated')]);
    assert.deepEqual([...pending.ids.keys()], ['b'], 'the other round still claims its id');
    // A claim that another record took over is left alone.
    pending.settled([record('b')]);
    assert.deepEqual([...pending.ids.keys()], ['b']);
    pending.settled([b]);
    assert.equal(pending.ids.size, 0);
  });
});
