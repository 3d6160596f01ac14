// The writer the crash test kills: appends batches with fsync = always from several concurrent
// writers and reports each acknowledgement on stdout the moment it arrives.
import fs from 'node:fs';
import { openStore } from '../../engine/index.js';

const [dir, firstBatch] = [process.argv[2]!, Number(process.argv[3])];
const store = await openStore({
  dataDir: dir,
  fsync: 'always',
  segmentBytesMax: 16 * 1024,
  logger: { warn: () => {}, info: () => {} },
});
let next = firstBatch;
fs.writeSync(1, 'ready\n');

export function batchSize(batch: number): number {
  return 1 + (batch % 7);
}

async function writer(): Promise<void> {
  for (;;) {
    const batch = next++;
    const events = Array.from({ length: batchSize(batch) }, (_, i) => ({
      id: `b${batch}-${i}`,
      eventType: 'crash.test',
      entityId: `e${batch % 13}`,
      payload: Buffer.from(JSON.stringify({ batch, i, pad: 'p'.repeat(batch % 50) })),
    }));
    await store.append('default', events);
    // A synchronous write: the line is out before this writer appends again.
    fs.writeSync(1, `ack ${batch}\n`);
  }
}

await Promise.all(Array.from({ length: 8 }, writer));
