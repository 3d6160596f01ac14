// The entity checkpoint is written at a seal only once as many events as the log has entities
// have come since the last one; the totals stay exact across a clean restart, a crash copy and
// a compaction, which writes one before it rewrites segments.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import {
  checkpointPieces,
  decodeCheckpoint,
  encodeCheckpoint,
} from '../../engine/format/checkpoint.js';
import { initChecksum } from '../../engine/format/checksum.js';
import { createNodeIo, type Io, type Store } from '../../engine/index.js';
import { applyEvent, emptyTotals, freezeTotals } from '../../engine/log/state.js';
import { ev } from '../helpers/events.js';
import { openTiny } from '../helpers/store.js';
import { tmpDir } from '../helpers/tmp.js';

function countingIo(): { io: Io; checkpoints: { count: number } } {
  const inner = createNodeIo();
  const checkpoints = { count: 0 };
  const io: Io = {
    ...inner,
    writeFileAtomic(file, data) {
      if (path.basename(file).startsWith('entities')) checkpoints.count++;
      return inner.writeFileAtomic(file, data);
    },
  };
  return { io, checkpoints };
}

function totals(store: Store) {
  const s = store.stats('default');
  return {
    events: s.totalEvents,
    entities: s.totalEntities,
    ingested: s.totalIngested,
    versions: [0, 7, 99, 250].map((k) => store.entityVersion('default', `one-${k}`)),
  };
}

describe('entity checkpoint', () => {
  before(() => initChecksum());

  it('is written from a frozen view: appends in between change nothing it holds', () => {
    const totals = emptyTotals();
    let position = 0;
    const append = (entity: string, type = 'thing.changed'): void => {
      position++;
      const version = (totals.entities.get(entity)?.version ?? 0) + 1;
      applyEvent(totals, entity, type, version, position);
      totals.coveredPosition = position;
    };
    for (let i = 0; i < 200; i++) append(`entity-${i}`, i % 2 === 0 ? 'even.added' : 'odd.added');
    append('entity-3');
    append('entity-150', '$erase');
    const expected = decodeCheckpoint(encodeCheckpoint(totals));

    const view = freezeTotals(totals);
    // A second view, taken after one more append, holds its own moment (a backup's view
    // beside a seal's); reading and releasing it changes nothing for the first.
    append('entity-7');
    const laterExpected = decodeCheckpoint(encodeCheckpoint(totals));
    const later = freezeTotals(totals);
    append('entity-7');
    const laterBytes = Buffer.concat(Array.from(checkpointPieces(later), (p) => Buffer.from(p)));
    assert.deepEqual(decodeCheckpoint(laterBytes), laterExpected);
    later.release();
    // Pieces of a few hundred bytes: about ten entities each, so appends land between them.
    const pieces: Buffer[] = [];
    let turn = 0;
    for (const piece of checkpointPieces(view, 600)) {
      pieces.push(Buffer.from(piece));
      turn++;
      append(`entity-${turn}`); // already written
      append(`entity-${199 - turn}`, 'odd.added'); // not yet written
      append(`late-${turn}`, 'late.added'); // new since the view
      append(`entity-${100 + turn}`, '$erase');
    }
    assert.ok(pieces.length >= 10, `${pieces.length} pieces`);
    view.release();
    view.release();
    assert.deepEqual(totals.views, []);
    assert.deepEqual(decodeCheckpoint(Buffer.concat(pieces)), expected);
    // The live totals moved on meanwhile.
    assert.equal(totals.entities.get('entity-198')!.version, 2);
    assert.equal(totals.entities.size, 200 + turn);
    assert.equal(totals.totalIngested, 204 + 4 * turn);
  });

  it('holds the totals of the moment it began while appends commit during its write', async (t) => {
    const dir = tmpDir();
    const inner = createNodeIo();
    let during: (() => Promise<void>) | null = null;
    let written: ReturnType<typeof decodeCheckpoint> | null = null;
    const io: Io = {
      ...inner,
      async writeFileAtomic(file, data) {
        // The view is taken before the file is written: these appends commit in between.
        const run = path.basename(file) === 'entities.ckpt' ? during : null;
        if (run === null) return inner.writeFileAtomic(file, data);
        during = null;
        await run();
        await inner.writeFileAtomic(file, data);
        // Read at once: a seal after the appends above may write a newer one.
        written = decodeCheckpoint(fs.readFileSync(file));
      },
    };
    let store = await openTiny(dir, { io, compactionIntervalMs: 0 });
    t.after(() => store.close());
    for (let i = 0; i < 40; i++) {
      await store.append('default', [ev('one.added', `one-${i}`, { i })]);
    }
    const covered = store.stats('default').lastPosition;
    during = async () => {
      await store.append('default', [ev('one.changed', 'one-3'), ev('late.added', 'late-1')]);
    };
    await store.compact();
    const file = written as ReturnType<typeof decodeCheckpoint> | null;
    assert.ok(file !== null, 'a checkpoint was written');
    assert.ok(typeof file !== 'string', String(file));
    assert.equal(file.coveredPosition, covered);
    assert.equal(file.totalIngested, 40);
    assert.equal(file.entities.get('one-3')!.version, 1, 'as it was when the view was taken');
    assert.equal(file.entities.has('late-1'), false, 'created after the view');
    assert.equal(file.types.has('late.added'), false);

    await store.close();
    store = await openTiny(dir);
    assert.equal(store.entityVersion('default', 'one-3'), 2);
    assert.equal(store.entityVersion('default', 'late-1'), 1);
    assert.equal(store.stats('default').totalIngested, 42, 'nothing counted twice');
  });

  it('is written as often as the entities it holds allow, and totals stay exact', async (t) => {
    const dir = tmpDir();
    const { io, checkpoints } = countingIo();
    let store = await openTiny(dir, { io });
    t.after(() => store.close());
    // One event per entity: about thirty events fill a tiny segment, so the log rolls often
    // but never has as many new events as entities.
    for (let i = 0; i < 300; i += 10) {
      await store.append(
        'default',
        Array.from({ length: 10 }, (_, k) => ev('one.added', `one-${i + k}`, { i: i + k })),
      );
    }
    await store.append('default', [ev('one.added', 'one-7', { again: true })]);
    const seals = store.stats('default').segments - 1;
    await store.sync();
    const before = totals(store);
    assert.ok(seals >= 8, `${seals} seals`);
    assert.ok(checkpoints.count <= 2, `${checkpoints.count} checkpoints for ${seals} seals`);

    await store.close();
    store = await openTiny(dir);
    assert.deepEqual(totals(store), before, 'a clean restart reads past the checkpoint');
    const copy = tmpDir();
    fs.cpSync(dir, copy, { recursive: true });
    await store.close();
    store = await openTiny(copy);
    assert.deepEqual(totals(store), before, 'as does an open of a copy');
    await store.close();

    const counted = countingIo();
    store = await openTiny(dir, { io: counted.io, compactionIntervalMs: 0 });
    assert.deepEqual(totals(store), before);
    // New entities roll the log again without a checkpoint: the one on disk is now behind.
    for (let i = 0; i < 60; i += 10) {
      await store.append(
        'default',
        Array.from({ length: 10 }, (_, k) => ev('one.added', `new-${i + k}`, {})),
      );
    }
    assert.equal(counted.checkpoints.count, 0);
    const ingested = store.stats('default').totalIngested;
    // The oldest segments go; the newest events stay.
    store.setRetention('default', { maxAgeMs: 0, maxBytes: 8000 });
    await store.compact();
    assert.equal(counted.checkpoints.count, 1, 'compaction writes one before it rewrites');
    const after = totals(store);
    assert.ok(store.compactionStats().totals.eventsCompacted > 0, 'retention removed events');
    await store.close();
    store = await openTiny(dir);
    const reopened = totals(store);
    assert.equal(reopened.ingested, ingested, 'totals count what was ingested, not what is left');
    assert.deepEqual(reopened, after);
  });

  it('keeps versions and totals when retention has removed every event', async (t) => {
    const dir = tmpDir();
    let store = await openTiny(dir, { compactionIntervalMs: 0 });
    t.after(() => store.close());
    for (let i = 0; i < 60; i++) {
      await store.append('default', [ev('one.added', 'kept', { pad: 'x'.repeat(100) })]);
    }
    await new Promise((r) => setTimeout(r, 5));
    store.setRetention('default', { maxAgeMs: 1, maxBytes: 0 });
    await store.compact();
    assert.equal(store.compactionStats().totals.eventsCompacted, 60, 'every event is gone');
    await store.close();
    store = await openTiny(dir);
    assert.equal(store.entityVersion('default', 'kept'), 60);
    assert.equal(store.stats('default').totalIngested, 60);
    assert.equal(store.warnings.length, 0, JSON.stringify(store.warnings));
    const [next] = await store.append('default', [ev('one.added', 'kept')]);
    assert.deepEqual([next!.position, next!.version], [61, 61]);
  });
});
