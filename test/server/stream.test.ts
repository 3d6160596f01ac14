// WebSocket /api/v1/events/stream: catch-up then live with no gap and no duplicate, filters,
// and a slow reader that loses nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { post, type ServerProcess, startServerProcess, TEST_KEY } from '../helpers/server.js';
import { tmpDir } from '../helpers/tmp.js';

interface Frame {
  type?: string;
  position: number;
  entity_id?: string;
  payload?: { i: number };
}

function connect(
  url: string,
): Promise<{ ws: WebSocket; frames: Frame[]; next(pred: (f: Frame[]) => boolean): Promise<void> }> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/api/v1/events/stream?token=${TEST_KEY}`);
  const frames: Frame[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (data) => {
    frames.push(JSON.parse(data.toString()) as Frame);
    for (const w of waiters.splice(0)) w();
  });
  const next = (pred: (f: Frame[]) => boolean) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out with ${frames.length} frames`)),
        15_000,
      );
      const check = () => {
        if (pred(frames)) {
          clearTimeout(timer);
          resolve();
        } else waiters.push(check);
      };
      check();
    });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, frames, next }));
    ws.once('error', reject);
  });
}

async function append(url: string, n: number, entity = 'e', from = 0): Promise<void> {
  for (let i = from; i < from + n; i += 10) {
    const events = Array.from({ length: Math.min(10, from + n - i) }, (_, k) => ({
      event_type: 'stream.test',
      entity_id: entity,
      payload: { i: i + k },
    }));
    const r = await post(`${url}/api/v1/events/batch`, { events });
    assert.equal(r.status, 200);
  }
}

describe('WebSocket stream', () => {
  const dataDir = tmpDir();
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess(dataDir, {
      ALLSOURCE_SERVER_WS_BUFFERED_BYTES_MAX: '16384',
    });
  });
  after(() => server.stop());

  it('sends stored events, caught_up, then live ones with no gap and no duplicate', async () => {
    await append(server.url, 200, 'cat');
    const { ws, frames, next } = await connect(server.url);
    ws.send(JSON.stringify({ entity_id: 'cat', from_position: 0 }));
    const writer = append(server.url, 300, 'cat', 200);
    await writer;
    await next((f) => f.filter((x) => x.type === undefined).length >= 500);
    ws.close();
    const events = frames.filter((f) => f.type === undefined);
    assert.deepEqual(
      events.map((e) => e.payload!.i),
      Array.from({ length: 500 }, (_, i) => i),
    );
    const caughtUp = frames.findIndex((f) => f.type === 'caught_up');
    assert.ok(caughtUp >= 200, 'caught_up comes after the stored events');
    const positions = events.map((e) => e.position);
    assert.deepEqual(
      positions,
      [...new Set(positions)].sort((a, b) => a - b),
    );
  });

  it('delivers only what the filter matches, and rejects a bad filter with an error frame', async () => {
    const { ws, frames, next } = await connect(server.url);
    ws.send(JSON.stringify({ entity_id: 'dog' }));
    await new Promise((r) => setTimeout(r, 100));
    await append(server.url, 5, 'cow');
    await append(server.url, 3, 'dog');
    await next((f) => f.filter((x) => x.entity_id === 'dog').length === 3);
    assert.ok(frames.every((f) => f.entity_id === 'dog'));
    ws.send('{not json');
    await next((f) => f.some((x) => x.type === 'error'));
    ws.close();
  });

  it('publishes live to every-event, type and entity sockets alike, also after others leave', async () => {
    const everything = await connect(server.url);
    const byType = await connect(server.url);
    const byEntity = await connect(server.url);
    const leaver = await connect(server.url);
    everything.ws.send('{}');
    byType.ws.send(JSON.stringify({ event_type: 'other.kind' }));
    byEntity.ws.send(JSON.stringify({ entity_id: 'emu' }));
    leaver.ws.send(JSON.stringify({ entity_id: 'emu' }));
    await new Promise((r) => setTimeout(r, 100));
    leaver.ws.close();
    const events = Array.from({ length: 12 }, (_, i) => ({
      event_type: i % 3 === 0 ? 'other.kind' : 'stream.test',
      entity_id: i % 4 === 0 ? 'emu' : 'yak',
      payload: { i },
    }));
    assert.equal((await post(`${server.url}/api/v1/events/batch`, { events })).status, 200);
    const seen = (frames: Frame[]) =>
      frames.filter((f) => f.type === undefined).map((f) => f.payload!.i);
    await everything.next((f) => seen(f).length === 12);
    await byType.next((f) => seen(f).length === 4);
    await byEntity.next((f) => seen(f).length === 3);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(seen(everything.frames), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    assert.deepEqual(seen(byType.frames), [0, 3, 6, 9]);
    assert.deepEqual(seen(byEntity.frames), [0, 4, 8]);
    for (const s of [everything, byType, byEntity]) s.ws.close();
  });

  it('serves a slow reader from the log without loss', async () => {
    const { ws, frames, next } = await connect(server.url);
    ws.send(JSON.stringify({ entity_id: 'slow', from_position: 0 }));
    // Stop reading from the socket: the server's send buffer fills and it must stop pushing.
    const socket = (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    await append(server.url, 2000, 'slow');
    socket.resume();
    await next((f) => f.filter((x) => x.type === undefined).length >= 2000);
    ws.close();
    const events = frames.filter((f) => f.type === undefined);
    assert.deepEqual(
      events.map((e) => e.payload!.i),
      Array.from({ length: 2000 }, (_, i) => i),
    );
  });

  it('starts a new socket live from now, also after the tenant had no sockets for a while', async () => {
    const first = await connect(server.url);
    first.ws.send(JSON.stringify({ entity_id: 'late' }));
    await new Promise((r) => setTimeout(r, 50));
    await append(server.url, 5, 'late');
    await first.next((f) => f.length >= 5);
    first.ws.close();
    await new Promise((r) => setTimeout(r, 50));
    await append(server.url, 3, 'late', 5);
    const second = await connect(server.url);
    second.ws.send(JSON.stringify({ entity_id: 'late' }));
    await new Promise((r) => setTimeout(r, 50));
    await append(server.url, 2, 'late', 8);
    await second.next((f) => f.length >= 2);
    await new Promise((r) => setTimeout(r, 100));
    second.ws.close();
    assert.deepEqual(
      second.frames.map((f) => f.payload!.i),
      [8, 9],
    );
  });

  it('keeps fast and slow subscribers of one tenant each complete and in order', async () => {
    const fast = await connect(server.url);
    const slow = await connect(server.url);
    fast.ws.send(JSON.stringify({ entity_id: 'pair' }));
    slow.ws.send(JSON.stringify({ entity_id: 'pair' }));
    await new Promise((r) => setTimeout(r, 50));
    const socket = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    await append(server.url, 1500, 'pair');
    await fast.next((f) => f.length >= 1500);
    socket.resume();
    await slow.next((f) => f.length >= 1500);
    await new Promise((r) => setTimeout(r, 100));
    fast.ws.close();
    slow.ws.close();
    const expected = Array.from({ length: 1500 }, (_, i) => i);
    assert.deepEqual(
      fast.frames.map((f) => f.payload!.i),
      expected,
    );
    assert.deepEqual(
      slow.frames.map((f) => f.payload!.i),
      expected,
    );
  });
});
