// Kill -9 at random moments while appending with fsync = always, then check that every
// acknowledged batch is there and intact, and that no batch is there in part.
// `make crash` runs many rounds; `make test` a few.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../engine/index.js';
import { createPrng, seedFromEnv } from '../helpers/prng.js';
import { tmpDir } from '../helpers/tmp.js';

const rounds = Number(process.env.ALLSOURCE_CRASH_ROUNDS ?? 6);
const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crash_child.js');
const sizeOf = (batch: number) => 1 + (batch % 7);

async function runAndKill(
  dir: string,
  firstBatch: number,
  killAfterMs: number,
): Promise<Set<number>> {
  const proc = spawn(process.execPath, [child, dir, String(firstBatch)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acked = new Set<number>();
  let buffered = '';
  let stderr = '';
  proc.stderr.on('data', (d) => {
    stderr += d;
  });
  const ready = new Promise<void>((resolve, reject) => {
    proc.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line === 'ready') resolve();
        else if (line.startsWith('ack ')) acked.add(Number(line.slice(4)));
      }
    });
    proc.once('exit', (code) => reject(new Error(`writer exited early (${code}): ${stderr}`)));
  });
  await ready;
  await new Promise((resolve) => setTimeout(resolve, killAfterMs));
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGKILL');
  await exited;
  return acked;
}

it(`keeps every acknowledged batch whole across ${rounds} kill -9s`, {
  timeout: 30_000 + rounds * 3_000,
}, async (t) => {
  const prng = createPrng(seedFromEnv());
  t.diagnostic(`seed ${prng.seed} (replay with ALLSOURCE_SEED=${prng.seed})`);
  const dir = tmpDir();
  const everAcked = new Set<number>();
  let firstBatch = 0;
  let totalEvents = 0;
  for (let round = 0; round < rounds; round++) {
    const acked = await runAndKill(dir, firstBatch, 20 + prng.int(250));
    for (const b of acked) everAcked.add(b);
    const store = await openStore({ dataDir: dir, logger: { warn: () => {}, info: () => {} } });
    try {
      const present = new Map<number, number[]>();
      let after = 0;
      for (;;) {
        const page = store.read('default', { afterPosition: after, limit: 10_000 });
        for (const view of page.events) {
          const { batch, i } = JSON.parse(view.payload.toString()) as { batch: number; i: number };
          assert.equal(view.id, `b${batch}-${i}`, 'payload and id belong together');
          const seen = present.get(batch) ?? [];
          seen.push(i);
          present.set(batch, seen);
        }
        if (!page.hasMore) break;
        after = page.nextPosition!;
      }
      for (const batch of everAcked) {
        assert.ok(present.has(batch), `acknowledged batch ${batch} is missing (round ${round})`);
      }
      for (const [batch, items] of present) {
        assert.deepEqual(
          items,
          Array.from({ length: sizeOf(batch) }, (_, i) => i),
          `batch ${batch} is partial`,
        );
      }
      totalEvents = store.stats('default').totalEvents;
      firstBatch = Math.max(firstBatch, ...present.keys()) + 1000;
    } finally {
      await store.close();
    }
  }
  t.diagnostic(
    `${everAcked.size} acknowledged batches, ${totalEvents} events survived ${rounds} kills`,
  );
  assert.ok(everAcked.size > rounds, 'the writer got some batches acknowledged');
});
