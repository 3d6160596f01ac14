// A process that appends batches without pause until it is killed: the open-after-crash bench.
import { openStore } from '../engine/index.js';
import { payloadOf } from './engine.js';

const dir = process.argv[2]!;
const store = await openStore({ dataDir: dir, fsync: 'never', logger: { warn() {}, info() {} } });
const payload = payloadOf(250);
const batch = Array.from({ length: 1000 }, (_, i) => ({
  eventType: 'bench.event',
  entityId: `entity-${i}`,
  payload,
}));
process.stdout.write('ready\n');
for (;;) await store.append('bench', batch);
