// Reading a request body from uWebSockets.js. Its chunks live in memory it reuses after the
// callback returns, so each is copied. A body over the limit is answered 413 at once, without
// waiting for the rest; an aborted request is dropped with nothing half-written.
import type { HttpResponse } from 'uWebSockets.js';
import { HttpError } from '../errors.js';

export function readBody(
  res: HttpResponse,
  bytesMax: number,
  onBody: (body: Buffer) => void,
  onError: (error: HttpError) => void,
): void {
  let chunks: Buffer[] | null = [];
  let total = 0;
  res.onData((chunk, isLast) => {
    if (chunks === null) return;
    total += chunk.byteLength;
    if (total > bytesMax) {
      chunks = null;
      onError(
        new HttpError('PAYLOAD_TOO_LARGE', `request body is over ${bytesMax} bytes`, {
          limit: bytesMax,
        }),
      );
      return;
    }
    // Copy: uWebSockets.js reuses the chunk's memory after this callback.
    chunks.push(Buffer.copyBytesFrom(new Uint8Array(chunk)));
    if (isLast) {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
      chunks = null;
      onBody(body);
    }
  });
}
