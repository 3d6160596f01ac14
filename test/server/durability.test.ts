// Events survive a restart, and every acknowledged event survives a kill -9 under load.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { get, post, startServerProcess } from '../helpers/server.js';
import { tmpDir } from '../helpers/tmp.js';

it('keeps events across a graceful restart', async (t) => {
  const dir = tmpDir();
  const first = await startServerProcess(dir);
  const written = await post(`${first.url}/api/v1/events`, {
    event_type: 'a.b',
    entity_id: 'keep',
    payload: { v: 1 },
  });
  assert.equal(await first.stop(), 0, 'SIGTERM shuts down cleanly');
  const second = await startServerProcess(dir);
  t.after(() => second.stop());
  const read = await get(`${second.url}/api/v1/events/${written.body.event_id}`);
  assert.equal(read.status, 200);
  assert.deepEqual(read.body.payload, { v: 1 });
});

it('keeps every acknowledged event across a kill -9 under load', async (t) => {
  const dir = tmpDir();
  const server = await startServerProcess(dir);
  const acked = new Set<string>();
  let stop = false;
  const writers = Array.from({ length: 16 }, async (_, w) => {
    for (let i = 0; !stop; i++) {
      try {
        const r = await post(`${server.url}/api/v1/events`, {
          event_type: 'load.test',
          entity_id: `w${w}`,
          payload: { w, i },
          id: `w${w}-${i}`,
        });
        if (r.status === 200) acked.add(`w${w}-${i}`);
      } catch {
        return; // the server is gone
      }
    }
  });
  await new Promise((r) => setTimeout(r, 600));
  await server.kill();
  stop = true;
  await Promise.all(writers);
  assert.ok(acked.size > 50, `only ${acked.size} acknowledged`);
  const again = await startServerProcess(dir);
  t.after(() => again.stop());
  const found = new Set<string>();
  let after = 0;
  for (;;) {
    const page = await get(
      `${again.url}/api/v1/events/query?event_type=load.test&limit=10000&after_position=${after}`,
    );
    for (const e of page.body.events as { id: string }[]) found.add(e.id);
    if (!page.body.has_more) break;
    after = page.body.next_position as number;
  }
  for (const id of acked) assert.ok(found.has(id), `acknowledged event ${id} is missing`);
});
