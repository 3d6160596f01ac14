// Ingestion latency with and without a compaction pass running in the same process: the pass
// rewrites every sealed segment (an erased entity is spread through all of them) on its worker
// thread while 16 durable appenders keep writing. The figure is p99 without / p99 with.
import fs from 'node:fs';
import path from 'node:path';
import { type AppendEvent, limits, openStore, type Store } from '../engine/index.js';
import type { Params } from './engine.js';
import { type Figure, figure, percentile } from './report.js';

const SUITE = 'compaction';
const quiet = { warn: () => {}, info: () => {} };
const WRITERS = 16;

function event(entityId: string, n: number): AppendEvent {
  return {
    eventType: 'order.placed',
    entityId,
    payload: Buffer.from(JSON.stringify({ n, note: 'x'.repeat(200) })),
  };
}

/** Appenders until `until()` is true (checked between appends); their latencies in ms. */
async function appendUntil(store: Store, until: () => boolean): Promise<number[]> {
  const latencies: number[] = [];
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      let n = 0;
      while (!until()) {
        const started = performance.now();
        await store.append('bench', [event(`live-${w}`, n++)]);
        latencies.push(performance.now() - started);
      }
    }),
  );
  return latencies;
}

async function fill(dir: string, bytes: number): Promise<void> {
  const store = await openStore({
    dataDir: dir,
    fsync: 'never',
    logger: quiet,
    segmentBytesMax: 4 * 1024 * 1024,
  });
  let n = 0;
  while (store.counters().bytesWritten < bytes) {
    const batch = Array.from({ length: 100 }, (_, i) =>
      event(i === 0 ? 'victim' : `e-${n % 1000}`, n++),
    );
    await store.append('bench', batch);
  }
  await store.eraseEntity('bench', 'victim');
  await store.close();
}

export async function runCompactionSuite(p: Params): Promise<Figure[]> {
  const phaseMs = p.smoke ? 300 : 3000;
  const without: number[] = [];
  const withPass: number[] = [];
  const passMs: number[] = [];
  for (let run = 0; run < p.runs; run++) {
    const dir = path.join(p.dir, `compaction-${run}`);
    fs.rmSync(dir, { recursive: true, force: true });
    await fill(dir, (p.smoke ? 6 : 96) * 1024 * 1024);
    const store = await openStore({
      dataDir: dir,
      fsync: 'always',
      logger: quiet,
      segmentBytesMax: 4 * 1024 * 1024,
      compactionIntervalMs: 0,
    });
    const quietDeadline = performance.now() + phaseMs;
    without.push(percentile(await appendUntil(store, () => performance.now() > quietDeadline), 99));
    let done = false;
    const started = performance.now();
    const pass = store.compact().finally(() => {
      done = true;
    });
    const during = await appendUntil(store, () => done);
    const result = await pass;
    passMs.push(performance.now() - started);
    if (result.filesCompacted === 0) throw new Error('the compaction pass had nothing to do');
    withPass.push(percentile(during, 99));
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const settings = {
    writers: WRITERS,
    fsync: 'always',
    segmentBytes: 4 * 1024 * 1024,
    rewriteBytesPerSec: limits.compactionBytesPerSecDefault,
  };
  return [
    figure(SUITE, 'append p99 while a pass rewrites every segment', 'ms', withPass, settings, {
      baseline: { name: 'p99 with no pass', samples: without },
      lowerIsBetter: true,
      target: 'at most 20% worse (ratio >= 0.83)',
    }),
    figure(SUITE, 'compaction pass duration', 'ms', passMs, settings),
  ];
}
