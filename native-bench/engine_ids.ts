// Appends with client ids (idempotency keys): each new id is looked for among the log's recent
// events before it is written. The figure compares a long log with the same log when it was
// young, in one run, so that a cost growing with the log shows as a ratio below 1.
import fs from 'node:fs';
import path from 'node:path';
import type { AppendEvent } from '../engine/index.js';
import { appendRate, freshStore, type Params, payloadOf } from './engine.js';
import { type Figure, figure } from './report.js';

/** Events with fresh client ids, over 10,000 entities. */
const withId =
  (payload: Buffer) =>
  (n: number): AppendEvent => ({
    eventType: 'bench.event',
    entityId: `entity-${n % 10_000}`,
    id: `client-${n}`,
    payload,
  });

export async function idempotentAppend(p: Params): Promise<Figure[]> {
  const measured = p.smoke ? 5_000 : 100_000;
  // Each new id is looked for among the last 1,000,000 events (the default idempotency
  // window): the cost per event grows while the window fills, then must stay flat. The log is
  // measured young, once the window is full, and again a million events later.
  const gap = p.smoke ? 20_000 : 1_000_000;
  const segmentBytesMax = p.smoke ? 1024 * 1024 : undefined;
  const payload = payloadOf(250);
  const young: number[] = [];
  const full: number[] = [];
  const long: number[] = [];
  let segments = 0;
  for (let run = 0; run < p.runs; run++) {
    const store = await freshStore(p, 'ids', segmentBytesMax);
    // Another tenant's log first, so that the young figure is not the compiler's warm-up.
    const make = withId(payload);
    await appendRate(store, 'warm-up', 0, measured / 5, make);
    let at = 0;
    const phase = async (events: number): Promise<number> => {
      const rate = await appendRate(store, 'bench', at, events, make);
      at += events;
      return rate;
    };
    young.push(await phase(measured));
    await phase(gap);
    full.push(await phase(measured));
    await phase(gap);
    long.push(await phase(measured));
    segments = store.stats('bench').segments;
    await store.close();
    fs.rmSync(path.join(p.dir, 'ids'), { recursive: true, force: true });
  }
  const settings = {
    batchEvents: 100,
    inFlight: 4,
    payloadBytes: 250,
    fsync: 'never',
    segmentBytesMax: segmentBytesMax ?? 'default',
    segments,
  };
  const windowFull = measured + gap;
  const later = windowFull + measured + gap;
  return [
    figure(
      'engine',
      `batch append with client ids, after ${windowFull} events`,
      'events/s',
      full,
      settings,
      {
        baseline: { name: 'the same log when young', samples: young },
        target: 'context: the cost of searching the idempotency window',
      },
    ),
    figure(
      'engine',
      `batch append with client ids, after ${later} events`,
      'events/s',
      long,
      settings,
      {
        baseline: { name: `the same log after ${windowFull}`, samples: full },
        target: 'ratio >= 0.8: no cost grows past the window',
      },
    ),
  ];
}
