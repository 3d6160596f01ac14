// A soak: a real server under a steady mixed load (single events with client ids and their
// retries, batches, entity queries, a live WebSocket subscriber, compaction passes) for
// ALLSOURCE_SOAK_SECONDS (15 in `make test`, 300 in `make soak`). Every request must succeed,
// every retry must get its original answer, the subscriber must see every event once and in
// order, the server's resident memory must level off, and after a restart every acknowledged
// event must be there, intact.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import WebSocket from 'ws';
import {
  adminHeaders,
  get,
  post,
  type ServerProcess,
  startServerProcess,
  TEST_KEY,
} from '../helpers/server.js';
import { tmpDir } from '../helpers/tmp.js';

const SECONDS = Number(process.env.ALLSOURCE_SOAK_SECONDS ?? 15);
const WORKERS = 6;
const ENTITIES = 200;

interface Acked {
  id: string;
  position: number;
  entity: string;
  n: number;
}

/** Resident memory of a process in bytes, or null where /proc is not there. */
function rssOf(pid: number): number | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m === null ? null : Number(m[1]) * 1024;
  } catch {
    return null;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** A subscriber from position 0 that checks each event arrives once, in order. */
function subscribe(
  url: string,
): Promise<{ ws: WebSocket; last: () => number; problems: string[] }> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/api/v1/events/stream?token=${TEST_KEY}`);
  let last = 0;
  const problems: string[] = [];
  return new Promise((resolve, reject) => {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type?: string; position: number };
      // Caught up with a log that is still empty: the load may start.
      if (frame.type === 'caught_up') resolve({ ws, last: () => last, problems });
      if (frame.type !== undefined) return;
      if (frame.position !== last + 1) problems.push(`position ${frame.position} after ${last}`);
      last = frame.position;
    });
    ws.once('open', () => ws.send(JSON.stringify({ from_position: 0 })));
    ws.once('error', reject);
  });
}

async function load(url: string, until: number, acked: Acked[], counts: { events: number }) {
  let serial = 0;
  const worker = async (w: number): Promise<void> => {
    while (Date.now() < until) {
      const step = serial++;
      const entity = `soak-${(step * 7 + w) % ENTITIES}`;
      if (step % 3 === 0) {
        const events = Array.from({ length: 50 }, (_, k) => ({
          event_type: 'soak.batch',
          entity_id: entity,
          payload: { step, k, pad: 'x'.repeat(120) },
        }));
        const r = await post(`${url}/api/v1/events/batch`, { events });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        counts.events += 50;
      } else if (step % 3 === 1) {
        const id = `soak-${w}-${step}`;
        const event = { event_type: 'soak.single', entity_id: entity, id, payload: { n: step } };
        const r = await post(`${url}/api/v1/events`, event);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        acked.push({ id, position: r.body.position as number, entity, n: step });
        counts.events += 1;
        // Now and then a retry of an earlier id: the original answer, nothing written.
        if (acked.length > 10 && step % 5 === 1) {
          const old = acked[acked.length - 10]!;
          const retry = await post(`${url}/api/v1/events`, {
            event_type: 'soak.single',
            entity_id: old.entity,
            id: old.id,
            payload: { n: old.n },
          });
          assert.equal(retry.status, 200, JSON.stringify(retry.body));
          assert.equal(retry.body.position, old.position, 'a retry gets its original position');
        }
      } else {
        const r = await get(`${url}/api/v1/events/query?entity_id=${entity}&order=desc&limit=20`);
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
}

describe('soak', () => {
  it(`serves a mixed load for ${SECONDS} s with memory levelling off and nothing lost`, async (t) => {
    const dataDir = tmpDir();
    const env = {
      ALLSOURCE_STORAGE_SEGMENT_BYTES_MAX: String(1024 * 1024),
      ALLSOURCE_STORAGE_CACHE_BYTES: String(8 * 1024 * 1024),
      ALLSOURCE_STORAGE_COMPACTION_INTERVAL_SEC: '0',
      ALLSOURCE_LOGGING_LEVEL: 'warn',
    };
    let server: ServerProcess = await startServerProcess(dataDir, env);
    t.after(() => server.kill());
    const url = server.url;
    // The default tenant's daily event and hourly query quotas and its rate would refuse a
    // long run; every check still runs.
    const quotas = await fetch(`${url}/api/v1/tenants/default/quotas`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...adminHeaders },
      body: JSON.stringify({
        max_events_per_day: 0,
        max_queries_per_hour: 0,
        rate: { requests_per_minute: 1e9, burst_size: 1e9 },
      }),
    });
    assert.equal(quotas.status, 200);

    const sub = await subscribe(url);
    const pid = server.proc.pid!;
    const rss: { at: number; bytes: number }[] = [];
    const started = Date.now();
    const sampler = setInterval(() => {
      const bytes = rssOf(pid);
      if (bytes !== null) rss.push({ at: Date.now() - started, bytes });
    }, 250);
    const compactor = setInterval(() => {
      void post(`${url}/api/v1/compaction/trigger`, {}).catch(() => {});
    }, 5_000);
    const acked: Acked[] = [];
    const counts = { events: 0 };
    try {
      await load(url, started + SECONDS * 1000, acked, counts);
    } finally {
      clearInterval(sampler);
      clearInterval(compactor);
    }

    const stats = await get(`${url}/api/v1/stats`);
    const total = stats.body.total_events as number;
    assert.equal(
      total,
      counts.events,
      'every acknowledged event is stored, and retries added none',
    );
    // The subscriber catches up with everything appended.
    const deadline = Date.now() + 30_000;
    while (sub.last() < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(sub.problems, [], 'the subscriber saw every event once, in order');
    assert.equal(sub.last(), total);
    sub.ws.close();

    t.diagnostic(
      `${counts.events} events (${acked.length} with client ids) in ${SECONDS} s; resident memory ${rss
        .filter((_, i) => i % Math.max(1, Math.floor(rss.length / 8)) === 0)
        .map((r) => `${Math.round(r.bytes / 1048576)} MiB at ${Math.round(r.at / 1000)} s`)
        .join(', ')}`,
    );
    if (rss.length >= 8) {
      // The first quarter warms up (caches fill, the heap finds its size); after it, resident
      // memory may wobble with collections but must not climb with the events.
      const quarter = Math.floor(rss.length / 4);
      const settled = median(rss.slice(quarter, 2 * quarter).map((s) => s.bytes));
      const end = median(rss.slice(-quarter).map((s) => s.bytes));
      assert.ok(
        end < settled * 1.25 + 32 * 1024 * 1024,
        `resident memory went from ${settled} to ${end} bytes over ${counts.events} events`,
      );
    }

    assert.equal(await server.stop(), 0);
    server = await startServerProcess(dataDir, env);
    const after = await get(`${server.url}/api/v1/stats`);
    assert.equal(after.body.total_events, total);
    const step = Math.max(1, Math.floor(acked.length / 200));
    for (let i = 0; i < acked.length; i += step) {
      const a = acked[i]!;
      const r = await get(`${server.url}/api/v1/events/${a.id}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.position, a.position);
      assert.deepEqual(r.body.payload, { n: a.n });
    }
  });
});
