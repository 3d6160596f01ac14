// Subscriptions: stored events, then live ones, with no gap and no duplicate at the switch.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ev } from '../helpers/events.js';
import { openTiny } from '../helpers/store.js';
import { tmpDir } from '../helpers/tmp.js';

describe('subscriptions', () => {
  it('switches from stored to live events with no gap and no duplicate under concurrent appends', async (t) => {
    const store = await openTiny(tmpDir());
    t.after(() => store.close());
    for (let i = 0; i < 300; i++) await store.append('default', [ev('a.b', `e${i % 3}`, { i })]);
    const total = 1500;
    const producer = (async () => {
      for (let i = 300; i < total; i += 3) {
        await store.append('default', [
          ev('a.b', 'e0', { i }),
          ev('a.b', 'e1', { i }),
          ev('a.b', 'e2', { i }),
        ]);
      }
    })();
    const sub = await store.subscribe('default', {}, 100);
    const seen: number[] = [];
    let caughtUp = false;
    while (seen.length < total - 100) {
      const pull = sub.pull(50);
      seen.push(...pull.events.map((e) => e.position));
      if (pull.caughtUp) caughtUp = true;
      if (pull.events.length === 0) await sub.wait();
    }
    await producer;
    sub.close();
    assert.ok(caughtUp);
    assert.deepEqual(
      seen,
      Array.from({ length: total - 100 }, (_, i) => i + 101),
    );
  });

  it('applies entity, type and prefix filters, and a filter can be replaced', async (t) => {
    const store = await openTiny(tmpDir());
    t.after(() => store.close());
    await store.append('default', [
      ev('order.placed', 'o1'),
      ev('order.shipped', 'o1'),
      ev('user.created', 'u1'),
      ev('order.placed', 'o2'),
    ]);
    const positions = async (filter: object) => {
      const sub = await store.subscribe('default', filter, 0);
      const out = sub.pull().events.map((e) => e.position);
      sub.close();
      return out;
    };
    assert.deepEqual(await positions({ entityId: 'o1' }), [1, 2]);
    assert.deepEqual(await positions({ eventType: 'order.placed' }), [1, 4]);
    assert.deepEqual(await positions({ eventTypePrefix: 'order.' }), [1, 2, 4]);
    const sub = await store.subscribe('default', { entityId: 'u1' }, 0);
    assert.deepEqual(
      sub.pull().events.map((e) => e.position),
      [3],
    );
    sub.reset({ entityId: 'o2' }, 0);
    assert.deepEqual(
      sub.pull().events.map((e) => e.position),
      [4],
    );
    sub.close();
  });

  it('serves a slow consumer from the log in bounded pulls, losing nothing', async (t) => {
    const store = await openTiny(tmpDir());
    t.after(() => store.close());
    const sub = await store.subscribe('default', {}, 0);
    const batches = Array.from({ length: 100 }, (_, b) =>
      store.append(
        'default',
        Array.from({ length: 20 }, (_, i) => ev('a.b', 'e', { b, i })),
      ),
    );
    await Promise.all(batches);
    let delivered = 0;
    let last = 0;
    for (;;) {
      const pull = sub.pull(64);
      assert.ok(pull.events.length <= 64);
      for (const e of pull.events) {
        assert.equal(e.position, last + 1);
        last = e.position;
      }
      delivered += pull.events.length;
      if (pull.caughtUp) break;
    }
    assert.equal(delivered, 2000);
    sub.close();
  });

  it('wakes a waiting consumer on commit and on close', async (t) => {
    const store = await openTiny(tmpDir());
    t.after(() => store.close());
    await store.append('default', [ev('a.b', 'e')]);
    const sub = await store.subscribe('default', {}, 1);
    const woke = sub.wait();
    await store.append('default', [ev('a.b', 'e')]);
    await woke;
    assert.equal(sub.pull().events.length, 1);
    const closed = sub.wait();
    sub.close();
    await closed;
    assert.equal(sub.closed, true);
    const iter = await store.subscribe('default', {}, 0);
    const batches: number[] = [];
    for await (const events of iter) {
      batches.push(events.length);
      iter.close();
    }
    assert.deepEqual(batches, [2]);
  });
});
