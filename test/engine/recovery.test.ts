// Recovery: what open does with torn tails, damaged records, and missing or damaged caches.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  decodeSegmentIndex,
  IndexKind,
  keySectionCount,
} from '../../engine/format/segment_index.js';
import { isStoreError, type Store } from '../../engine/index.js';
import { ev, payloadOf } from '../helpers/events.js';
import { flipBit, openTiny, segmentFiles } from '../helpers/store.js';
import { tmpDir } from '../helpers/tmp.js';

async function writeN(store: Store, n: number, tenant = 'default'): Promise<void> {
  for (let i = 0; i < n; i++)
    await store.append(tenant, [ev('item.added', `item-${i % 5}`, { i })]);
}

function allPayloads(store: Store, tenant = 'default'): unknown[] {
  return store.read(tenant, { limit: 10_000 }).events.map(payloadOf);
}

describe('recovery', () => {
  it('truncates a torn tail, counts it, and appends after it without a gap', async (t) => {
    const dir = tmpDir();
    const store = await openTiny(dir);
    await writeN(store, 10);
    await store.close();
    const last = segmentFiles(dir).at(-1)!;
    const size = fs.statSync(last).size;
    fs.appendFileSync(last, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]));
    const reopened = await openTiny(dir);
    t.after(() => reopened.close());
    assert.equal(fs.statSync(last).size, size);
    assert.equal(reopened.stats('default').recoveredTruncations, 1);
    assert.ok(reopened.warnings.some((w) => w.message === 'truncating torn tail'));
    assert.deepEqual(
      allPayloads(reopened),
      Array.from({ length: 10 }, (_, i) => ({ i })),
    );
    const [next] = await reopened.append('default', [ev('item.added', 'item-0', { i: 10 })]);
    assert.equal(next!.position, 11);
  });

  it('drops a batch that a crash cut short, whole', async (t) => {
    const dir = tmpDir();
    const first = await openTiny(dir, { segmentBytesMax: 1 << 20 });
    await first.append('default', [ev('a.b', 'e', { n: 1 })]);
    // Measured closed: an open store's file runs on into zeros written ahead of appends.
    await first.close();
    const before = fs.statSync(segmentFiles(dir).at(-1)!).size;
    const store = await openTiny(dir, { segmentBytesMax: 1 << 20 });
    await store.append('default', [
      ev('a.b', 'e', { n: 2 }),
      ev('a.b', 'e', { n: 3 }),
      ev('a.b', 'e', { n: 4 }),
    ]);
    await store.close();
    const last = segmentFiles(dir).at(-1)!;
    const after = fs.statSync(last).size;
    // Keep the first two records of the three-record batch: whole records, incomplete batch.
    fs.truncateSync(last, before + Math.floor(((after - before) * 2) / 3));
    const reopened = await openTiny(dir, { segmentBytesMax: 1 << 20 });
    t.after(() => reopened.close());
    assert.deepEqual(allPayloads(reopened), [{ n: 1 }]);
    assert.equal(reopened.entityVersion('default', 'e'), 1);
  });

  it('refuses to truncate damage that has valid records after it, and names file and offset', async (t) => {
    const dir = tmpDir();
    const store = await openTiny(dir, { segmentBytesMax: 1 << 20 });
    await writeN(store, 8);
    await writeN(store, 3, 'other');
    await store.close();
    const file = segmentFiles(dir).at(-1)!;
    flipBit(file, 100);
    const reopened = await openTiny(dir, { segmentBytesMax: 1 << 20 });
    t.after(() => reopened.close());
    assert.equal(fs.statSync(file).size > 0, true);
    assert.throws(
      () => reopened.read('default', {}),
      (e) =>
        isStoreError(e, 'LOG_UNAVAILABLE') && /corrupt data in .*\.log at offset 0/.test(e.message),
    );
    await assert.rejects(reopened.append('default', [ev('a.b', 'x')]), (e) =>
      isStoreError(e, 'LOG_UNAVAILABLE'),
    );
    assert.equal(allPayloads(reopened, 'other').length, 3, 'other tenants keep working');
  });

  it('reports damage inside a sealed segment when it is read, and serves the rest', async (t) => {
    const dir = tmpDir();
    const store = await openTiny(dir);
    await writeN(store, 120);
    await store.close();
    const files = segmentFiles(dir);
    assert.ok(files.length >= 3);
    flipBit(files[0]!, 200);
    const reopened = await openTiny(dir);
    t.after(() => reopened.close());
    assert.throws(
      () => reopened.read('default', { limit: 10_000 }),
      (e) => isStoreError(e, 'CORRUPTION') && e.details.file === files[0],
    );
    const later = reopened.read('default', { afterPosition: 100 });
    assert.equal(later.events.length, 20, 'segments after the damage still read');
  });

  it('rebuilds missing and damaged segment indexes from the records', async (t) => {
    const dir = tmpDir();
    const store = await openTiny(dir);
    await writeN(store, 120);
    const expected = allPayloads(store);
    const entity = store.read('default', { entityId: 'item-3' }).events.map((e) => e.position);
    await store.close();
    const indexes = fs
      .readdirSync(path.dirname(segmentFiles(dir)[0]!))
      .filter((n) => n.endsWith('.idx'))
      .map((n) => path.join(path.dirname(segmentFiles(dir)[0]!), n));
    assert.ok(indexes.length >= 2);
    fs.rmSync(indexes[0]!);
    flipBit(indexes[1]!, 90);
    const reopened = await openTiny(dir);
    t.after(() => reopened.close());
    assert.deepEqual(allPayloads(reopened), expected);
    assert.deepEqual(
      reopened.read('default', { entityId: 'item-3' }).events.map((e) => e.position),
      entity,
    );
    assert.ok(reopened.warnings.some((w) => w.message.startsWith('rebuilt')));
    assert.ok(fs.existsSync(indexes[0]!), 'the missing index is written again');
  });

  it('indexes only client-chosen ids, the same whether sealed live or rebuilt', async () => {
    const dir = tmpDir();
    const store = await openTiny(dir);
    for (let i = 0; i < 120; i++) {
      const extra = i % 3 === 0 ? { id: `order-${i}` } : {};
      await store.append('default', [ev('item.added', `item-${i % 5}`, { i }, extra)]);
    }
    const events = store.read('default', { limit: 10_000 }).events;
    await store.close();
    const eventsDir = path.dirname(segmentFiles(dir)[0]!);
    const idSections = () =>
      fs
        .readdirSync(eventsDir)
        .filter((n) => n.endsWith('.idx'))
        .sort()
        .map((n) => {
          const index = decodeSegmentIndex(fs.readFileSync(path.join(eventsDir, n)));
          assert.ok(typeof index !== 'string', index as string);
          const inSegment = events.filter(
            (e) => e.position >= index.basePosition && e.position <= index.lastPosition,
          );
          assert.equal(
            keySectionCount(index, IndexKind.Ids),
            inSegment.filter((e) => e.clientId).length,
          );
          return keySectionCount(index, IndexKind.Ids);
        });
    const live = idSections();
    assert.ok(live.length >= 2 && live.every((n) => n > 0));
    // A rebuilt index holds the same ids, and a retried client id is still caught.
    for (const n of fs.readdirSync(eventsDir)) {
      if (n.endsWith('.idx')) fs.rmSync(path.join(eventsDir, n));
    }
    const reopened = await openTiny(dir);
    const [retry] = await reopened.append('default', [
      ev('item.added', 'item-0', { i: 0 }, { id: 'order-0' }),
    ]);
    assert.equal(retry!.duplicate, true);
    await reopened.close();
    assert.deepEqual(idSections(), live);
  });

  it('rebuilds versions and spans from the segments when the checkpoint is lost', async (t) => {
    const dir = tmpDir();
    const store = await openTiny(dir);
    await writeN(store, 60);
    await store.close();
    fs.rmSync(path.join(dir, 'tenants', 'default', 'events', 'entities.ckpt'));
    const reopened = await openTiny(dir);
    t.after(() => reopened.close());
    assert.equal(reopened.entityVersion('default', 'item-2'), 12);
    assert.equal(reopened.stats('default').totalEvents, 60);
    assert.equal(reopened.read('default', { entityId: 'item-2' }).events.length, 12);
  });

  it('refuses a second process on the same data directory', async (t) => {
    const dir = tmpDir();
    const store = await openTiny(dir);
    t.after(() => store.close());
    fs.writeFileSync(path.join(dir, 'LOCK'), String(process.ppid));
    await assert.rejects(
      openTiny(dir),
      (e) => isStoreError(e, 'LOG_UNAVAILABLE') && /in use/.test(e.message),
    );
  });
});

describe('zeros written ahead of appends', () => {
  // Zeroing starts once a segment holds preallocateBytes (8 KiB here, about 75 events).
  const options = { segmentBytesMax: 1 << 20, preallocateBytes: 8 * 1024 };
  const dataEnd = (store: Store) => store.stats('default').storageBytes;

  it('are there while appends go on, and gone from sealed segments and after close', async (t) => {
    const dir = tmpDir();
    const store = await openTiny(dir, options);
    await writeN(store, 150);
    const active = segmentFiles(dir).at(-1)!;
    const bytes = fs.readFileSync(active);
    const end = dataEnd(store);
    assert.ok(bytes.length > end, 'the file runs on past the last record');
    assert.ok(
      bytes.subarray(end).every((b) => b === 0),
      'into zeros',
    );
    // Past a roll, the sealed segment ends at its last record (its index says so).
    const big = { text: 'x'.repeat(4000) };
    while (store.stats('default').segments < 2) {
      await store.append('default', [ev('item.added', 'big', big)]);
    }
    await store.sync();
    await store.close();
    const [sealed, last] = segmentFiles(dir);
    const index = decodeSegmentIndex(fs.readFileSync(sealed!.replace(/\.log$/, '.idx')));
    assert.ok(typeof index !== 'string');
    assert.equal(fs.statSync(sealed!).size, index.logBytes);
    const reopened = await openTiny(dir, options);
    t.after(() => reopened.close());
    assert.equal(
      fs.statSync(last!).size,
      dataEnd(reopened) - index.logBytes,
      'close cut the zeros',
    );
    assert.equal(reopened.stats('default').recoveredTruncations, 0);
  });

  /**
   * The files as a kill -9 would leave them after `n` appends (copied while the store is open),
   * and where its last record ended.
   */
  async function crashCopy(n: number): Promise<{ copy: string; end: number }> {
    const dir = tmpDir();
    const store = await openTiny(dir, options);
    await writeN(store, n);
    const copy = tmpDir();
    fs.cpSync(dir, copy, { recursive: true });
    const end = dataEnd(store);
    await store.close();
    return { copy, end };
  }

  it('left by a crash are space, not a torn tail: every event is there and nothing is counted', async (t) => {
    const { copy } = await crashCopy(150);
    const file = segmentFiles(copy).at(-1)!;
    const crashed = fs.statSync(file).size;
    const reopened = await openTiny(copy, options);
    t.after(() => reopened.close());
    assert.ok(crashed > dataEnd(reopened), 'the copy had zeros past its last record');
    assert.deepEqual(
      allPayloads(reopened),
      Array.from({ length: 150 }, (_, i) => ({ i })),
    );
    assert.equal(reopened.stats('default').recoveredTruncations, 0);
    assert.ok(!reopened.warnings.some((w) => w.message === 'truncating torn tail'));
    const [next] = await reopened.append('default', [ev('item.added', 'item-0', { i: 150 })]);
    assert.equal(next!.position, 151);
  });

  it('do not hide a torn record before them: that is still cut and counted', async (t) => {
    const { copy, end } = await crashCopy(150);
    const file = segmentFiles(copy).at(-1)!;
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from([9, 9, 9, 9, 9, 9, 9, 9, 60, 0, 0, 0, 1]), 0, 13, end);
    fs.closeSync(fd);
    const reopened = await openTiny(copy, options);
    t.after(() => reopened.close());
    assert.equal(reopened.stats('default').recoveredTruncations, 1);
    assert.equal(allPayloads(reopened).length, 150);
    assert.equal(fs.statSync(file).size, end);
  });

  it('are not written for a log that has written little', async (t) => {
    const dir = tmpDir();
    const store = await openTiny(dir, options);
    t.after(() => store.close());
    await writeN(store, 20);
    assert.equal(fs.statSync(segmentFiles(dir).at(-1)!).size, dataEnd(store));
  });

  it('are not written for a log whose writes are large', async (t) => {
    const dir = tmpDir();
    const store = await openTiny(dir, options);
    t.after(() => store.close());
    // Batches of about 100 KB each: the journal's share of their fsyncs is small.
    const text = 'y'.repeat(5000);
    for (let b = 0; b < 10; b++) {
      await store.append(
        'default',
        Array.from({ length: 20 }, (_, i) => ev('item.added', `big-${i}`, { b, text })),
      );
    }
    assert.equal(fs.statSync(segmentFiles(dir).at(-1)!).size, dataEnd(store));
  });

  it('are not written under fsync = never', async (t) => {
    const dir = tmpDir();
    const store = await openTiny(dir, { ...options, fsync: 'never' });
    t.after(() => store.close());
    await writeN(store, 150);
    assert.equal(fs.statSync(segmentFiles(dir).at(-1)!).size, dataEnd(store));
  });
});
