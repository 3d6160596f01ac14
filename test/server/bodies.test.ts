// Request bodies under concurrency: bodies of a few KiB and more are copied into reused slabs
// (server/http/body.ts), given back when their handler settles. Every stored event must hold
// exactly the payload its own request sent, whatever the bodies around it did.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminHeaders, type ServerProcess, startServerProcess } from '../helpers/server.js';
import { tmpDir } from '../helpers/tmp.js';

describe('request bodies', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess(tmpDir());
  });
  after(() => server.stop());

  it('keeps every request its own bytes: concurrent batches, failures and retries among them', async () => {
    const send = (body: string) =>
      fetch(`${server.url}/api/v1/events/batch`, {
        method: 'POST',
        headers: { ...adminHeaders, 'content-type': 'application/json' },
        body,
      });
    const requests = Array.from({ length: 60 }, async (_, k) => {
      // Sizes from about 1 KB to about 300 KB: small, slab-sized, and over one chunk.
      const count = 1 + ((k * 37) % 120);
      const pad = String.fromCharCode(97 + (k % 26)).repeat(50 + ((k * 131) % 2000));
      const events = Array.from({ length: count }, (_, i) => ({
        event_type: 'body.sent',
        entity_id: `req-${k}`,
        payload: { k, i, pad },
      }));
      if (k % 10 === 3) {
        // A batch that fails after its body was read: its slab goes back, unused.
        events.push({ event_type: 'Bad.Type', entity_id: `req-${k}`, payload: { k, i: -1, pad } });
        const r = await send(JSON.stringify({ events }));
        assert.equal(r.status, 400);
        return 0;
      }
      const r = await send(JSON.stringify({ events }));
      assert.equal(r.status, 200, await r.text());
      return count;
    });
    const counts = await Promise.all(requests);
    for (let k = 0; k < counts.length; k++) {
      const res = await fetch(`${server.url}/api/v1/events/query?entity_id=req-${k}&limit=1000`, {
        headers: adminHeaders,
      });
      const body = (await res.json()) as {
        events: { payload: { k: number; i: number; pad: string } }[];
      };
      assert.equal(body.events.length, counts[k], `request ${k}`);
      const letter = String.fromCharCode(97 + (k % 26));
      body.events.forEach((e, i) => {
        assert.deepEqual([e.payload.k, e.payload.i], [k, i]);
        assert.equal(e.payload.pad, letter.repeat(50 + ((k * 131) % 2000)));
      });
    }
  });
});
