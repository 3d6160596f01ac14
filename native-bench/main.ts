// `make bench` and `make bench-smoke`: every suite, one table, one results file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runBackupSuite } from './backup.js';
import { writeChart } from './chart.js';
import { runChecksCost } from './checks_cost.js';
import { runCompactionSuite } from './compaction.js';
import { runEngineSuites } from './engine.js';
import { runMetricsCost } from './metrics_cost.js';
import { runNats } from './nats.js';
import { compareNats, comparePeers } from './peer_figures.js';
import { runPeers } from './peers.js';
import { type Figure, machine, printTable, writeResults } from './report.js';
import { runServerSuites } from './server.js';
import { runFanout } from './ws_fanout.js';

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench-results.json' },
    chart: { type: 'string', default: 'bench-results.svg' },
    dir: { type: 'string' },
    // A comma-separated subset of: engine, server, metrics, fanout, backup, compaction, checks,
    // peers, nats. The table then holds only those suites' figures (for working on one).
    only: { type: 'string' },
  },
});
const only = values.only === undefined ? null : new Set(values.only.split(','));
const want = (suite: string): boolean => only === null || only.has(suite);
const none = async (): Promise<Figure[]> => [];
const smoke = values.smoke;
const dir = values.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'allsource-bench-'));
const params = { smoke, runs: smoke ? 1 : 3, dir };
const started = performance.now();
console.log(`AllSource bench (${smoke ? 'smoke' : 'full'}) on ${JSON.stringify(machine())}`);
try {
  const figures = [
    ...(await (want('engine') ? runEngineSuites : none)(params)),
    ...(await (want('server') ? runServerSuites : none)(params)),
    ...(await (want('metrics') ? runMetricsCost : none)(params)),
    ...(await (want('fanout') ? runFanout : none)(params)),
    ...(await (want('backup') ? runBackupSuite : none)(params)),
    ...(await (want('compaction') ? runCompactionSuite : none)(params)),
  ];
  if (want('checks')) figures.push(...(await runChecksCost(params, figures)));
  if (want('peers')) {
    const peers = await runPeers(params);
    if (peers.skipped !== null) console.log(`peers skipped: ${peers.skipped}`);
    else figures.push(...comparePeers(figures, peers));
  }
  if (want('nats')) {
    const nats = await runNats(params);
    if (nats.skipped !== null) console.log(`NATS skipped: ${nats.skipped}`);
    else figures.push(...compareNats(figures, nats));
  }
  printTable(figures);
  writeResults(values.out, smoke ? 'smoke' : 'full', figures);
  writeChart(
    values.chart,
    figures,
    `AllSource make bench${smoke ? ' (smoke)' : ''}, ${new Date().toISOString().slice(0, 10)}`,
  );
  console.log(`wrote ${values.out} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
} finally {
  if (values.dir === undefined) fs.rmSync(dir, { recursive: true, force: true });
}
