// Appends where every event has an entity of its own: the per-entity state grows with each
// event, and each seal hands a segment's worth of keys to the sealing thread. The figures are
// the rate against the same appends over 10,000 entities, and how long the event loop stalled.
import fs from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { appendRate, freshStore, type Params, payloadOf } from './engine.js';
import { type Figure, figure } from './report.js';

export async function manyEntities(p: Params): Promise<Figure[]> {
  const total = p.smoke ? 20_000 : 1_200_000;
  const segmentBytesMax = p.smoke ? 1024 * 1024 : undefined;
  const payload = payloadOf(250);
  const own: number[] = [];
  const shared: number[] = [];
  const maxDelay: number[] = [];
  const p99Delay: number[] = [];
  for (let run = 0; run < p.runs; run++) {
    for (const entities of [total, 10_000]) {
      const store = await freshStore(p, 'keys', segmentBytesMax);
      const delay = monitorEventLoopDelay({ resolution: 5 });
      delay.enable();
      const rate = await appendRate(store, 'bench', 0, total, (n) => ({
        eventType: 'bench.event',
        entityId: `e-${n % entities}`,
        payload,
      }));
      delay.disable();
      await store.close();
      fs.rmSync(path.join(p.dir, 'keys'), { recursive: true, force: true });
      if (entities === 10_000) {
        shared.push(rate);
      } else {
        own.push(rate);
        maxDelay.push(delay.max / 1e6);
        p99Delay.push(delay.percentile(99) / 1e6);
      }
    }
  }
  const settings = {
    events: total,
    batchEvents: 100,
    inFlight: 4,
    payloadBytes: 250,
    fsync: 'never',
    segmentBytesMax: segmentBytesMax ?? 'default',
  };
  const name = 'batch append, one entity per event';
  return [
    figure('engine', name, 'events/s', own, settings, {
      baseline: { name: 'the same over 10,000 entities', samples: shared },
      target: 'context: per-entity state and seals',
    }),
    figure('engine', `${name}: event-loop delay p99`, 'ms', p99Delay, settings),
    figure('engine', `${name}: event-loop delay max`, 'ms', maxDelay, settings),
  ];
}
