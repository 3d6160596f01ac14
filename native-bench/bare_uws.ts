// The ceilings: a bare uWebSockets.js endpoint that copies the request body and answers a small
// JSON object, nothing else. Given a file, a GET answers with that file's bytes instead (the
// ceiling for a query whose response is as large). Given `--durable <file>`, a POST is
// answered only once its body is in that file and fdatasync has returned, with group commit
// as the store does it: the bodies that arrived since the last write go out in one write and
// one fdatasync, at most two such groups in flight. No validation, encoding, checksum or
// index: the ceiling of durable ingest over HTTP on the machine. Prints its port, then serves
// until killed.

import type * as Uws from 'uWebSockets.js';
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const uws = require(
  `uWebSockets.js/binaries/uws_${process.platform}_${process.arch}_${process.versions.modules}.node`,
) as typeof Uws;
const reply = '{"event_id":"00000000-0000-8000-8000-000000000000","version":1,"position":1}';
const durable = process.argv[2] === '--durable' ? process.argv[3] : undefined;
const bodyFile = durable === undefined ? process.argv[2] : undefined;
const getReply = bodyFile === undefined ? Buffer.from(reply) : fs.readFileSync(bodyFile);

/**
 * The file is zeroed in advance and written round and round, as the store writes into space
 * zeroed ahead of its appends: an fdatasync then commits data only, never the file's growth.
 */
const FILE_BYTES = 64 * 1024 * 1024;
const GROUPS_IN_FLIGHT = 2;

interface Waiting {
  res: Uws.HttpResponse;
  aborted: boolean;
  body: Buffer;
}

function durableWriter(file: string): (w: Waiting) => void {
  const fd = fs.openSync(file, 'w+');
  const zeros = Buffer.alloc(1024 * 1024);
  for (let at = 0; at < FILE_BYTES; at += zeros.length)
    fs.writeSync(fd, zeros, 0, zeros.length, at);
  fs.fsyncSync(fd);
  let offset = 0;
  let inFlight = 0;
  let scheduled = false;
  let queue: Waiting[] = [];

  function flush(): void {
    scheduled = false;
    if (queue.length === 0 || inFlight >= GROUPS_IN_FLIGHT) return;
    const group = queue;
    queue = [];
    const bytes = Buffer.concat(group.map((w) => w.body));
    if (offset + bytes.length > FILE_BYTES) offset = 0;
    fs.writeSync(fd, bytes, 0, bytes.length, offset);
    offset += bytes.length;
    inFlight++;
    fs.fdatasync(fd, (error) => {
      if (error) throw error;
      inFlight--;
      for (const w of group) {
        if (!w.aborted) {
          w.res.cork(() => w.res.writeHeader('content-type', 'application/json').end(reply));
        }
      }
      flush();
    });
  }

  return (w) => {
    queue.push(w);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}

const commit = durable === undefined ? null : durableWriter(durable);

uws
  .App()
  .post('/*', (res) => {
    const waiting: Waiting = { res, aborted: false, body: Buffer.alloc(0) };
    res.onAborted(() => {
      waiting.aborted = true;
    });
    const chunks: Buffer[] = [];
    res.onData((chunk, last) => {
      chunks.push(Buffer.copyBytesFrom(new Uint8Array(chunk)));
      if (!last || waiting.aborted) return;
      waiting.body = Buffer.concat(chunks);
      if (commit !== null) commit(waiting);
      else res.cork(() => res.writeHeader('content-type', 'application/json').end(reply));
    });
  })
  .get('/*', (res) => {
    res.cork(() => res.writeHeader('content-type', 'application/json').end(getReply));
  })
  .listen('127.0.0.1', 0, (socket) => {
    if (!socket) process.exit(1);
    process.stdout.write(`port ${uws.us_socket_local_port(socket)}\n`);
  });
