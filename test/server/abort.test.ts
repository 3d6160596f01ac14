// Clients that go away mid-request leave nothing half-written and do not hurt the server.
import assert from 'node:assert/strict';
import net from 'node:net';
import { it } from 'node:test';
import { get, post, startServerProcess, TEST_KEY } from '../helpers/server.js';
import { tmpDir } from '../helpers/tmp.js';

function sendPartial(port: number, body: string, sendBytes: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(
        `POST /api/v1/events/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-API-Key: ${TEST_KEY}\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, sendBytes)}`,
      );
      setTimeout(() => {
        socket.destroy();
        resolve();
      }, 50);
    });
    socket.on('error', () => resolve());
  });
}

it('writes nothing for requests whose client left mid-body, and keeps serving', async (t) => {
  const server = await startServerProcess(tmpDir());
  t.after(() => server.stop());
  const events = Array.from({ length: 50 }, (_, i) => ({
    event_type: 'half.sent',
    entity_id: 'gone',
    payload: { i },
  }));
  const body = JSON.stringify({ events });
  for (const cut of [10, body.length / 2, body.length - 1])
    await sendPartial(server.port, body, Math.floor(cut));
  const ok = await post(`${server.url}/api/v1/events`, {
    event_type: 'whole.sent',
    entity_id: 'here',
    payload: {},
  });
  assert.equal(ok.status, 200);
  const gone = await get(`${server.url}/api/v1/events/query?entity_id=gone`);
  assert.equal(gone.body.count, 0);
  assert.equal((await get(`${server.url}/health`)).status, 200);
});
