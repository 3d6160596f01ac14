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

export function send(ex: Exchange, status: string, body: string | Buffer, type = JSON_TYPE): void {
  ex.status = status;
  if (ex.aborted) return;
  ex.res.cork(() => {
    ex.res.writeStatus(status).writeHeader('content-type', type);
    if (ex.requestId !== undefined) ex.res.writeHeader('x-request-id', ex.requestId);
    for (const [name, value] of ex.headers) ex.res.writeHeader(name, value);
    if (body.length < 64 * 1024) {
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
