// The ceiling: a bare uWebSockets.js endpoint that copies the request body and answers a small
// JSON object, nothing else. Given a file, a GET answers with that file's bytes instead (the
// ceiling for a query whose response is as large). Prints its port, then serves until killed.

import type * as Uws from 'uWebSockets.js';
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const uws = require(
  `uWebSockets.js/binaries/uws_${process.platform}_${process.arch}_${process.versions.modules}.node`,
) as typeof Uws;
const reply = '{"event_id":"00000000-0000-8000-8000-000000000000","version":1,"position":1}';
const bodyFile = process.argv[2];
const getReply = bodyFile === undefined ? Buffer.from(reply) : fs.readFileSync(bodyFile);
uws
  .App()
  .post('/*', (res) => {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const chunks: Buffer[] = [];
    res.onData((chunk, last) => {
      chunks.push(Buffer.copyBytesFrom(new Uint8Array(chunk)));
      if (last && !aborted) {
        Buffer.concat(chunks);
        res.cork(() => res.writeHeader('content-type', 'application/json').end(reply));
      }
    });
  })
  .get('/*', (res) => {
    res.cork(() => res.writeHeader('content-type', 'application/json').end(getReply));
  })
  .listen('127.0.0.1', 0, (socket) => {
    if (!socket) process.exit(1);
    process.stdout.write(`port ${uws.us_socket_local_port(socket)}\n`);
  });
