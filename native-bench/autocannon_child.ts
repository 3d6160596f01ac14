// autocannon, run as its own process by loadgen.ts; prints one JSON result line.
import autocannon from 'autocannon';
import type { Load } from './loadgen.js';

const load = JSON.parse(process.argv[2]!) as Load;
const result = await autocannon({
  url: load.url,
  method: load.method,
  connections: load.connections,
  duration: load.durationSec,
  ...(load.body === undefined
    ? {}
    : { body: load.body, headers: { 'content-type': 'application/json' } }),
});
process.stdout.write(
  JSON.stringify({
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
  }),
);
