// Query responses under concurrency: bodies built in reused memory (small ones) or streamed
// (large ones) must each reach their own client whole, and runs must answer like segments.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminHeaders, post, type ServerProcess, startServerProcess } from '../helpers/server.js';
import { tmpDir } from '../helpers/tmp.js';

const SIZES: Record<string, number> = { small: 20, mid: 120, big: 300 };

describe('query responses', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess(tmpDir());
    const pad = 'p'.repeat(200);
    for (const [entity, count] of Object.entries(SIZES)) {
      for (let done = 0; done < count; done += 100) {
        const events = Array.from({ length: Math.min(100, count - done) }, (_, i) => ({
          event_type: 'thing.done',
          entity_id: entity,
          payload: { entity, n: done + i, pad },
        }));
        const r = await post(`${server.url}/api/v1/events/batch`, { events });
        assert.equal(r.status, 200);
      }
    }
  });
  after(() => server.stop());

  it('sends every concurrent client its own whole body, small, streamed or from a run', async () => {
    const entities = Object.keys(SIZES);
    const requests = Array.from({ length: 90 }, async (_, k) => {
      const entity = entities[k % entities.length]!;
      const order = k % 2 === 0 ? 'asc' : 'desc';
      const res = await fetch(
        `${server.url}/api/v1/events/query?entity_id=${entity}&order=${order}`,
        { headers: adminHeaders },
      );
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.equal(Number(res.headers.get('content-length')), Buffer.byteLength(text));
      const body = JSON.parse(text) as { events: { entity_id: string; payload: { n: number } }[] };
      const ns = body.events.map((e) => e.payload.n);
      const want = Array.from({ length: SIZES[entity]! }, (_, i) => i);
      assert.deepEqual(ns, order === 'asc' ? want : want.reverse(), `${entity} ${order}`);
      assert.ok(body.events.every((e) => e.entity_id === entity));
      return Buffer.byteLength(text);
    });
    const sizes = await Promise.all(requests);
    assert.ok(Math.max(...sizes) > 64 * 1024, 'some bodies were large enough to stream');
    // Repeated whole-history reads were served from runs, and /metrics says so.
    const metrics = await (await fetch(`${server.url}/metrics`, { headers: adminHeaders })).text();
    const runReads = /^allsource_entity_run_reads_total (\d+)$/m.exec(metrics);
    assert.ok(runReads !== null && Number(runReads[1]) > 0, 'entity run reads are counted');
  });
});
