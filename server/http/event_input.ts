// Turning request bodies into engine appends. The body must be valid UTF-8 and valid JSON,
// nest no deeper than the configured depth, and carry the fields of API.md with their types.
// Payload and metadata are handed to the engine as JSON bytes.
import { isUtf8 } from 'node:buffer';
import type { AppendEvent } from '../../engine/index.js';
import { HttpError } from '../errors.js';

export interface InputLimits {
  jsonDepthMax: number;
  batchEventsMax: number;
}

export function parseJsonBody(body: Buffer): unknown {
  if (!isUtf8(body)) throw new HttpError('INVALID_JSON', 'request body is not valid UTF-8');
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    const detail = error instanceof Error ? error.message : 'malformed';
    throw new HttpError('INVALID_JSON', `request body is not valid JSON: ${detail}`);
  }
}

function invalid(message: string, field: string, index?: number): HttpError {
  return new HttpError(
    'VALIDATION_ERROR',
    message,
    index === undefined ? { field } : { field, index },
  );
}

/** Depth of nested arrays and objects, iteratively, stopping as soon as it passes `max`. */
export function depthExceeds(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

function jsonBytes(
  value: unknown,
  field: string,
  index: number | undefined,
  depthMax: number,
): Buffer {
  if (depthExceeds(value, depthMax)) {
    throw invalid(`${field} nests deeper than ${depthMax} levels`, field, index);
  }
  return Buffer.from(JSON.stringify(value));
}

/** One event object of a request, checked for the presence and types of its fields. */
export function toAppendEvent(input: unknown, limits: InputLimits, index?: number): AppendEvent {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw invalid('an event must be a JSON object', 'event', index);
  }
  const e = input as Record<string, unknown>;
  if (typeof e.event_type !== 'string')
    throw invalid('event_type is required and must be a string', 'event_type', index);
  if (typeof e.entity_id !== 'string')
    throw invalid('entity_id is required and must be a string', 'entity_id', index);
  if (!('payload' in e)) throw invalid('payload is required', 'payload', index);
  if (e.id !== undefined && typeof e.id !== 'string')
    throw invalid('id must be a string', 'id', index);
  const expected = e.expected_version;
  if (expected !== undefined && expected !== 'any' && typeof expected !== 'number') {
    throw invalid('expected_version must be an integer or "any"', 'expected_version', index);
  }
  return {
    id: e.id as string | undefined,
    eventType: e.event_type,
    entityId: e.entity_id,
    payload: jsonBytes(e.payload, 'payload', index, limits.jsonDepthMax),
    metadata:
      e.metadata === undefined || e.metadata === null
        ? null
        : jsonBytes(e.metadata, 'metadata', index, limits.jsonDepthMax),
    expectedVersion: expected as number | 'any' | undefined,
  };
}

export function toBatch(input: unknown, limits: InputLimits): AppendEvent[] {
  const events = (input as { events?: unknown } | null)?.events;
  if (input === null || typeof input !== 'object' || !Array.isArray(events)) {
    throw invalid('a batch must be an object with an "events" array', 'events');
  }
  if (events.length === 0) throw invalid('a batch needs at least one event', 'events');
  if (events.length > limits.batchEventsMax) {
    throw new HttpError('LIMIT_EXCEEDED', `a batch holds at most ${limits.batchEventsMax} events`, {
      field: 'events',
      limit: limits.batchEventsMax,
    });
  }
  return events.map((event, i) => toAppendEvent(event, limits, i));
}
