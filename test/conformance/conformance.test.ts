// The store suite against a fresh store, a reopened one and one recovered from a torn tail.
import fs from 'node:fs';
import path from 'node:path';
import { openStore, type Store } from '../../engine/index.js';
import { tinyOptions as tinyStore } from '../helpers/store.js';
import { tmpDir } from '../helpers/tmp.js';
import { type LifeFactory, storeSuite } from './store_suite.js';

storeSuite('fresh', async (t) => {
  const store = await openStore(tinyStore(tmpDir()));
  t.after(() => store.close());
  return { store, settle: async () => store };
});

/** A store that is closed, handed to `between` (which may damage it), and opened again. */
async function reopenedLife(t: Parameters<LifeFactory>[0], between: (dir: string) => void) {
  const dir = tmpDir();
  const store = await openStore(tinyStore(dir));
  let current: Store = store;
  t.after(() => current.close());
  return {
    store,
    settle: async () => {
      await store.close();
      between(dir);
      current = await openStore(tinyStore(dir));
      return current;
    },
  };
}

storeSuite('reopened', (t) => reopenedLife(t, () => {}));

/** Appends half a record to each tenant's active segment: what a crash mid-write leaves. */
function tearTails(dataDir: string): void {
  const tenants = path.join(dataDir, 'tenants');
  for (const tenant of fs.readdirSync(tenants)) {
    const dir = path.join(tenants, tenant, 'events');
    const logs = fs
      .readdirSync(dir)
      .filter((n) => n.endsWith('.log'))
      .sort();
    const last = path.join(dir, logs[logs.length - 1]!);
    const torn = Buffer.alloc(30, 0xab);
    torn.writeUInt32LE(200, 8);
    torn[12] = 1;
    fs.appendFileSync(last, torn);
  }
}

storeSuite('recovered from a torn tail', (t) => reopenedLife(t, tearTails));
