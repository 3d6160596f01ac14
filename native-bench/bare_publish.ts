// The fan-out ceiling: a bare uWebSockets.js server whose sockets join one topic; on
// GET /publish?seconds=N it publishes one message for N seconds, 16 per event-loop turn,
// pausing while any socket holds more than 1 MiB unsent (the flow control LIMITS.md used).
// The message is the first argument (the bytes of an AllSource event frame, so that both sides
// deliver the same bytes), or LIMITS.md's 250-byte one.

import type * as Uws from 'uWebSockets.js';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const uws = require(
  `uWebSockets.js/binaries/uws_${process.platform}_${process.arch}_${process.versions.modules}.node`,
) as typeof Uws;
const message = Buffer.from(process.argv[2] ?? `{"data":"${'x'.repeat(239)}"}`);
const sockets = new Set<Uws.WebSocket<unknown>>();
const app = uws.App();
let publishing = false;

function burst(until: number): void {
  if (Date.now() >= until) {
    publishing = false;
    return;
  }
  for (const ws of sockets) {
    if (ws.getBufferedAmount() > 1024 * 1024) {
      setImmediate(() => burst(until));
      return;
    }
  }
  for (let i = 0; i < 16; i++) app.publish('all', message, false);
  setImmediate(() => burst(until));
}

app
  .ws('/*', {
    maxBackpressure: 64 * 1024 * 1024,
    open: (ws) => {
      ws.subscribe('all');
      sockets.add(ws);
    },
    drain: () => {},
    close: (ws) => sockets.delete(ws),
  })
  .get('/publish', (res, req) => {
    const seconds = Number(new URLSearchParams(req.getQuery() ?? '').get('seconds') ?? 1);
    if (!publishing) {
      publishing = true;
      burst(Date.now() + seconds * 1000);
    }
    res.end('ok');
  })
  .listen('127.0.0.1', 0, (socket) => {
    if (!socket) process.exit(1);
    process.stdout.write(`port ${uws.us_socket_local_port(socket)}\n`);
  });
