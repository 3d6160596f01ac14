// The engine suites: each prints our figure beside a native ceiling measured in the same run.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Bench } from 'tinybench';
import { type AppendEvent, openStore, type Store } from '../engine/index.js';
import { idempotentAppend } from './engine_ids.js';
import { manyEntities } from './engine_keys.js';
import { type Figure, figure, percentile } from './report.js';

export interface Params {
  smoke: boolean;
  runs: number;
  dir: string;
}

const quiet = { warn: () => {}, info: () => {} };
const SUITE = 'engine';

/** A JSON payload of exactly `bytes` bytes. */
export function payloadOf(bytes: number): Buffer {
  const frame = '{"data":""}';
  return Buffer.from(`{"data":"${'x'.repeat(bytes - frame.length)}"}`);
}

/**
 * Appends events from..from+total of a tenant (`make` builds event n) in batches of 100, four in
 * flight, as a producer keeping a few batches outstanding would; returns events/s.
 */
export async function appendRate(
  store: Store,
  tenant: string,
  from: number,
  total: number,
  make: (n: number) => AppendEvent,
): Promise<number> {
  let next = from;
  const end = from + total;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < end) {
        const events: AppendEvent[] = [];
        for (let i = 0; i < 100; i++, next++) events.push(make(next));
        await store.append(tenant, events);
      }
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

/** A store with fsync = never in a fresh directory of the bench; default segments unless given. */
export function freshStore(p: Params, name: string, segmentBytesMax?: number): Promise<Store> {
  return openStore({
    dataDir: freshDir(p, name),
    fsync: 'never',
    logger: quiet,
    ...(segmentBytesMax === undefined ? {} : { segmentBytesMax }),
  });
}

function freshDir(p: Params, name: string): string {
  const dir = path.join(p.dir, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function batchOf(size: number, entities: number, offset: number, payload: Buffer): AppendEvent[] {
  return Array.from({ length: size }, (_, i) => ({
    eventType: 'bench.event',
    entityId: `entity-${(offset + i) % entities}`,
    payload,
  }));
}

const writeAt = (fd: number, buf: Buffer, pos: number) =>
  new Promise<void>((resolve, reject) =>
    fs.write(fd, buf, 0, buf.length, pos, (e) => (e ? reject(e) : resolve())),
  );
const fdatasync = (fd: number) =>
  new Promise<void>((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve())));

/** Appends `batches` batches of 1000 250-byte events with fsync = never, against raw fs.write. */
async function batchAppend(p: Params): Promise<Figure[]> {
  const batches = p.smoke ? 20 : 1000;
  const size = 1000;
  const inFlight = 4;
  const payload = payloadOf(250);
  const variants = Array.from({ length: 10 }, (_, v) => batchOf(size, 10_000, v * size, payload));
  const ours: number[] = [];
  const oursMb: number[] = [];
  const raw: number[] = [];
  for (let run = 0; run < p.runs; run++) {
    const dir = freshDir(p, 'batch');
    const store = await openStore({ dataDir: dir, fsync: 'never', logger: quiet });
    const started = performance.now();
    // A client keeps a few batches in flight, as a real producer would; group commit may
    // then join them into one write.
    let next = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < batches) await store.append('bench', variants[next++ % 10]!);
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const { bytesWritten: bytes, writes } = store.counters();
    await store.close();
    ours.push((batches * size) / seconds);
    oursMb.push(bytes / seconds / 1e6);
    // The ceiling: the same bytes in the same write sizes, straight to a file.
    const chunk = Buffer.alloc(Math.round(bytes / writes), 0x61);
    const fd = fs.openSync(path.join(dir, 'raw.bin'), 'w');
    const rawStart = performance.now();
    for (let w = 0; w < writes; w++) await writeAt(fd, chunk, w * chunk.length);
    const rawSeconds = (performance.now() - rawStart) / 1000;
    fs.closeSync(fd);
    raw.push((batches * size) / rawSeconds);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const settings = { batches, batchEvents: size, inFlight, payloadBytes: 250, fsync: 'never' };
  return [
    figure(SUITE, 'batch append (1000 x 250 B)', 'events/s', ours, settings, {
      baseline: { name: 'raw fs.write', samples: raw },
      target: '>= 1,000,000/s and >= 60% of raw',
    }),
    figure(SUITE, 'batch append bandwidth', 'MB/s', oursMb, settings),
  ];
}

/** 64 concurrent single-event appenders with fsync = always, against write + fdatasync. */
async function concurrentDurable(p: Params): Promise<Figure[]> {
  const workers = 64;
  const durationMs = p.smoke ? 500 : 4000;
  const payload = payloadOf(250);
  const ours: number[] = [];
  const raw: number[] = [];
  const p50: number[] = [];
  const p99: number[] = [];
  const groups: number[] = [];
  for (let run = 0; run < p.runs; run++) {
    const dir = freshDir(p, 'durable');
    const store = await openStore({ dataDir: dir, fsync: 'always', logger: quiet });
    await store.append('bench', [{ eventType: 'bench.event', entityId: 'warm', payload }]);
    const before = store.counters();
    const latencies: number[] = [];
    let events = 0;
    const deadline = performance.now() + durationMs;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: workers }, async (_, w) => {
        const event = [{ eventType: 'bench.event', entityId: `worker-${w}`, payload }];
        while (performance.now() < deadline) {
          const t0 = performance.now();
          await store.append('bench', event);
          latencies.push(performance.now() - t0);
          events++;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const after = store.counters();
    await store.close();
    const fsyncs = after.fsyncs - before.fsyncs;
    const group = Math.max(1, Math.round(events / Math.max(1, fsyncs)));
    const recordBytes = (after.bytesWritten - before.bytesWritten) / Math.max(1, events);
    ours.push(events / seconds);
    p50.push(percentile(latencies, 50));
    p99.push(percentile(latencies, 99));
    groups.push(events / Math.max(1, fsyncs));
    // The ceiling: the same group sizes written and fdatasync'ed back to back.
    const buf = Buffer.alloc(Math.round(group * recordBytes), 0x61);
    const fd = fs.openSync(path.join(dir, 'raw.bin'), 'w');
    let syncs = 0;
    const rawDeadline = performance.now() + durationMs;
    const rawStart = performance.now();
    while (performance.now() < rawDeadline) {
      await writeAt(fd, buf, syncs * buf.length);
      await fdatasync(fd);
      syncs++;
    }
    raw.push((syncs * group) / ((performance.now() - rawStart) / 1000));
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const settings = { workers, durationMs, payloadBytes: 250, fsync: 'always' };
  return [
    figure(SUITE, '64 appenders, fsync always', 'events/s', ours, settings, {
      baseline: { name: 'raw write+fdatasync, same groups', samples: raw },
      target: '>= 50% of raw',
    }),
    figure(SUITE, '64 appenders p50 latency', 'ms', p50, settings),
    figure(SUITE, '64 appenders p99 latency', 'ms', p99, settings),
    figure(SUITE, '64 appenders events per fsync', 'events', groups, settings),
  ];
}

async function fill(store: Store, tenant: string, total: number, entities: number): Promise<void> {
  const payload = payloadOf(250);
  const size = 1000;
  for (let done = 0; done < total; done += size) {
    await store.append(tenant, batchOf(Math.min(size, total - done), entities, done, payload));
  }
}

/** Reading one entity's 100 events out of a large store (entities interleaved in the log). */
async function entityRead(p: Params): Promise<Figure[]> {
  const entities = p.smoke ? 200 : 10_000;
  const total = entities * 100;
  const dir = freshDir(p, 'read');
  let store = await openStore({ dataDir: dir, fsync: 'never', logger: quiet });
  await fill(store, 'bench', total, entities);
  await store.close();
  store = await openStore({ dataDir: dir, fsync: 'never', cacheBytes: 1024 ** 3, logger: quiet });
  // Cold: the first read of each entity after open, from the segments (chunks and indexes come
  // from disk or the page cache, and no entity run exists yet). Timed one by one.
  const coldReads = Math.min(entities, p.smoke ? 100 : 2000);
  const cold: number[] = [];
  for (let k = 0; k < coldReads; k++) {
    const entityId = `entity-${(k * 7919) % entities}`;
    const started = process.hrtime.bigint();
    const result = store.read('bench', { entityId });
    cold.push(Number(process.hrtime.bigint() - started) / 1000);
    if (result.events.length !== 100)
      throw new Error(`expected 100 events, got ${result.events.length}`);
  }
  // Warm: every entity read again and again, as a service rebuilding aggregates does; after
  // its first read an entity is served from its run (engine/log/entity_runs.ts).
  const runReadsBefore = store.counters().entityRunReads;
  const warm = await timeReads(p, store, entities);
  const runReads = store.counters().entityRunReads - runReadsBefore;
  await store.close();
  // The same warm reads with entity runs off: every read walks the segments' indexes and
  // cached chunks, one scattered record after another.
  store = await openStore({
    dataDir: dir,
    fsync: 'never',
    cacheBytes: 1024 ** 3,
    entityRuns: false,
    logger: quiet,
  });
  for (let k = 0; k < entities; k++) store.read('bench', { entityId: `entity-${k}` });
  const segmentsOnly = await timeReads(p, store, entities);
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
  const settings = {
    storeEvents: total,
    entities,
    eventsPerEntity: 100,
    cacheBytes: 1024 ** 3,
    runReads,
  };
  const name = (what: string) => `read 100 events of 1 entity (${total} in store)${what}`;
  return [
    figure(SUITE, name(' p50'), 'us', warm.p50, settings, { target: 'p50 < 12 us' }),
    figure(SUITE, name(' p99'), 'us', warm.p99, settings),
    figure(SUITE, name(', entity runs off, p50'), 'us', segmentsOnly.p50, {
      ...settings,
      entityRuns: false,
      runReads: 0,
    }),
    figure(SUITE, name(', first read after open, p50'), 'us', [percentile(cold, 50)], {
      ...settings,
      coldReads,
      runReads: 0,
    }),
    figure(SUITE, name(', first read after open, p99'), 'us', [percentile(cold, 99)], {
      ...settings,
      coldReads,
      runReads: 0,
    }),
  ];
}

/** p50 and p99 (microseconds) of reads of every entity in turn, `p.runs` times. */
async function timeReads(
  p: Params,
  store: Store,
  entities: number,
): Promise<{ p50: number[]; p99: number[] }> {
  let n = 0;
  const bench = new Bench({ time: p.smoke ? 200 : 3000, warmupTime: p.smoke ? 50 : 500 });
  bench.add('entity read', () => {
    const entityId = `entity-${(n++ * 7919) % entities}`;
    const result = store.read('bench', { entityId });
    if (result.events.length !== 100)
      throw new Error(`expected 100 events, got ${result.events.length}`);
  });
  const p50: number[] = [];
  const p99: number[] = [];
  for (let run = 0; run < p.runs; run++) {
    await bench.run();
    const task = bench.tasks[0]!.result;
    if (task.state !== 'completed') throw new Error(`entity read bench ${task.state}`);
    p50.push(task.latency.p50 * 1000);
    p99.push(task.latency.p99 * 1000);
    bench.reset();
  }
  return { p50, p99 };
}

/** Kills a child that appends without pause, leaving what a crash leaves. */
async function crashWhileAppending(dir: string, runMs: number): Promise<void> {
  const child = spawn(process.execPath, [path.join(import.meta.dirname, 'append_child.js'), dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  await new Promise((resolve) => setTimeout(resolve, runMs));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
}

/** Seconds to open a store after a clean shutdown and after a crash. */
async function openTime(p: Params): Promise<Figure[]> {
  const total = p.smoke ? 100_000 : 10_000_000;
  const dir = freshDir(p, 'open');
  const store = await openStore({ dataDir: dir, fsync: 'never', logger: quiet });
  await fill(store, 'bench', total, 100_000);
  await store.close();
  const timeOpen = async (): Promise<number> => {
    const started = performance.now();
    const s = await openStore({ dataDir: dir, fsync: 'never', logger: quiet });
    const seconds = (performance.now() - started) / 1000;
    await s.close();
    return seconds;
  };
  const clean: number[] = [];
  const crashed: number[] = [];
  for (let run = 0; run < p.runs; run++) clean.push(await timeOpen());
  for (let run = 0; run < p.runs; run++) {
    await crashWhileAppending(dir, p.smoke ? 200 : 1000);
    crashed.push(await timeOpen());
  }
  fs.rmSync(dir, { recursive: true, force: true });
  const settings = { events: total, entities: 100_000, segmentBytes: 128 * 1024 * 1024 };
  return [
    figure(SUITE, `open ${total} events, clean shutdown`, 's', clean, settings),
    figure(SUITE, `open ${total}+ events, after kill -9`, 's', crashed, settings),
  ];
}

/** Many tenants appending small batches at once with fsync = always. */
async function manyTenants(p: Params): Promise<Figure[]> {
  const tenants = p.smoke ? 50 : 1000;
  const batches = p.smoke ? 5 : 20;
  const size = 10;
  const payload = payloadOf(250);
  const rates: number[] = [];
  const fsyncRates: number[] = [];
  const perRound: number[] = [];
  for (let run = 0; run < p.runs; run++) {
    const dir = freshDir(p, 'tenants');
    const store = await openStore({ dataDir: dir, fsync: 'always', logger: quiet });
    const names = Array.from({ length: tenants }, (_, t) => `tenant-${t}`);
    await Promise.all(names.map((t) => store.append(t, batchOf(1, 1, 0, payload))));
    const before = store.counters();
    const started = performance.now();
    await Promise.all(
      names.map(async (t) => {
        for (let b = 0; b < batches; b++) await store.append(t, batchOf(size, 10, b, payload));
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const after = store.counters();
    await store.close();
    rates.push((tenants * batches * size) / seconds);
    fsyncRates.push((after.fsyncs - before.fsyncs) / seconds);
    perRound.push((after.fsyncs - before.fsyncs) / Math.max(1, after.rounds - before.rounds));
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const settings = { tenants, batchesPerTenant: batches, batchEvents: size, fsync: 'always' };
  return [
    figure(SUITE, `${tenants} tenants, batches of ${size}`, 'events/s', rates, settings),
    figure(SUITE, `${tenants} tenants: fsyncs`, 'fsyncs/s', fsyncRates, settings),
    figure(SUITE, `${tenants} tenants: fsyncs per round`, 'fsyncs', perRound, settings),
  ];
}

export async function runEngineSuites(p: Params): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const suite of [
    batchAppend,
    idempotentAppend,
    manyEntities,
    concurrentDurable,
    entityRead,
    manyTenants,
    openTime,
  ]) {
    figures.push(...(await suite(p)));
  }
  return figures;
}
