// The idempotency window: a client id is recognised as a retry when the event it repeats is
// among the log's last `idempotencyWindowEvents` events, and the search for a new id reads only
// the segments of that window, however long the log grows.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createNodeIo, type Io, type Store } from '../../engine/index.js';
import { buildIdFilter, mayHold } from '../../engine/log/id_filter.js';
import { IdTable } from '../../engine/log/id_table.js';
import { ev } from '../helpers/events.js';
import { createPrng, seedFromEnv } from '../helpers/prng.js';
import { openTiny } from '../helpers/store.js';
import { tmpDir } from '../helpers/tmp.js';

/** A file system that counts the index files read whole (a sealed segment's index loads). */
function countingIo(): { io: Io; indexReads: { count: number } } {
  const inner = createNodeIo();
  const indexReads = { count: 0 };
  const io: Io = {
    ...inner,
    readFile(file) {
      if (file.endsWith('.idx')) indexReads.count++;
      return inner.readFile(file);
    },
  };
  return { io, indexReads };
}

/** Appends `n` events without client ids, ten at a time. */
async function fill(store: Store, n: number): Promise<void> {
  for (let i = 0; i < n; i += 10) {
    await store.append(
      'default',
      Array.from({ length: 10 }, (_, k) =>
        ev('filler.added', `filler-${(i + k) % 7}`, { i: i + k }),
      ),
    );
  }
}

describe('idempotency window', () => {
  it('finds every id of the active segment by its hash, colliding hashes included', () => {
    const table = new IdTable();
    const spread = (k: number) => Math.imul(k, 0x9e3779b1) >>> 0;
    // Far past the initial size, with every fifth hash shared by five ids.
    for (let rel = 0; rel < 10_000; rel++) table.add(rel % 5 === 0 ? 7 : spread(rel), rel);
    assert.equal(table.count, 10_000);
    const shared = table.candidates(7);
    assert.deepEqual(
      shared,
      Array.from({ length: 2_000 }, (_, k) => k * 5),
      'in position order',
    );
    assert.deepEqual(table.candidates(spread(3)), [3]);
    assert.deepEqual(table.candidates(12_345), []);
    assert.equal(table.view.length, 20_000);
  });

  it('rules ids out with a filter that never misses one it holds', (t) => {
    const seed = seedFromEnv();
    t.diagnostic(`ALLSOURCE_SEED=${seed}`);
    const prng = createPrng(seed);
    const hash = () => Math.floor(prng.next() * 2 ** 32);
    const held = Array.from({ length: 50_000 }, hash);
    // A section holds (hash, relative position) pairs sorted by hash.
    const sorted = [...held].sort((a, b) => a - b);
    const pairs = new Uint32Array(sorted.length * 2);
    sorted.forEach((h, k) => {
      pairs[2 * k] = h;
      pairs[2 * k + 1] = k;
    });
    const filter = buildIdFilter(pairs);
    for (const h of held) assert.ok(mayHold(filter, h), `hash ${h} is held`);
    const set = new Set(held);
    let wrong = 0;
    let asked = 0;
    for (let k = 0; k < 100_000; k++) {
      const h = hash();
      if (set.has(h)) continue;
      asked++;
      if (mayHold(filter, h)) wrong++;
    }
    assert.ok(wrong / asked < 0.01, `${wrong} false positives in ${asked}`);
    // A segment without client ids rules every id out.
    assert.equal(mayHold(buildIdFilter(new Uint32Array(0)), hash()), false);
  });

  it('answers a retry within the window, across a restart, and takes one from beyond it as new', async (t) => {
    const dir = tmpDir();
    const options = { idempotencyWindowEvents: 50 };
    let store = await openTiny(dir, options);
    t.after(() => store.close());
    const original = ev('order.placed', 'order-1', { total: 5 }, { id: 'key-1' });
    const [first] = await store.append('default', [original]);
    await fill(store, 30);
    const [retry] = await store.append('default', [original]);
    assert.equal(retry!.duplicate, true);
    assert.equal(retry!.position, first!.position);

    await store.close();
    store = await openTiny(dir, options);
    const [again] = await store.append('default', [original]);
    assert.equal(again!.duplicate, true, 'the window is rebuilt from the log after a restart');
    assert.equal(again!.position, first!.position);
    // Reusing the id for another entity inside the window is refused.
    await assert.rejects(
      store.append('default', [ev('order.placed', 'order-2', {}, { id: 'key-1' })]),
      { code: 'ALREADY_EXISTS' },
    );

    await fill(store, 60);
    const [late] = await store.append('default', [original]);
    assert.notEqual(late!.duplicate, true, 'beyond the window the append is a new event');
    assert.ok(late!.position > first!.position);
    assert.equal(store.entityVersion('default', 'order-1'), 2);
    // A read by id finds the newest event that carries it.
    assert.equal(store.getEvent('default', 'key-1')!.position, late!.position);
  });

  it('reads only the index files of the window when looking for a new id', async (t) => {
    const dir = tmpDir();
    let store = await openTiny(dir);
    await fill(store, 1200);
    const sealed = store.stats('default').segments - 1;
    assert.ok(sealed >= 30, `expected many sealed segments, got ${sealed}`);
    await store.close();

    const { io, indexReads } = countingIo();
    store = await openTiny(dir, { io, idempotencyWindowEvents: 20 });
    t.after(() => store.close());
    indexReads.count = 0;
    for (let k = 0; k < 5; k++) {
      await store.append('default', [ev('order.placed', `order-${k}`, {}, { id: `new-${k}` })]);
    }
    // About thirty of these events fit a tiny segment: a window of 20 spans one or two sealed
    // segments, whose ids stay cached after the first search. Before the window, every search
    // read every sealed segment's index.
    assert.ok(indexReads.count <= 3, `read ${indexReads.count} index files`);

    // A read by id still searches the whole log.
    const [old] = await store.append('default', [ev('order.placed', 'order-x', {}, { id: 'old' })]);
    await fill(store, 40);
    assert.equal(store.getEvent('default', 'old')!.position, old!.position);
  });
});
