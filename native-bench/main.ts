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
import { machine, printTable, writeResults } from './report.js';
import { runServerSuites } from './server.js';
import { runFanout } from './ws_fanout.js';

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench-results.json' },
    chart: { type: 'string', default: 'bench-results.svg' },
    dir: { type: 'string' },
  },
});
const smoke = values.smoke;
const dir = values.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'allsource-bench-'));
const params = { smoke, runs: smoke ? 1 : 3, dir };
const started = performance.now();
console.log(`AllSource bench (${smoke ? 'smoke' : 'full'}) on ${JSON.stringify(machine())}`);
try {
  const figures = [
    ...(await runEngineSuites(params)),
    ...(await runServerSuites(params)),
    ...(await runMetricsCost(params)),
    ...(await runFanout(params)),
    ...(await runBackupSuite(params)),
    ...(await runCompactionSuite(params)),
  ];
  figures.push(...(await runChecksCost(params, figures)));
  const peers = await runPeers(params);
  if (peers.skipped !== null) console.log(`peers skipped: ${peers.skipped}`);
  else figures.push(...comparePeers(figures, peers));
  const nats = await runNats(params);
  if (nats.skipped !== null) console.log(`NATS skipped: ${nats.skipped}`);
  else figures.push(...compareNats(figures, nats));
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
