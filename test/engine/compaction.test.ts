// Compaction and retention: erased entities vanish from reads at once and from disk at the next
// pass; retention drops old segments by age and size; small segments merge; positions and
// versions of survivors never change; concurrent appends, reads and subscriptions see no loss,
// duplicate or reordering; a crash at any step of a swap recovers to one consistent log.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isStoreError, type Store } from '../../engine/index.js';
import { ev } from '../helpers/events.js';
import { openTiny, segmentFiles } from '../helpers/store.js';
import { tmpDir } from '../helpers/tmp.js';

const SECRET = 'secret-payload-of-the-erased';

interface Row {
  position: number;
  entity: string;
  version: number;
  type: string;
}

function all(store: Store, tenant = 'default'): Row[] {
  const out: Row[] = [];
  let after = 0;
  for (;;) {
    const page = store.read(tenant, { afterPosition: after, limit: 10_000 });
    for (const e of page.events) {
      out.push({ position: e.position, entity: e.entityId, version: e.version, type: e.eventType });
    }
    if (!page.hasMore || page.nextPosition === null) return out;
    after = page.nextPosition;
  }
}

/** Bytes of every file of the tenant's logs, concatenated. */
function diskBytes(dir: string): string {
  let text = '';
  for (const sub of ['events', 'snapshots']) {
    const d = path.join(dir, 'tenants', 'default', sub);
    for (const name of fs.readdirSync(d)) {
      // A seal may rename its temporary index file between the listing and the read.
      if (name.endsWith('.tmp')) continue;
      try {
        text += fs.readFileSync(path.join(d, name), 'latin1');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
  }
  return text;
}

/** Interleaves the victim's events with others', across many tiny segments. */
async function fillWithVictim(store: Store, batches = 60): Promise<void> {
  for (let b = 0; b < batches; b++) {
    await store.append('default', [
      ev('user.updated', 'victim', { note: SECRET, b }),
      ev('order.placed', `order-${b % 5}`, { b }),
      ev('order.placed', `order-${(b + 1) % 5}`, { b }),
    ]);
  }
}

describe('compaction', () => {
  it('hides an erased entity at once and removes it from disk at the next pass', async (t) => {
    const dir = tmpDir();
    const store = await openTiny(dir, { compactionIntervalMs: 0 });
    await fillWithVictim(store);
    await store.putSnapshot('default', {
      entityId: 'victim',
      state: Buffer.from(`{"note":"${SECRET}"}`),
      asOfPosition: 3,
      eventCount: 1,
      snapshotType: 'manual',
    });
    const firstVictimEvent = store.read('default', { entityId: 'victim', limit: 1 }).events[0]!;
    const victimId = firstVictimEvent.id;
    const before = all(store).filter((r) => r.entity !== 'victim');
    await assert.rejects(store.eraseEntity('default', 'nobody'), (e) =>
      isStoreError(e, 'NOT_FOUND'),
    );
    await assert.rejects(
      store.append('default', [ev('allsource.entity_erased', 'x')]),
      (e) => isStoreError(e, 'VALIDATION_ERROR'),
      'the store reserves its own event types',
    );
    const tombstone = await store.eraseEntity('default', 'victim');
    assert.equal(tombstone.version, 61);

    const check = (s: Store) => {
      const victim = s.read('default', { entityId: 'victim' }).events;
      assert.deepEqual(
        victim.map((e) => e.eventType),
        ['allsource.entity_erased'],
      );
      assert.equal(s.read('default', { eventType: 'user.updated' }).events.length, 0);
      assert.equal(s.getEvent('default', victimId), null);
      assert.equal(s.listSnapshots('default', 'victim').length, 0);
      assert.equal(s.latestSnapshot('default', 'victim'), null);
      assert.deepEqual(
        all(s).filter((r) => r.entity !== 'victim'),
        before,
      );
    };
    check(store);
    assert.ok(diskBytes(dir).includes(SECRET), 'still on disk before compaction');
    // Hidden across a restart too (the tombstone is in the log and the checkpoint).
    await store.close();
    const reopened = await openTiny(dir, { compactionIntervalMs: 0 });
    t.after(() => reopened.close());
    check(reopened);

    const filesBefore = segmentFiles(dir).length;
    const run = await reopened.compact();
    assert.ok(run.filesCompacted > 0);
    assert.ok(run.eventsCompacted > 0, `${run.eventsCompacted} events compacted`);
    assert.ok(run.bytesAfter < run.bytesBefore);
    check(reopened);
    // The active segment may still hold the last few; seal it and compact again.
    await reopened.append(
      'default',
      Array.from({ length: 30 }, (_, i) => ev('order.placed', 'filler', { i })),
    );
    await reopened.compact();
    assert.ok(!diskBytes(dir).includes(SECRET), 'gone from every file');
    assert.ok(segmentFiles(dir).length < filesBefore + 2, 'small segments were merged');
    const stats = reopened.compactionStats();
    assert.equal(stats.runs, 2);
    assert.equal(stats.running, false);
    assert.ok(stats.totals.eventsCompacted >= 60);
    // Survivors keep positions and versions, and new appends carry on from the old end.
    assert.deepEqual(
      all(reopened).filter((r) => r.entity.startsWith('order-')),
      before,
    );
    const [next] = await reopened.append('default', [ev('user.created', 'victim')]);
    assert.equal(next!.version, 62, 'versions carry on after an erasure');
  });

  it('drops events past the retention age or size, whole segments first', async (t) => {
    const dir = tmpDir();
    const store = await openTiny(dir, { compactionIntervalMs: 0 });
    t.after(() => store.close());
    for (let b = 0; b < 40; b++) {
      await store.append('default', [ev('order.placed', `o-${b}`, { pad: 'x'.repeat(100) })]);
    }
    const lastPosition = store.stats('default').lastPosition;
    const kept = all(store);
    // By size: the oldest segments go until the log fits.
    store.setRetention('default', { maxAgeMs: 0, maxBytes: 3000 });
    const bySize = await store.compact();
    assert.ok(bySize.filesCompacted > 0);
    assert.ok(store.stats('default').storageBytes <= 3000 + 4096);
    const left = all(store);
    assert.ok(left.length < kept.length);
    assert.deepEqual(left, kept.slice(kept.length - left.length), 'a suffix, positions unchanged');
    // By age: everything sealed is older than 1 ms by now.
    await new Promise((r) => setTimeout(r, 5));
    store.setRetention('default', { maxAgeMs: 1, maxBytes: 0 });
    await store.compact();
    const active = all(store);
    assert.ok(active.length <= left.length);
    assert.equal(store.stats('default').lastPosition, lastPosition);
    const [next] = await store.append('default', [ev('order.placed', 'o-new')]);
    assert.equal(next!.position, lastPosition + 1);
    store.setRetention('default', null);
    assert.deepEqual(store.compactionStats().retention, { maxAgeMs: 0, maxBytes: 0 });
    assert.throws(() => store.setRetention('default', { maxAgeMs: -1, maxBytes: 0 }));
  });

  it('loses, duplicates and reorders nothing under concurrent appends, reads and subscriptions', async (t) => {
    const dir = tmpDir();
    const store = await openTiny(dir, { compactionIntervalMs: 0 });
    t.after(() => store.close());
    await fillWithVictim(store, 40);
    await store.eraseEntity('default', 'victim');
    const sub = await store.subscribe('default', {}, 0);
    const seen: number[] = [];
    let writing = true;
    let appended = 0;
    const writer = (async () => {
      for (let i = 0; writing || i < 50; i++) {
        await store.append('default', [
          ev('order.placed', `w-${i % 9}`, { i }),
          ev('order.paid', `w-${i % 9}`),
        ]);
        appended += 2;
      }
    })();
    const reader = (async () => {
      while (writing) {
        const rows = all(store);
        for (let i = 1; i < rows.length; i++) assert.ok(rows[i]!.position > rows[i - 1]!.position);
        assert.ok(!rows.some((r) => r.type === 'user.updated'), 'erased events stay hidden');
        const pulled = sub.pull(500);
        for (const e of pulled.events) seen.push(e.position);
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (let pass = 0; pass < 4; pass++) await store.compact();
    writing = false;
    await writer;
    await reader;
    for (;;) {
      const pulled = sub.pull(1000);
      if (pulled.events.length === 0) break;
      for (const e of pulled.events) seen.push(e.position);
    }
    const expected = all(store).map((r) => r.position);
    assert.deepEqual(seen, expected, 'the subscription saw each surviving event once, in order');
    assert.ok(appended >= 100);
    assert.ok(store.compactionStats().totals.filesCompacted > 0);
  });

  it('leaves files alone while a backup copies them', async (t) => {
    const dir = tmpDir();
    const store = await openTiny(dir, { compactionIntervalMs: 0 });
    t.after(() => store.close());
    await fillWithVictim(store, 30);
    await store.eraseEntity('default', 'victim');
    const capture = store.captureForBackup([]);
    const held = await store.compact();
    assert.equal(held.filesCompacted, 0, 'nothing changes while the capture is held');
    capture.release!();
    const free = await store.compact();
    assert.ok(free.filesCompacted > 0);
  });

  it('recovers to one consistent log after a kill at every step of a swap', async () => {
    const child = path.join(
      path.dirname(fileURLToPath(import.meta.url)),
      '..',
      'crash',
      'compaction_child.js',
    );
    for (const step of ['rewritten', 'decided', 'renamed', 'removed', 'none']) {
      const dir = tmpDir();
      const store = await openTiny(dir, { compactionIntervalMs: 0 });
      await fillWithVictim(store, 40);
      await store.eraseEntity('default', 'victim');
      await store.append(
        'default',
        Array.from({ length: 20 }, (_, i) => ev('order.placed', 'filler', { i })),
      );
      const expected = all(store).filter((r) => r.entity !== 'victim' || r.type !== 'user.updated');
      await store.close();
      const code = await new Promise<number | null>((resolve) => {
        const proc = spawn(process.execPath, [child, dir, step], { stdio: 'ignore' });
        proc.on('exit', (c, signal) => resolve(signal === 'SIGKILL' ? -9 : c));
      });
      assert.equal(code, step === 'none' ? 0 : -9, `child at ${step}`);
      const reopened = await openTiny(dir, { compactionIntervalMs: 0 });
      assert.deepEqual(all(reopened), expected, `after a kill at ${step}`);
      const names = fs.readdirSync(path.join(dir, 'tenants', 'default', 'events'));
      assert.ok(!names.some((n) => n.endsWith('.compact') || n === 'compaction.swap'), step);
      // A later pass finishes the job and the log still reads the same.
      await reopened.compact();
      assert.deepEqual(all(reopened), expected, `after compacting again (${step})`);
      await reopened.close();
    }
  });
});
