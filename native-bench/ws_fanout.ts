// WebSocket fan-out: delivered events per second to 100 subscribers, ours (events appended over
// HTTP, pushed by each socket's subscription) beside a bare uWebSockets.js publish.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Params } from './engine.js';
import { payloadOf } from './engine.js';
import { BENCH_HEADERS, BENCH_KEY, startChild } from './processes.js';
import { type Figure, figure } from './report.js';

const here = path.dirname(fileURLToPath(import.meta.url));

async function clients(url: string, n: number, filter?: string) {
  const proc = spawn(
    process.execPath,
    [path.join(here, 'ws_clients.js'), url, String(n), ...(filter ? [filter] : [])],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let received = 0;
  let ready!: () => void;
  const isReady = new Promise<void>((r) => {
    ready = r;
  });
  proc.stdout.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) {
      if (line === 'ready') ready();
      const m = /^received (\d+)/.exec(line);
      if (m) received = Number(m[1]);
    }
  });
  await isReady;
  return {
    get received() {
      return received;
    },
    stop: () => proc.kill('SIGTERM'),
  };
}

/** Delivered messages per second while `drive` runs (plus a short tail for what is in flight). */
async function window(counter: { received: number }, drive: () => Promise<void>): Promise<number> {
  const before = counter.received;
  const started = performance.now();
  await drive();
  await new Promise((r) => setTimeout(r, 600));
  return (counter.received - before) / ((performance.now() - started) / 1000);
}

export async function runFanout(p: Params): Promise<Figure[]> {
  const subscribers = p.smoke ? 10 : 100;
  const seconds = p.smoke ? 1 : 4;
  const bare: number[] = [];
  const ours: number[] = [];
  // The bare server publishes a frame of the same shape and bytes as one our server delivers.
  const frame = JSON.stringify({
    id: '0190f3c2-7a00-8e4b-9c1d-2f3a4b5c6d7e',
    event_type: 'fan.out',
    entity_id: 'e42',
    tenant_id: 'default',
    payload: JSON.parse(payloadOf(250).toString()),
    timestamp: '2026-11-27T10:00:00.123456Z',
    metadata: null,
    version: 12,
    position: 123456,
  });
  const bareSmall: number[] = [];
  const barePublish = async (args: string[]): Promise<number> => {
    const server = await startChild(path.join(here, 'bare_publish.js'), args, /port (\d+)/);
    const c = await clients(`ws://127.0.0.1:${server.port}/`, subscribers);
    const rate = await window(c, async () => {
      await fetch(`http://127.0.0.1:${server.port}/publish?seconds=${seconds}`);
      await new Promise((r) => setTimeout(r, seconds * 1000));
    });
    c.stop();
    await server.stop();
    return rate;
  };
  for (let run = 0; run < p.runs; run++) {
    bare.push(await barePublish([frame]));
    // LIMITS.md's setting, for context: 250-byte messages, smaller than any event frame.
    bareSmall.push(await barePublish([]));
    const dir = path.join(p.dir, 'fanout');
    fs.rmSync(dir, { recursive: true, force: true });
    const server = await startChild(
      path.join(here, '..', 'server', 'cli', 'main.js'),
      ['serve', '--port', '0', '--data-dir', dir],
      /127\.0\.0\.1:(\d+)/,
      {
        ALLSOURCE_STORAGE_FSYNC: 'always',
      },
    );
    const c = await clients(
      `ws://127.0.0.1:${server.port}/api/v1/events/stream?token=${BENCH_KEY}`,
      subscribers,
    );
    const payload = payloadOf(250).toString();
    const body = `{"events":[${Array.from({ length: 100 }, (_, i) => `{"event_type":"fan.out","entity_id":"e${i}","payload":${payload}}`).join(',')}]}`;
    ours.push(
      await window(c, async () => {
        const until = performance.now() + seconds * 1000;
        await Promise.all(
          Array.from({ length: 4 }, async () => {
            while (performance.now() < until) {
              await fetch(`http://127.0.0.1:${server.port}/api/v1/events/batch`, {
                method: 'POST',
                headers: { 'content-type': 'application/json', ...BENCH_HEADERS },
                body,
              });
            }
          }),
        );
      }),
    );
    c.stop();
    await server.stop();
  }
  const settings = {
    subscribers,
    seconds,
    payloadBytes: 250,
    frameBytes: Buffer.byteLength(frame),
    clients: 'ws npm package, one process',
  };
  return [
    figure(
      'server',
      `WebSocket fan-out to ${subscribers} subscribers`,
      'events/s',
      ours,
      settings,
      {
        baseline: { name: 'bare uWS publish, same frames', samples: bare },
        target: '>= 80% of bare',
      },
    ),
    figure(
      'server',
      `WebSocket fan-out to ${subscribers} subscribers, vs 250-byte messages`,
      'events/s',
      ours,
      settings,
      {
        baseline: { name: 'bare uWS publish, 250-byte messages', samples: bareSmall },
        target: 'context: the bare server sends fewer bytes per message',
      },
    ),
  ];
}
