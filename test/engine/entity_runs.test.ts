// Entity runs (engine/log/entity_runs.ts): whole entity histories kept for repeated reads. Reads
// by entity must return exactly what the segments hold, whether served from a run, from the
// segments, or from both, through appends, erasure, retention and compaction.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type EventView,
  eventsJson,
  eventsJsonWithRuns,
  type ReadQuery,
  type Store,
} from '../../engine/index.js';
import { ev } from '../helpers/events.js';
import { createPrng, seedFromEnv } from '../helpers/prng.js';
import { openTiny } from '../helpers/store.js';
import { tmpDir } from '../helpers/tmp.js';

const ENTITIES = ['a', 'a', 'a', 'b', 'b', 'c', 'd'];

/** Every visible event of the log, read by position (a path that never uses runs). */
function everything(store: Store): EventView[] {
  const out: EventView[] = [];
  let after = 0;
  for (;;) {
    const page = store.read('default', { afterPosition: after, limit: 10_000 });
    out.push(...page.events);
    if (!page.hasMore) return out;
    after = page.nextPosition!;
  }
}

/** What a read by entity must return, computed from the full log. */
function expected(all: EventView[], q: ReadQuery): number[] {
  let list = all.filter((e) => e.entityId === q.entityId);
  if (q.afterPosition !== undefined) {
    const after = q.afterPosition;
    list = list.filter((e) => (q.order === 'desc' ? e.position < after : e.position > after));
  }
  if (q.maxPosition !== undefined) list = list.filter((e) => e.position <= q.maxPosition!);
  if (q.order === 'desc') list.reverse();
  return list.slice(q.offset ?? 0, (q.offset ?? 0) + (q.limit ?? 1000)).map((e) => e.position);
}

const image = (events: EventView[]) =>
  events.map((e) => `${e.position}:${e.version}:${e.payload.toString()}`);

describe('entity runs', () => {
  it('serve reads by entity exactly as the segments would, through appends, erasure and compaction', async (t) => {
    const seed = seedFromEnv();
    const rng = createPrng(seed);
    t.diagnostic(`seed ${seed} (ALLSOURCE_SEED replays it)`);
    const store = await openTiny(tmpDir(), { segmentBytesMax: 16 * 1024 });
    t.after(() => store.close());
    let n = 0;
    const append = async (count: number) => {
      const batch = Array.from({ length: count }, () =>
        ev('thing.happened', ENTITIES[rng.int(ENTITIES.length)]!, { n: n++ }),
      );
      await store.append('default', batch);
    };
    while (n < 200) await append(20);
    for (let step = 0; step < 400; step++) {
      const roll = rng.int(100);
      if (roll < 25) await append(1 + rng.int(12));
      else if (roll === 25 && step > 100) await store.eraseEntity('default', 'c');
      else if (roll === 26) await store.compact();
      else if (roll === 27) store.setRetention('default', { maxAgeMs: 0, maxBytes: 48 * 1024 });
      const q: ReadQuery = { entityId: ENTITIES[rng.int(ENTITIES.length)]! };
      // Half the reads are plain whole-history reads, the shape that builds and uses runs.
      if (rng.int(2) === 0) {
        if (rng.int(3) === 0) q.order = 'desc';
        if (rng.int(3) === 0) q.limit = 1 + rng.int(40);
        if (rng.int(4) === 0) q.offset = rng.int(30);
        if (rng.int(4) === 0) q.afterPosition = rng.int(n + 2);
        if (rng.int(4) === 0) q.maxPosition = rng.int(n + 2);
      }
      const all = everything(store);
      const got = store.read('default', q);
      const want = expected(all, q);
      assert.deepEqual(
        got.events.map((e) => e.position),
        want,
        `step ${step}, query ${JSON.stringify(q)}, seed ${seed}`,
      );
      // The wire JSON from a run's cached JSON is byte for byte the one assembled field by field.
      const tenants = step % 2 === 0 ? '"default"' : '"other\\"tenant"';
      assert.deepEqual(
        eventsJsonWithRuns(got.events, tenants, '{"events":', ',"n":1}'),
        eventsJson(got.events, tenants, '{"events":', ',"n":1}'),
      );
      const byPosition = new Map(all.map((e) => [e.position, e]));
      assert.deepEqual(
        image(got.events),
        image(got.events.map((e) => byPosition.get(e.position)!)),
      );
    }
    assert.ok(store.counters().entityRunReads > 50, 'reads were served from runs');
  });

  it('stay correct when the read cache evicts them', async (t) => {
    // The smallest cache there is: runs, chunks and indexes keep pushing each other out.
    const store = await openTiny(tmpDir(), { cacheBytes: 64 * 1024 });
    t.after(() => store.close());
    for (let b = 0; b < 40; b++) {
      await store.append(
        'default',
        Array.from({ length: 20 }, (_, i) => ev('x.y', `e${i % 10}`, { b, i })),
      );
    }
    const check = (e: number) => {
      const events = store.read('default', { entityId: `e${e}` }).events;
      assert.equal(events.length, 80);
      assert.deepEqual(
        events.map((v) => JSON.parse(v.payload.toString()).b),
        Array.from({ length: 80 }, (_, k) => Math.floor(k / 2)),
      );
    };
    check(0);
    check(0);
    assert.equal(store.counters().entityRunReads, 1, 'the second read used the run');
    for (let round = 0; round < 3; round++) for (let e = 0; e < 10; e++) check(e);
  });
});
