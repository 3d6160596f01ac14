// Writing responses. Every write after an await happens inside cork() and only if the client
// is still there; large bodies go out with tryEnd and continue on onWritable (backpressure).

import type { HttpResponse } from 'uWebSockets.js';
import type { Span } from '@opentelemetry/api';
import { errorBody, errorTable, type HttpError } from '../errors.js';

/** Per-request state that outlives the synchronous handler. */
export interface Exchange {
  res: HttpResponse;
  aborted: boolean;
  /** Headers every response of this request carries (rate limits add theirs). */
  headers: [string, string][];
  /** The status sent, once sent (for metrics). */
  status?: string;
  /** Sent back as `x-request-id` and put on every log line about the request. */
  requestId?: string;
  /** The request's trace span, when tracing is on and the route is traced. */
  span?: Span;
}

const JSON_TYPE = 'application/json';

/** Bodies up to this size go out with one end(); larger ones stream under backpressure. */
const END_BYTES_MAX = 64 * 1024;

// A fresh buffer of tens of KiB per response is new memory each time, and the garbage it leaves
// is external memory that pushes V8 into extra collections: under a query load of 46 KiB
// responses that cost more than the rest of the request. Bytes that go to uWS at once, by an
// end(), a WebSocket send() or a publish(), are built in this buffer instead: uWS has copied
// them (to the socket or its own buffers) before the call returns, so the next may reuse it.
const scratch = Buffer.allocUnsafeSlow(END_BYTES_MAX);

/**
 * Memory for bytes handed to uWS right away, with nothing in between: send() of a body that
 * fits one end(), ws.send(), app.publish(). A view of the shared scratch buffer when they fit
 * it, else a buffer of their own (a large body streams and is kept until written).
 */
export function scratchFor(bytes: number): Buffer {
  return bytes < END_BYTES_MAX ? scratch.subarray(0, bytes) : Buffer.allocUnsafe(bytes);
}

export function send(ex: Exchange, status: string, body: string | Buffer, type = JSON_TYPE): void {
  ex.status = status;
  if (ex.aborted) return;
  ex.res.cork(() => {
    ex.res.writeStatus(status).writeHeader('content-type', type);
    if (ex.requestId !== undefined) ex.res.writeHeader('x-request-id', ex.requestId);
    for (const [name, value] of ex.headers) ex.res.writeHeader(name, value);
    if (body.length < END_BYTES_MAX) {
      ex.res.end(body);
      return;
    }
    streamOut(ex, typeof body === 'string' ? Buffer.from(body) : body);
  });
}

function streamOut(ex: Exchange, body: Buffer): void {
  const total = body.length;
  // onWritable reports the response's write offset; the body started at this one.
  const start = ex.res.getWriteOffset();
  const [ok, done] = ex.res.tryEnd(body, total);
  if (ok || done) return;
  ex.res.onWritable((offset) => {
    if (ex.aborted) return true;
    const [sent, finished] = ex.res.tryEnd(body.subarray(offset - start), total);
    return sent || finished;
  });
}

export function sendError(ex: Exchange, error: HttpError, headers: [string, string][] = []): void {
  for (const h of headers) ex.headers.push(h);
  const retry = error.extra.retry_after;
  if (typeof retry === 'number')
    ex.headers.push(['retry-after', String(Math.max(1, Math.ceil(retry)))]);
  send(ex, errorTable[error.code].status, errorBody(error));
}
