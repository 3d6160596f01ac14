// The write path under failing I/O: typed errors, nothing acknowledged lost, reads go on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isStoreError, type StoreOptions } from '../../engine/index.js';
import { ev, payloadOf } from '../helpers/events.js';
import { createFaultyIo } from '../helpers/faulty_io.js';
import { openTiny } from '../helpers/store.js';
import { tmpDir } from '../helpers/tmp.js';

/** A store on an Io whose faults the test switches, with one segment for the whole test. */
async function faultyStore(extra: Partial<StoreOptions> = {}) {
  const dir = tmpDir();
  const { io, faults } = createFaultyIo();
  const store = await openTiny(dir, { io, segmentBytesMax: 1 << 20, ...extra });
  return { dir, store, faults };
}

/** Appends 1 KiB events one at a time until the 4 KiB segments have rolled; returns how many. */
async function appendUntilRolled(store: Awaited<ReturnType<typeof openTiny>>, rolls: number) {
  const big = { text: 'x'.repeat(1000) };
  let appended = 0;
  while (store.stats('default').segments <= rolls) {
    await store.append('default', [ev('a.b', 'e', big)]);
    appended++;
  }
  return appended;
}

describe('rolling a segment', () => {
  it('under fsync = never, keeps appending while the sealed segment syncs', async (t) => {
    const dir = tmpDir();
    const { io, faults } = createFaultyIo();
    const store = await openTiny(dir, { io, fsync: 'never' });
    faults.fsyncDelayMs = 150;
    const appended = await appendUntilRolled(store, 1);
    // The roll's fsync has started ('sync') and not ended, yet the append that rolled was
    // written to the next segment and acknowledged.
    const sync = faults.trace.indexOf('sync');
    assert.ok(sync >= 0, 'the sealed segment is being synced');
    assert.ok(faults.trace.slice(sync).includes('write'));
    assert.ok(!faults.trace.includes('synced'), 'the append did not wait for the sync');
    await store.close();
    faults.fsyncDelayMs = 0;
    const reopened = await openTiny(dir);
    t.after(() => reopened.close());
    assert.equal(reopened.read('default', {}).events.length, appended);
    assert.equal(reopened.stats('default').segments, 2);
  });

  it('under fsync = always, writes nothing to the next segment before the sealed one is synced', async (t) => {
    const { io, faults } = createFaultyIo();
    const store = await openTiny(tmpDir(), { io, fsync: 'always', preallocateBytes: 0 });
    t.after(() => store.close());
    faults.fsyncDelayMs = 20;
    await appendUntilRolled(store, 2);
    // Every write is followed by its own sync, the roll's included: no write ever overlaps one.
    let open = false;
    for (const step of faults.trace) {
      if (step === 'write')
        assert.ok(!open, `a write overlapped a sync: ${faults.trace.join(' ')}`);
      open = step === 'sync' ? true : step === 'synced' ? false : open;
    }
  });

  it('under fsync = never, stops appends when the sealed segment fails to sync', async (t) => {
    const { io, faults } = createFaultyIo();
    const store = await openTiny(tmpDir(), { io, fsync: 'never' });
    t.after(() => store.close());
    faults.fsyncFails = true;
    const appended = await appendUntilRolled(store, 1);
    faults.fsyncFails = false;
    await store.sync();
    await assert.rejects(store.append('default', [ev('a.b', 'e')]), (e) =>
      isStoreError(e, 'LOG_UNAVAILABLE'),
    );
    assert.equal(store.read('default', {}).events.length, appended, 'reads go on');
    assert.ok(store.warnings.some((w) => w.message === 'syncing a sealed segment failed'));
  });
});

describe('I/O failures', () => {
  it('fails appends with DISK_FULL, keeps reads, and resumes without a gap', async (t) => {
    const { dir, store, faults } = await faultyStore();
    await store.append('default', [ev('a.b', 'e', { n: 1 })]);
    faults.diskFull = true;
    faults.partialWriteBytes = 20;
    await assert.rejects(store.append('default', [ev('a.b', 'e', { n: 2 })]), (e) =>
      isStoreError(e, 'DISK_FULL'),
    );
    assert.deepEqual(store.read('default', {}).events.map(payloadOf), [{ n: 1 }]);
    assert.equal(store.entityVersion('default', 'e'), 1);
    faults.diskFull = false;
    const [next] = await store.append('default', [ev('a.b', 'e', { n: 3 })]);
    assert.deepEqual([next!.position, next!.version], [2, 2]);
    await store.close();
    const reopened = await openTiny(dir, { segmentBytesMax: 1 << 20 });
    t.after(() => reopened.close());
    assert.deepEqual(reopened.read('default', {}).events.map(payloadOf), [{ n: 1 }, { n: 3 }]);
    assert.equal(
      reopened.stats('default').recoveredTruncations,
      0,
      'the partial write was cut at once',
    );
  });

  it('does not acknowledge an append whose fsync failed', async (t) => {
    const { store, faults } = await faultyStore();
    t.after(() => store.close());
    faults.fsyncFails = true;
    await assert.rejects(store.append('default', [ev('a.b', 'e')]), (e) =>
      isStoreError(e, 'IO_ERROR'),
    );
    assert.equal(store.read('default', {}).events.length, 0);
    faults.fsyncFails = false;
    const [ok] = await store.append('default', [ev('a.b', 'e')]);
    assert.equal(ok!.position, 1);
  });

  it('disables appends when the file cannot be put back, and keeps serving reads', async (t) => {
    const { store, faults } = await faultyStore();
    t.after(() => store.close());
    await store.append('default', [ev('a.b', 'e', { n: 1 })]);
    faults.diskFull = true;
    faults.truncateFails = true;
    await assert.rejects(store.append('default', [ev('a.b', 'e')]), (e) =>
      isStoreError(e, 'DISK_FULL'),
    );
    faults.diskFull = false;
    await assert.rejects(store.append('default', [ev('a.b', 'e')]), (e) =>
      isStoreError(e, 'LOG_UNAVAILABLE'),
    );
    assert.deepEqual(store.read('default', {}).events.map(payloadOf), [{ n: 1 }]);
  });

  it('fails every append of a round that hit the full disk, and none of the next round', async (t) => {
    const { store, faults } = await faultyStore();
    t.after(() => store.close());
    faults.diskFull = true;
    const round = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => store.append('default', [ev('a.b', `e${i}`)])),
    );
    assert.ok(round.every((r) => r.status === 'rejected'));
    faults.diskFull = false;
    const next = await Promise.all(
      Array.from({ length: 5 }, (_, i) => store.append('default', [ev('a.b', `e${i}`)])),
    );
    assert.deepEqual(
      next.map(([r]) => r!.position).sort((a, b) => a - b),
      [1, 2, 3, 4, 5],
    );
  });

  it('rejects the rounds written behind a failed one, then goes on from committed bytes', async (t) => {
    const { dir, store, faults } = await faultyStore();
    await store.append('default', [ev('a.b', 'e', { n: 0 })]);
    faults.fsyncDelayMs = 30;
    faults.failFsyncs = 1;
    const first = store.append('default', [ev('a.b', 'e', { n: 1 })]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    // Prepared and written while the first round waits for its (failing) fsync.
    const second = store.append('default', [ev('a.b', 'e', { n: 2 }, { expectedVersion: 2 })]);
    const results = await Promise.allSettled([first, second]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
    assert.ok(results.every((r) => isStoreError((r as PromiseRejectedResult).reason, 'IO_ERROR')));
    faults.fsyncDelayMs = 0;
    const [next] = await store.append('default', [
      ev('a.b', 'e', { n: 3 }, { expectedVersion: 1 }),
    ]);
    assert.deepEqual([next!.position, next!.version], [2, 2]);
    await store.close();
    const reopened = await openTiny(dir, { segmentBytesMax: 1 << 20 });
    t.after(() => reopened.close());
    assert.deepEqual(reopened.read('default', {}).events.map(payloadOf), [{ n: 0 }, { n: 3 }]);
    assert.equal(
      reopened.stats('default').recoveredTruncations,
      0,
      'nothing was left past the committed end',
    );
  });

  it('pipelines rounds: one is written while the previous waits for its fsync', async (t) => {
    // No zeros written ahead: the trace is the appends' writes and syncs alone.
    const { store, faults } = await faultyStore({ preallocateBytes: 0 });
    t.after(() => store.close());
    faults.fsyncDelayMs = 20;
    const a = store.append('default', [ev('a.b', 'x')]);
    await new Promise((resolve) => setTimeout(resolve, 2));
    const b = store.append('default', [ev('a.b', 'y')]);
    const [[ra], [rb]] = await Promise.all([a, b]);
    assert.deepEqual([ra!.position, rb!.position], [1, 2]);
    assert.equal(store.counters().writes, 2);
    // Round b was written before round a's fsync returned: b did not wait for a to commit.
    assert.equal(faults.trace.filter((x) => x === 'write').length, 2);
    assert.ok(
      faults.trace.lastIndexOf('write') < faults.trace.indexOf('synced'),
      faults.trace.join(' '),
    );
  });
});
