// The server suites: our HTTP figures beside a bare uWebSockets.js endpoint measured with the
// same load generator in the same run.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Params } from './engine.js';
import { payloadOf } from './engine.js';
import { ensureWrk, type Load, type LoadResult, loadGenerator } from './loadgen.js';
import { BENCH_HEADERS, type Child, startChild } from './processes.js';
import { type Figure, figure } from './report.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const serverMain = path.join(here, '..', 'server', 'cli', 'main.js');
const SUITE = 'server';
export const DURABLE_BARE = 'bare uWS endpoint, durable (write + fdatasync per group)';

function eventBody(entity: string): string {
  const payload = payloadOf(250).toString();
  return `{"event_type":"bench.event","entity_id":"${entity}","payload":${payload}}`;
}

async function ours(p: Params, name: string, env: Record<string, string> = {}): Promise<Child> {
  const dir = path.join(p.dir, name);
  fs.rmSync(dir, { recursive: true, force: true });
  const child = await startChild(
    serverMain,
    ['serve', '--port', '0', '--data-dir', dir],
    /127\.0\.0\.1:(\d+)/,
    { ALLSOURCE_STORAGE_FSYNC: 'always', ...env },
  );
  // The default tenant's standard preset allows 1M events a day, 100K queries an hour and
  // 200K requests of burst, which a fast run passes in seconds. Lift them so that the run
  // measures the work, not refusals: the checks still run on every request, none refuses.
  const r = await fetch(`http://127.0.0.1:${child.port}/api/v1/tenants/default/quotas`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...BENCH_HEADERS },
    body: JSON.stringify({
      max_events_per_day: 0,
      max_queries_per_hour: 0,
      rate: { requests_per_minute: 1e9, burst_size: 1e9 },
    }),
  });
  if (r.status !== 200) {
    await child.stop();
    throw new Error(`could not lift the bench tenant's limits: ${r.status} ${await r.text()}`);
  }
  return child;
}

async function measure(
  p: Params,
  child: () => Promise<Child>,
  load: (port: number) => Load,
  prepare?: (port: number) => Promise<void>,
): Promise<LoadResult[]> {
  const gen = loadGenerator();
  const results: LoadResult[] = [];
  for (let run = 0; run < p.runs; run++) {
    const c = await child();
    try {
      await prepare?.(c.port);
      results.push(await gen.run(load(c.port)));
    } finally {
      await c.stop();
    }
  }
  return results;
}

/**
 * Two configurations measured in alternation, so that a drift of the machine during the run
 * (the disk's fsync time moves by tens of percent here) falls on both alike, in the order
 * A B, B A, A B, B A, ...: whichever goes first in a pair runs right after the other's data
 * was written and deleted, so a fixed order would favour the second every time. An odd run
 * count is rounded up to keep the orders balanced.
 */
async function measurePair(
  p: Params,
  a: () => Promise<Child>,
  b: () => Promise<Child>,
  load: (port: number) => Load,
  prepare?: (port: number) => Promise<void>,
): Promise<[LoadResult[], LoadResult[]]> {
  const gen = loadGenerator();
  const results: [LoadResult[], LoadResult[]] = [[], []];
  const runs = p.runs > 1 ? p.runs + (p.runs % 2) : p.runs;
  for (let run = 0; run < runs; run++) {
    const order: [number, () => Promise<Child>][] =
      run % 2 === 0
        ? [
            [0, a],
            [1, b],
          ]
        : [
            [1, b],
            [0, a],
          ];
    for (const [i, child] of order) {
      const c = await child();
      try {
        await prepare?.(c.port);
        results[i]!.push(await gen.run(load(c.port)));
      } finally {
        await c.stop();
      }
    }
  }
  return results;
}

export async function runServerSuites(p: Params): Promise<Figure[]> {
  if (!p.smoke) ensureWrk();
  const gen = loadGenerator();
  const seconds = p.smoke ? 1 : 5;
  const connections = 64;
  const single = (port: number): Load => ({
    url: `http://127.0.0.1:${port}/api/v1/events`,
    method: 'POST',
    body: eventBody('entity-1'),
    headers: BENCH_HEADERS,
    connections,
    durationSec: seconds,
  });
  const bare = (args: string[] = []) =>
    startChild(path.join(here, 'bare_uws.js'), args, /port (\d+)/);
  const settings = {
    loadGenerator: gen.name,
    connections,
    seconds,
    payloadBytes: 250,
    fsync: 'always',
  };

  const bareSingle = await measure(p, () => bare(), single);
  // The same bare endpoint answering only once each body is written and fdatasync has returned,
  // with group commit: the most any durable server reaches here over HTTP.
  const bareDurableChild = () => bare(['--durable', path.join(p.dir, 'bare-durable.bin')]);
  const bareDurable = await measure(p, bareDurableChild, single);
  const unchecked = { ALLSOURCE_AUTH_ENABLED: '0', ALLSOURCE_RATE_LIMIT_ENABLED: '0' };
  const [oursSingle, oursSingleUnchecked] = await measurePair(
    p,
    () => ours(p, 'single'),
    () => ours(p, 'single-unchecked', unchecked),
    single,
  );
  const batchLoad = (port: number): Load => ({
    url: `http://127.0.0.1:${port}/api/v1/events/batch`,
    method: 'POST',
    body: `{"events":[${Array.from({ length: 100 }, (_, i) => eventBody(`entity-${i}`)).join(',')}]}`,
    headers: BENCH_HEADERS,
    connections: 16,
    durationSec: seconds,
  });
  const [oursBatch, oursBatchUnchecked] = await measurePair(
    p,
    () => ours(p, 'batch'),
    () => ours(p, 'batch-unchecked', unchecked),
    batchLoad,
  );
  const bareDurableBatch = await measure(p, bareDurableChild, batchLoad);
  const queryLoad = (port: number): Load => ({
    url: `http://127.0.0.1:${port}/api/v1/events/query?entity_id=entity-7`,
    method: 'GET',
    headers: BENCH_HEADERS,
    connections,
    durationSec: seconds,
  });
  const fillEntity = async (port: number): Promise<void> => {
    const events = Array.from({ length: 100 }, () => eventBody('entity-7')).join(',');
    for (let i = 0; i < 20; i++) {
      const others = Array.from({ length: 100 }, (_, k) => eventBody(`other-${k}`)).join(',');
      await fetch(`http://127.0.0.1:${port}/api/v1/events/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...BENCH_HEADERS },
        body: `{"events":[${others}]}`,
      });
    }
    const r = await fetch(`http://127.0.0.1:${port}/api/v1/events/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...BENCH_HEADERS },
      body: `{"events":[${events}]}`,
    });
    if (r.status !== 200) throw new Error(`fill failed: ${r.status}`);
  };
  // The ceiling for the query: a bare endpoint answering our response's very bytes (46 KB),
  // taken from a server filled the same way. Filling the bare one only gets small answers.
  const bodyFile = path.join(p.dir, 'query-response.json');
  const sample = await ours(p, 'query');
  try {
    await fillEntity(sample.port);
    const r = await fetch(queryLoad(sample.port).url, { headers: BENCH_HEADERS });
    if (r.status !== 200) throw new Error(`query failed: ${r.status}`);
    fs.writeFileSync(bodyFile, Buffer.from(await r.arrayBuffer()));
  } finally {
    await sample.stop();
  }
  const [oursQuery, bareQuery] = await measurePair(
    p,
    () => ours(p, 'query'),
    () => bare([bodyFile]),
    queryLoad,
    fillEntity,
  );

  for (const r of [
    ...oursSingle,
    ...oursSingleUnchecked,
    ...oursBatch,
    ...oursBatchUnchecked,
    ...oursQuery,
  ]) {
    if (r.non2xx > 0) throw new Error(`the server answered ${r.non2xx} requests with errors`);
  }
  const rps = (rs: LoadResult[]) => rs.map((r) => r.requestsPerSecond);
  return [
    figure(SUITE, 'POST /events, 1 event, 64 conns', 'req/s', rps(oursSingle), settings, {
      baseline: { name: 'bare uWS endpoint', samples: rps(bareSingle) },
      target: '>= 75% of bare',
    }),
    figure(SUITE, DURABLE_BARE, 'req/s', rps(bareDurable), settings, {
      baseline: { name: 'bare uWS endpoint', samples: rps(bareSingle) },
      target: 'context: the same endpoint waiting for the disk, the durable ceiling',
    }),
    figure(SUITE, 'POST /events vs the bare durable endpoint', 'req/s', rps(oursSingle), settings, {
      baseline: { name: DURABLE_BARE, samples: rps(bareDurable) },
    }),
    figure(
      SUITE,
      'POST /events p50',
      'ms',
      oursSingle.map((r) => r.p50Ms),
      settings,
    ),
    figure(
      SUITE,
      'POST /events p99',
      'ms',
      oursSingle.map((r) => r.p99Ms),
      settings,
    ),
    figure(
      SUITE,
      'POST /events/batch, 100 events, 16 conns',
      'events/s',
      rps(oursBatch).map((x) => x * 100),
      settings,
      {
        baseline: {
          name: 'bare durable endpoint, same bodies',
          samples: rps(bareDurableBatch).map((x) => x * 100),
        },
        target: '>= 469,000/s',
      },
    ),
    figure(
      SUITE,
      'POST /events: auth, quota and rate checks on',
      'req/s',
      rps(oursSingle),
      settings,
      {
        baseline: { name: 'the same with checks off', samples: rps(oursSingleUnchecked) },
        target: 'checks cost < 3% (ratio >= 0.97)',
      },
    ),
    figure(
      SUITE,
      'POST /events/batch: checks on',
      'events/s',
      rps(oursBatch).map((x) => x * 100),
      settings,
      {
        baseline: {
          name: 'the same with checks off',
          samples: rps(oursBatchUnchecked).map((x) => x * 100),
        },
        target: 'checks cost < 3% (ratio >= 0.97)',
      },
    ),
    figure(SUITE, 'GET query, 1 entity x 100 events', 'req/s', rps(oursQuery), settings, {
      baseline: { name: 'bare uWS answering the same bytes', samples: rps(bareQuery) },
    }),
    figure(
      SUITE,
      'GET query p99',
      'ms',
      oursQuery.map((r) => r.p99Ms),
      settings,
    ),
  ];
}
