// Backup and restore throughput, in MB/s of data directory, beside `tar | gzip` and
// `gzip -d | tar -x` of the same directory in the same run, each made durable the same way.
import { execFileSync, execSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type AppendEvent, createBackup, openStore, restoreBackup } from '../engine/index.js';
import type { Params } from './engine.js';
import { type Figure, figure } from './report.js';

const SUITE = 'backup';
const quiet = { warn: () => {}, info: () => {} };
const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india'];

/** Order events with varied fields, so that the data compresses like real events, not like 'xxxx'. */
function orderEvent(n: number): AppendEvent {
  const note = Array.from({ length: 6 }, (_, i) => WORDS[(n * 7 + i * 13) % WORDS.length]).join(
    ' ',
  );
  const payload = {
    order_id: `ord-${n.toString(36)}`,
    customer: `cust-${(n * 2654435761) % 100_000}`,
    amount_cents: (n * 7919) % 250_000,
    currency: n % 3 === 0 ? 'EUR' : 'USD',
    items: [{ sku: `sku-${n % 997}`, qty: 1 + (n % 5) }],
    note,
  };
  return {
    eventType: 'order.placed',
    entityId: `order-${n % 50_000}`,
    payload: Buffer.from(JSON.stringify(payload)),
  };
}

function treeBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += fs.statSync(path.join(entry.parentPath, entry.name)).size;
  }
  return total;
}

function hasTools(): boolean {
  try {
    execFileSync('tar', ['--version'], { stdio: 'ignore' });
    execFileSync('gzip', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function fillStore(dataDir: string, targetBytes: number): Promise<void> {
  const store = await openStore({ dataDir, fsync: 'never', logger: quiet });
  const tenants = ['acme', 'globex', 'initech', 'umbrella'];
  let n = 0;
  while (store.counters().bytesWritten < targetBytes) {
    await Promise.all(
      tenants.map((t) =>
        store.append(
          t,
          Array.from({ length: 1000 }, () => orderEvent(n++)),
        ),
      ),
    );
  }
  await store.close();
}

export async function runBackupSuite(p: Params): Promise<Figure[]> {
  if (!hasTools()) {
    console.log('backup suite skipped: tar and gzip are needed for the baseline');
    return [];
  }
  const root = path.join(p.dir, 'backup');
  fs.rmSync(root, { recursive: true, force: true });
  const dataDir = path.join(root, 'data');
  const targetBytes = (p.smoke ? 4 : 128) * 1024 * 1024;
  await fillStore(dataDir, targetBytes);
  const bytes = treeBytes(dataDir);
  const mb = bytes / 1e6;
  const level = 6;
  const ours: number[] = [];
  const tarGzip: number[] = [];
  const restore: number[] = [];
  const untar: number[] = [];
  const ratios: number[] = [];
  for (let run = 0; run < p.runs; run++) {
    const backupDir = path.join(root, `backups-${run}`);
    const store = await openStore({ dataDir, logger: quiet });
    let started = performance.now();
    const summary = await createBackup(store.captureForBackup([]), { backupDir, gzipLevel: level });
    ours.push(mb / ((performance.now() - started) / 1000));
    await store.close();
    ratios.push(summary.rawBytes / summary.bytes);

    const archive = path.join(root, `baseline-${run}.tar.gz`);
    started = performance.now();
    execSync(`tar -cf - -C '${dataDir}' . | gzip -${level} > '${archive}' && sync '${archive}'`);
    tarGzip.push(mb / ((performance.now() - started) / 1000));

    const target = path.join(root, `restored-${run}`);
    started = performance.now();
    await restoreBackup({ backupDir, id: summary.id, dataDir: target });
    restore.push(mb / ((performance.now() - started) / 1000));

    const out = path.join(root, `untarred-${run}`);
    fs.mkdirSync(out);
    started = performance.now();
    execSync(`gzip -dc '${archive}' | tar -xf - -C '${out}' && sync`);
    untar.push(mb / ((performance.now() - started) / 1000));
    for (const d of [backupDir, target, out, archive])
      fs.rmSync(d, { recursive: true, force: true });
  }
  fs.rmSync(root, { recursive: true, force: true });
  const settings = { dataBytes: bytes, gzipLevel: level, tenants: 4 };
  return [
    figure(SUITE, 'backup create (online capture, gzip, fsync)', 'MB/s', ours, settings, {
      baseline: { name: 'tar | gzip', samples: tarGzip },
      target: 'at least as fast as tar | gzip (ratio >= 1)',
    }),
    figure(SUITE, 'restore (verify, stage, fsync, rename)', 'MB/s', restore, settings, {
      baseline: { name: 'gzip -d | tar -x', samples: untar },
      target: 'at least as fast as gzip -d | tar -x (ratio >= 1)',
    }),
    figure(SUITE, 'backup compression ratio', 'x', ratios, settings),
  ];
}
