// Child process of the compaction crash test: opens the store and runs one compaction pass,
// killing itself with SIGKILL at the named step of the swap (or finishing, for 'none').
import { openStore } from '../../engine/index.js';

const [dir, killAt] = process.argv.slice(2) as [string, string];
const store = await openStore({
  dataDir: dir,
  segmentBytesMax: 4096,
  compactionIntervalMs: 0,
  logger: { warn: () => {}, info: () => {} },
  compactionStep: (name) => {
    if (name === killAt) process.kill(process.pid, 'SIGKILL');
  },
});
await store.compact();
await store.close();
process.stdout.write('done\n');
