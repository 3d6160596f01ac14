// What the inline checks of one single-event POST cost, in process: the credential from the
// cache, the permission bit, the tenant's state, its token bucket and rate headers, and the
// quota windows before and after the append, exactly as the request path runs them. Set beside
// the time of a whole request on the bare uWebSockets.js endpoint measured in the same run, it
// says what share of even the cheapest possible request the checks take.
import fs from 'node:fs';
import path from 'node:path';
import { openStore } from '../engine/index.js';
import { openAccounts } from '../server/auth/accounts.js';
import { createAuthenticator } from '../server/auth/authenticate.js';
import { bootstrap } from '../server/auth/bootstrap.js';
import { Permission } from '../server/auth/roles.js';
import { createTokens } from '../server/auth/tokens.js';
import { createQuotaChecks } from '../server/tenants/quotas.js';
import { openRegistry, pushRateHeaders, takeToken } from '../server/tenants/registry.js';
import type { Params } from './engine.js';
import { type Figure, figure } from './report.js';

const KEY = `ask_${'c'.repeat(43)}`;

export async function runChecksCost(p: Params, figures: Figure[]): Promise<Figure[]> {
  const dir = path.join(p.dir, 'checks');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const accounts = await openAccounts(dir);
  await bootstrap(
    accounts,
    dir,
    { ALLSOURCE_BOOTSTRAP_API_KEY: KEY, ALLSOURCE_BOOTSTRAP_ADMIN_PASSWORD: 'checks-bench-pass' },
    8,
  );
  const tokens = createTokens(Buffer.alloc(32, 7), 3600, 1000);
  const auth = createAuthenticator(accounts, tokens, 1000);
  const registry = await openRegistry(dir, 'unlimited');
  const store = await openStore({
    dataDir: path.join(dir, 'store'),
    logger: { warn() {}, info() {} },
  });
  const quotas = createQuotaChecks(registry, store);
  const entry = registry.get('default')!;
  // Limits so high that nothing is refused, but every check still runs (0 would skip them).
  entry.record.rate = { requests_per_minute: 1e12, burst_size: 1e12 };
  for (const key of Object.keys(entry.record.quotas) as (keyof typeof entry.record.quotas)[]) {
    entry.record.quotas[key] = 1e15;
  }
  const credentials = { authorization: '', apiKey: KEY };
  const request = () => {
    const caller = auth.authenticate(credentials);
    if (caller instanceof Promise) throw new Error('the key should be cached');
    if ((caller.permissions & Permission.Write) === 0) throw new Error('forbidden');
    const tenant = registry.get(caller.tenantId)!;
    if (!tenant.record.active) throw new Error('inactive');
    if (takeToken(tenant, Date.now()) > 0) throw new Error('rate limited');
    const headers: [string, string][] = [];
    pushRateHeaders(tenant, headers);
    quotas.beforeAppend(caller.tenantId, 1);
    quotas.appended(caller.tenantId, 1);
  };
  await auth.authenticate(credentials); // the first use fills the cache
  // Timed over a loop of many calls, not call by call: a timer read around each call costs
  // about as much as the checks themselves and would be counted as theirs.
  const iterations = p.smoke ? 20_000 : 500_000;
  const sample = (): number => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) request();
    return Number(process.hrtime.bigint() - started) / iterations;
  };
  sample(); // warm-up: let the JIT settle
  const ns: number[] = [];
  for (let run = 0; run < p.runs * 3; run++) ns.push(sample());
  await registry.close();
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
  const bare = figures.find((f) => f.name === 'POST /events, 1 event, 64 conns')?.baseline;
  const settings = { route: 'POST /api/v1/events', credential: 'API key (cached)' };
  return [
    figure('server', 'inline checks of one single-event POST (in process)', 'ns', ns, settings, {
      ...(bare === undefined
        ? {}
        : {
            baseline: {
              name: 'one whole request on the bare uWS endpoint',
              samples: [1e9 / bare.median],
            },
            lowerIsBetter: true,
          }),
      target: 'under 3% of a request (ratio >= 33x)',
    }),
  ];
}
