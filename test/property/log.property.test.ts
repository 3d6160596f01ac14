// Properties of the log: any prefix of a valid log recovers to a valid prefix of whole batches,
// and a flipped bit anywhere is detected, never returned as data. Replay a failure with the
// seed fast-check prints: ALLSOURCE_SEED=<seed> make test-unit.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type EventView, isStoreError, type Store } from '../../engine/index.js';
import { ev } from '../helpers/events.js';
import { flipBit, openTiny, segmentFiles } from '../helpers/store.js';
import { tmpDir } from '../helpers/tmp.js';

const runs = Number(process.env.ALLSOURCE_PROPERTY_RUNS ?? 25);
const seed =
  process.env.ALLSOURCE_SEED === undefined ? undefined : Number(process.env.ALLSOURCE_SEED);
const params = { numRuns: runs, ...(seed === undefined ? {} : { seed }) };

const batchArb = fc.array(
  fc.record({
    entity: fc.constantFrom('a', 'b', 'c', 'd'),
    type: fc.constantFrom('t.one', 't.two'),
    text: fc.string({ maxLength: 60 }),
  }),
  { minLength: 1, maxLength: 5 },
);
const logArb = fc.array(batchArb, { minLength: 1, maxLength: 25 });

type Batch = { entity: string; type: string; text: string }[];

interface Written {
  position: number;
  id: string;
  type: string;
  entity: string;
  payload: string;
  batch: number;
}

async function writeLog(dir: string, batches: Batch[]): Promise<Written[]> {
  const store = await openTiny(dir, { segmentBytesMax: 1024, fsync: 'never' });
  const written: Written[] = [];
  for (let b = 0; b < batches.length; b++) {
    const events = batches[b]!.map((e) => ev(e.type, e.entity, { text: e.text }));
    const results = await store.append('default', events);
    for (const [i, r] of results.entries()) {
      written.push({
        position: r.position,
        id: r.eventId,
        type: events[i]!.eventType,
        entity: events[i]!.entityId,
        payload: Buffer.from(events[i]!.payload).toString(),
        batch: b,
      });
    }
  }
  await store.close();
  return written;
}

function same(view: EventView, w: Written): boolean {
  return (
    view.position === w.position &&
    view.id === w.id &&
    view.eventType === w.type &&
    view.entityId === w.entity &&
    view.payload.toString() === w.payload
  );
}

/** Record ends in the concatenation of all segment files, with the batch they close. */
function batchEnds(files: string[]): number[] {
  const ends: number[] = [];
  let base = 0;
  for (const file of files) {
    const buf = fs.readFileSync(file);
    for (let at = 0; at < buf.length; ) {
      const length = buf.readUInt32LE(at + 8);
      at += length;
      if (buf.readUInt16LE(at - length + 14) === 0) ends.push(base + at);
    }
    base += buf.length;
  }
  return ends;
}

function readAll(store: Store): EventView[] {
  return store.read('default', { limit: 10_000 }).events;
}

describe('log properties', () => {
  it('recovers any byte prefix of a valid log to its whole batches', async () => {
    await fc.assert(
      fc.asyncProperty(logArb, fc.double({ min: 0, max: 1, noNaN: true }), async (batches, cut) => {
        const dir = tmpDir();
        const written = await writeLog(dir, batches);
        const files = segmentFiles(dir);
        const sizes = files.map((f) => fs.statSync(f).size);
        const total = sizes.reduce((a, b) => a + b, 0);
        const keep = Math.floor(total * cut);
        const wholeBatches = batchEnds(files).filter((end) => end <= keep).length;
        // Cut the log at `keep` bytes: later segments go, the one holding the cut is truncated.
        let base = 0;
        for (let f = 0; f < files.length; f++) {
          const file = files[f]!;
          if (base >= keep && f > 0) {
            fs.rmSync(file);
            fs.rmSync(file.replace(/\.log$/, '.idx'), { force: true });
          } else if (base + sizes[f]! > keep) fs.truncateSync(file, keep - base);
          base += sizes[f]!;
        }
        const store = await openTiny(dir, { segmentBytesMax: 1024 });
        try {
          const events = readAll(store);
          const expected = written.filter((w) => w.batch < wholeBatches);
          assert.equal(events.length, expected.length);
          for (const [i, e] of events.entries())
            assert.ok(same(e, expected[i]!), `event ${i} differs`);
          const versions = new Map<string, number>();
          for (const w of expected) versions.set(w.entity, (versions.get(w.entity) ?? 0) + 1);
          for (const entity of ['a', 'b', 'c', 'd']) {
            assert.equal(store.entityVersion('default', entity), versions.get(entity) ?? 0);
          }
          const [next] = await store.append('default', [ev('t.one', 'a')]);
          assert.equal(next!.position, (expected.at(-1)?.position ?? 0) + 1);
        } finally {
          await store.close();
        }
      }),
      params,
    );
  });

  it('never returns an event altered by a flipped bit', async () => {
    await fc.assert(
      fc.asyncProperty(
        logArb,
        fc.nat(),
        fc.nat(),
        fc.nat(7),
        async (batches, fileSeed, byteSeed, bit) => {
          const dir = tmpDir();
          const written = await writeLog(dir, batches);
          const eventsDir = path.dirname(segmentFiles(dir)[0]!);
          const files = fs
            .readdirSync(eventsDir)
            .map((n) => path.join(eventsDir, n))
            .filter((f) => fs.statSync(f).size > 0);
          const file = files[fileSeed % files.length]!;
          flipBit(file, byteSeed % fs.statSync(file).size, bit);
          let store: Store | null = null;
          try {
            store = await openTiny(dir, { segmentBytesMax: 1024 });
            const byPosition = new Map(written.map((w) => [w.position, w]));
            for (const view of readAll(store)) {
              assert.ok(
                same(view, byPosition.get(view.position)!),
                `altered event at ${view.position}`,
              );
            }
            for (const entity of ['a', 'b']) {
              for (const view of store.read('default', { entityId: entity }).events) {
                assert.equal(view.entityId, entity);
                assert.ok(same(view, byPosition.get(view.position)!));
              }
            }
          } catch (error) {
            if (!isStoreError(error, 'CORRUPTION') && !isStoreError(error, 'LOG_UNAVAILABLE'))
              throw error;
          } finally {
            await store?.close();
          }
        },
      ),
      params,
    );
  });
});
