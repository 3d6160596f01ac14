// What /metrics costs on the hot path: one request observation (a counter per route and status,
// a duration histogram per route) through prom-client with cached children, beside the floor
// of the same bookkeeping done with bare Map lookups and integer increments.
import { Bench } from 'tinybench';
import { createMetrics } from '../server/metrics.js';
import type { Params } from './engine.js';
import { type Figure, figure } from './report.js';

const ROUTES = ['/api/v1/events', '/api/v1/events/batch', '/api/v1/events/query'];

export async function runMetricsCost(p: Params): Promise<Figure[]> {
  const metrics = createMetrics();
  const floor = new Map<string, Map<number, number>>();
  let n = 0;
  let sink = 0;
  const bench = new Bench({ time: p.smoke ? 100 : 2000, warmupTime: p.smoke ? 20 : 300 });
  bench.add('prom-client', () => {
    metrics.request(ROUTES[n++ % 3]!, 200, 0.0013);
  });
  bench.add('floor', () => {
    const route = ROUTES[n++ % 3]!;
    let byStatus = floor.get(route);
    if (byStatus === undefined) {
      byStatus = new Map();
      floor.set(route, byStatus);
    }
    byStatus.set(200, (byStatus.get(200) ?? 0) + 1);
    sink += 0.0013;
  });
  const ours: number[] = [];
  const bare: number[] = [];
  for (let run = 0; run < p.runs; run++) {
    await bench.run();
    const [a, b] = bench.tasks.map((t) => t.result);
    if (a?.state !== 'completed' || b?.state !== 'completed')
      throw new Error('metrics bench failed');
    ours.push(a.latency.mean * 1e6);
    bare.push(b.latency.mean * 1e6);
    bench.reset();
  }
  if (sink < 0) console.log(sink);
  return [
    figure(
      'server',
      'metrics: one request observation (prom-client)',
      'ns',
      ours,
      { routes: 3 },
      {
        baseline: { name: 'bare map + counters', samples: bare },
        lowerIsBetter: true,
        target: 'a small fraction of a request (tens of us)',
      },
    ),
  ];
}
