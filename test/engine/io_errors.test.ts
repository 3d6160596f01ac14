// The write path under failing I/O: typed errors, nothing acknowledged lost, reads go on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isStoreError } from '../../engine/index.js';
import { ev, payloadOf } from '../helpers/events.js';
import { createFaultyIo } from '../helpers/faulty_io.js';
import { openTiny } from '../helpers/store.js';
import { tmpDir } from '../helpers/tmp.js';

describe('I/O failures', () => {
  it('fails appends with DISK_FULL, keeps reads, and resumes without a gap', async (t) => {
    const dir = tmpDir(t);
    const { io, faults } = createFaultyIo();
    const store = await openTiny(dir, { io, segmentBytesMax: 1 << 20 });
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
    const dir = tmpDir(t);
    const { io, faults } = createFaultyIo();
    const store = await openTiny(dir, { io, segmentBytesMax: 1 << 20 });
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
    const dir = tmpDir(t);
    const { io, faults } = createFaultyIo();
    const store = await openTiny(dir, { io, segmentBytesMax: 1 << 20 });
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
    const dir = tmpDir(t);
    const { io, faults } = createFaultyIo();
    const store = await openTiny(dir, { io, segmentBytesMax: 1 << 20 });
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
});
