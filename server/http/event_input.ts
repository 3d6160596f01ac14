// Small JSON bodies that are not on the ingest path (snapshot requests): parsed whole.
import { isUtf8 } from 'node:buffer';
import { HttpError } from '../errors.js';

export function parseJsonBody(body: Buffer): unknown {
  if (!isUtf8(body)) throw new HttpError('INVALID_JSON', 'request body is not valid UTF-8');
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    const detail = error instanceof Error ? error.message : 'malformed';
    throw new HttpError('INVALID_JSON', `request body is not valid JSON: ${detail}`);
  }
}
