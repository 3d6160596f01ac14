// One store suite, run against stores in different lives: fresh, reopened after a clean close,
// and recovered after a torn tail. Each test writes through `store`, then calls `settle()`,
// which hands back the store to read from in that life.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { isStoreError, type Store } from '../../engine/index.js';
import { ev, payloadOf } from '../helpers/events.js';

export interface Life {
  store: Store;
  settle(): Promise<Store>;
}

export type LifeFactory = (t: TestContext) => Promise<Life>;

async function seedOrders(store: Store, entities: number, perEntity: number): Promise<void> {
  for (let round = 0; round < perEntity; round++) {
    const batch = [];
    for (let e = 0; e < entities; e++) {
      batch.push(ev(e % 2 === 0 ? 'order.placed' : 'order.shipped', `order-${e}`, { round, e }));
    }
    await store.append('default', batch);
  }
}

export function storeSuite(name: string, life: LifeFactory): void {
  describe(`store conformance: ${name}`, () => {
    it('returns appended events with gapless positions and per-entity versions', async (t) => {
      const { store, settle } = await life(t);
      const first = await store.append('default', [ev('user.created', 'u-1', { n: 1 })]);
      const batch = await store.append('default', [
        ev('user.renamed', 'u-1', { n: 2 }, { metadata: Buffer.from('{"by":"admin"}') }),
        ev('user.created', 'u-2', { n: 3 }),
      ]);
      assert.deepEqual(
        [...first, ...batch].map((r) => [r.position, r.version]),
        [
          [1, 1],
          [2, 2],
          [3, 1],
        ],
      );
      const s = await settle();
      const all = s.read('default', {});
      assert.deepEqual(
        all.events.map((e) => [e.position, e.eventType, e.entityId, e.version, payloadOf(e)]),
        [
          [1, 'user.created', 'u-1', 1, { n: 1 }],
          [2, 'user.renamed', 'u-1', 2, { n: 2 }],
          [3, 'user.created', 'u-2', 1, { n: 3 }],
        ],
      );
      assert.equal(all.events[1]!.metadata?.toString(), '{"by":"admin"}');
      assert.equal(all.events[0]!.metadata, null);
      assert.equal(all.events[0]!.id, first[0]!.eventId);
      assert.equal(all.hasMore, false);
    });

    it('reads one entity across many segments, in both orders, page by page', async (t) => {
      const { store, settle } = await life(t);
      await seedOrders(store, 10, 30);
      const s = await settle();
      assert.ok(s.stats('default').segments > 3, 'tiny segments must have rolled');
      const asc = s.read('default', { entityId: 'order-3' });
      assert.deepEqual(
        asc.events.map((e) => e.version),
        Array.from({ length: 30 }, (_, i) => i + 1),
      );
      assert.ok(asc.events.every((e) => e.entityId === 'order-3'));
      const desc = s.read('default', { entityId: 'order-3', order: 'desc' });
      assert.deepEqual(
        desc.events.map((e) => e.position),
        asc.events.map((e) => e.position).reverse(),
      );
      // Cursor pages cover everything exactly once.
      const seen: number[] = [];
      let after: number | undefined;
      for (;;) {
        const page = s.read('default', { entityId: 'order-3', limit: 7, afterPosition: after });
        seen.push(...page.events.map((e) => e.version));
        if (!page.hasMore) break;
        after = page.nextPosition!;
      }
      assert.deepEqual(
        seen,
        Array.from({ length: 30 }, (_, i) => i + 1),
      );
      const offset = s.read('default', { entityId: 'order-3', offset: 25 });
      assert.deepEqual(
        offset.events.map((e) => e.version),
        [26, 27, 28, 29, 30],
      );
    });

    it('reads by event type, by type prefix and by both filters together', async (t) => {
      const { store, settle } = await life(t);
      await seedOrders(store, 4, 5);
      await store.append('default', [ev('orderx.other', 'order-1'), ev('user.created', 'u')]);
      const s = await settle();
      const placed = s.read('default', { eventType: 'order.placed' });
      assert.equal(placed.events.length, 10);
      assert.ok(placed.events.every((e) => e.eventType === 'order.placed'));
      const prefix = s.read('default', { eventTypePrefix: 'order.' });
      assert.equal(prefix.events.length, 20);
      const positions = prefix.events.map((e) => e.position);
      assert.deepEqual(
        positions,
        [...positions].sort((a, b) => a - b),
      );
      const both = s.read('default', { entityId: 'order-1', eventType: 'order.shipped' });
      assert.equal(both.events.length, 5);
      const none = s.read('default', { entityId: 'order-1', eventType: 'order.placed' });
      assert.equal(none.events.length, 0);
      assert.equal(s.read('default', { eventType: 'nothing.here' }).events.length, 0);
    });

    it('reads by time range with inclusive bounds', async (t) => {
      const { store, settle } = await life(t);
      const stamps: number[] = [];
      for (let i = 0; i < 6; i++) {
        const [r] = await store.append('default', [ev('tick.tock', 'clock', { i })]);
        stamps.push(r!.timestampUs);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      const s = await settle();
      const mid = s.read('default', { sinceUs: stamps[1], untilUs: stamps[3] });
      assert.deepEqual(
        mid.events.map((e) => (payloadOf(e) as { i: number }).i),
        [1, 2, 3],
      );
      assert.equal(s.read('default', { untilUs: stamps[0]! - 1 }).events.length, 0);
      assert.equal(s.read('default', { sinceUs: stamps[5]! + 1 }).events.length, 0);
      assert.deepEqual(s.countSince('default', stamps[2]!), { count: 4, oldestUs: stamps[2] });
      assert.deepEqual(s.countSince('default', stamps[5]! + 1), { count: 0, oldestUs: 0 });
      assert.equal(s.countSince('default', 0).count, 6);
    });

    it('finds an event by id and keeps expected versions across lives', async (t) => {
      const { store, settle } = await life(t);
      const [a] = await store.append('default', [ev('doc.created', 'doc-1')]);
      await store.append('default', [ev('doc.edited', 'doc-1', {}, { expectedVersion: 1 })]);
      const s = await settle();
      assert.equal(s.getEvent('default', a!.eventId)?.eventType, 'doc.created');
      assert.equal(s.getEvent('default', 'no-such-id'), null);
      assert.equal(s.entityVersion('default', 'doc-1'), 2);
      await assert.rejects(
        s.append('default', [ev('doc.edited', 'doc-1', {}, { expectedVersion: 1 })]),
        (e) => isStoreError(e, 'WRONG_EXPECTED_VERSION') && e.details.currentVersion === 2,
      );
      const [next] = await s.append('default', [
        ev('doc.edited', 'doc-1', {}, { expectedVersion: 2 }),
      ]);
      assert.equal(next!.version, 3);
    });

    it('answers a retried client id with the original result across lives', async (t) => {
      const { store, settle } = await life(t);
      const [original] = await store.append('default', [
        ev('pay.made', 'p-1', {}, { id: 'pay-42' }),
      ]);
      const s = await settle();
      const [retry] = await s.append('default', [ev('pay.made', 'p-1', {}, { id: 'pay-42' })]);
      assert.equal(retry!.duplicate, true);
      assert.equal(retry!.position, original!.position);
      assert.equal(retry!.eventId, 'pay-42');
      assert.equal(s.stats('default').totalEvents, 1);
      await assert.rejects(
        s.append('default', [ev('pay.refunded', 'p-9', {}, { id: 'pay-42' })]),
        (e) => isStoreError(e, 'ALREADY_EXISTS'),
      );
    });

    it('keeps snapshots durably and returns the newest one that fits', async (t) => {
      const { store, settle } = await life(t);
      await store.putSnapshot('default', {
        entityId: 'acc-1',
        state: Buffer.from('{"balance":10}'),
        asOfPosition: 5,
        eventCount: 5,
        snapshotType: 'manual',
      });
      await store.putSnapshot('default', {
        entityId: 'acc-1',
        state: Buffer.from('{"balance":20}'),
        asOfPosition: 9,
        eventCount: 9,
        snapshotType: 'automatic',
      });
      const s = await settle();
      assert.equal(s.listSnapshots('default', 'acc-1').length, 2);
      assert.equal(s.latestSnapshot('default', 'acc-1')?.state.toString(), '{"balance":20}');
      assert.equal(s.latestSnapshot('default', 'acc-1', 6)?.info.eventCount, 5);
      assert.equal(s.latestSnapshot('default', 'acc-1', 4), null);
      assert.equal(s.latestSnapshot('default', 'acc-2'), null);
    });

    it('keeps tenants apart', async (t) => {
      const { store, settle } = await life(t);
      await store.append('alpha', [ev('secret.kept', 'shared-id', { owner: 'alpha' })]);
      await store.append('beta', [ev('secret.kept', 'shared-id', { owner: 'beta' })]);
      const s = await settle();
      const alpha = s.read('alpha', { entityId: 'shared-id' });
      assert.deepEqual(alpha.events.map(payloadOf), [{ owner: 'alpha' }]);
      assert.equal(s.entityVersion('beta', 'shared-id'), 1);
      const betaId = s.read('beta', {}).events[0]!.id;
      assert.equal(s.getEvent('alpha', betaId), null);
      assert.equal(s.read('gamma', {}).events.length, 0);
      assert.throws(
        () => s.read('../alpha', {}),
        (e) => isStoreError(e, 'INVALID_TENANT_ID'),
      );
    });

    it('counts events, entities and types', async (t) => {
      const { store, settle } = await life(t);
      await seedOrders(store, 3, 4);
      const s = await settle();
      const stats = s.stats('default');
      assert.equal(stats.totalEvents, 12);
      assert.equal(stats.totalEntities, 3);
      assert.equal(stats.totalEventTypes, 2);
      assert.equal(stats.lastPosition, 12);
    });
  });
}
