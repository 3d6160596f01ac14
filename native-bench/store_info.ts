// `make run` until the server lands: opens the store on the embedded default data directory,
// recovers it, and prints what it holds.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openStore } from '../engine/index.js';

const { values } = parseArgs({
  options: { 'data-dir': { type: 'string', default: path.resolve('data') } },
});
const dataDir = values['data-dir'];
const store = await openStore({ dataDir });
console.log(`AllSource store opened at ${store.config.dataDir} (fsync = ${store.config.fsync})`);
const tenants = store.tenantIds();
if (tenants.length === 0) console.log('no tenants yet: the store is empty');
for (const tenant of tenants) {
  const s = store.stats(tenant);
  console.log(
    `tenant ${tenant}: ${s.totalEvents} events, ${s.totalEntities} entities, ` +
      `${s.totalEventTypes} types, ${s.segments} segments, ${s.storageBytes} bytes`,
  );
}
console.log('The HTTP server is not built yet; this command shows the engine it will serve.');
await store.close();
