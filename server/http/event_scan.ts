// Request bodies of the append routes, read with the JSON scanner: the envelope's fields are
// decoded, payload and metadata are kept as byte ranges of the body (which the engine copies
// into its record), and everything is validated as strictly as JSON.parse would.
import { isUtf8 } from 'node:buffer';
import type { AppendEvent } from '../../engine/index.js';
import { HttpError } from '../errors.js';
import { JsonScanner, Kind } from './json_scan.js';

export interface ScanLimits {
  jsonDepthMax: number;
  batchEventsMax: number;
}

const NULL_JSON = Buffer.from('null');

function invalid(message: string, field: string, index: number | undefined): HttpError {
  return new HttpError(
    'VALIDATION_ERROR',
    message,
    index === undefined ? { field } : { field, index },
  );
}

function scanner(body: Buffer, limits: ScanLimits): JsonScanner {
  if (!isUtf8(body)) throw new HttpError('INVALID_JSON', 'request body is not valid UTF-8');
  return new JsonScanner(body, limits.jsonDepthMax);
}

/** A field the scanner knows, by its name's bytes; keys are matched without decoding them. */
const Field = {
  EventType: 1,
  EntityId: 2,
  Id: 3,
  Payload: 4,
  Metadata: 5,
  ExpectedVersion: 6,
  Other: 0,
} as const;
type FieldName = (typeof Field)[keyof typeof Field];
const FIELDS: [Buffer, FieldName][] = [
  [Buffer.from('"event_type"'), Field.EventType],
  [Buffer.from('"entity_id"'), Field.EntityId],
  [Buffer.from('"id"'), Field.Id],
  [Buffer.from('"payload"'), Field.Payload],
  [Buffer.from('"metadata"'), Field.Metadata],
  [Buffer.from('"expected_version"'), Field.ExpectedVersion],
];

/** The known fields by the length of their quoted names, which all differ. */
const BY_LENGTH: ([Buffer, FieldName] | undefined)[] = [];
for (const entry of FIELDS) BY_LENGTH[entry[0].length] = entry;

/** The field whose quoted name spans [start, end) of the body. */
function fieldAt(s: JsonScanner, start: number, end: number): FieldName {
  // A name with an escape in it may still spell a known field: decode only then.
  if (s.escaped) {
    const name = `"${s.decode(start, end, true)}"`;
    for (const [bytes, field] of FIELDS) if (bytes.toString() === name) return field;
    return Field.Other;
  }
  const entry = BY_LENGTH[end - start];
  if (entry === undefined) return Field.Other;
  const bytes = entry[0];
  const buf = s.buf;
  // The quotes match: both are quoted strings.
  for (let k = 1; k < bytes.length - 1; k++) if (buf[start + k] !== bytes[k]) return Field.Other;
  return entry[1];
}

/**
 * The last string a field of a batch decoded to, and where its quoted bytes lie in the body.
 * The events of a batch mostly repeat their event type, often their entity: a repeat is found
 * by comparing bytes and costs no decoding and no new string.
 */
interface Memo {
  start: number;
  end: number;
  value: string;
}

const newMemo = (): Memo => ({ start: 0, end: 0, value: '' });

function sameBytes(buf: Buffer, a: number, b: number, length: number): boolean {
  for (let k = 0; k < length; k++) if (buf[a + k] !== buf[b + k]) return false;
  return true;
}

function text(s: JsonScanner, field: string, index: number | undefined, memo: Memo | null): string {
  s.ws();
  const start = s.pos;
  if (s.value(1) !== Kind.String) throw invalid(`${field} must be a string`, field, index);
  const end = s.pos;
  if (memo === null || s.escaped) return s.decode(start, end, s.escaped);
  const length = end - start;
  if (memo.end - memo.start === length && sameBytes(s.buf, memo.start, start, length)) {
    return memo.value;
  }
  memo.start = start;
  memo.end = end;
  memo.value = s.decode(start, end, false);
  return memo.value;
}

/** One event object at the scanner's position. */
function scanEvent(
  s: JsonScanner,
  index: number | undefined,
  memos: { type: Memo; entity: Memo } | null,
): AppendEvent {
  s.ws();
  if (s.buf[s.pos] !== 0x7b) throw invalid('an event must be a JSON object', 'event', index);
  s.pos++;
  let eventType: string | undefined;
  let entityId: string | undefined;
  let id: string | undefined;
  let payload: Buffer | undefined;
  let metadata: Buffer | null = null;
  let expected: number | 'any' | undefined;
  if (!s.take(0x7d)) {
    do {
      s.ws();
      if (s.buf[s.pos] !== 0x22) s.fail('expected a property name');
      const keyStart = s.pos;
      const field = fieldAt(s, keyStart, s.string());
      s.expect(0x3a, '":"');
      if (field === Field.EventType) eventType = text(s, 'event_type', index, memos?.type ?? null);
      else if (field === Field.EntityId)
        entityId = text(s, 'entity_id', index, memos?.entity ?? null);
      else if (field === Field.Id) id = text(s, 'id', index, null);
      else if (field === Field.Payload || field === Field.Metadata) {
        s.ws();
        const start = s.pos;
        const kind = s.value(1);
        const bytes = s.buf.subarray(start, s.pos);
        if (field === Field.Payload) payload = kind === Kind.Null ? NULL_JSON : bytes;
        else metadata = kind === Kind.Null ? null : bytes;
      } else if (field === Field.ExpectedVersion) {
        s.ws();
        const start = s.pos;
        const kind = s.value(1);
        if (kind === Kind.Number) expected = Number(s.buf.toString('latin1', start, s.pos));
        else if (kind === Kind.String && s.decode(start, s.pos, s.escaped) === 'any')
          expected = 'any';
        else if (kind !== Kind.Null) {
          throw invalid('expected_version must be an integer or "any"', 'expected_version', index);
        }
      } else s.value(1);
    } while (s.take(0x2c));
    s.expect(0x7d, '"}"');
  }
  if (eventType === undefined)
    throw invalid('event_type is required and must be a string', 'event_type', index);
  if (entityId === undefined)
    throw invalid('entity_id is required and must be a string', 'entity_id', index);
  if (payload === undefined) throw invalid('payload is required', 'payload', index);
  return { id, eventType, entityId, payload, metadata, expectedVersion: expected };
}

export function scanSingle(body: Buffer, limits: ScanLimits): AppendEvent {
  const s = scanner(body, limits);
  const event = scanEvent(s, undefined, null);
  s.end();
  return event;
}

export function scanBatch(body: Buffer, limits: ScanLimits): AppendEvent[] {
  const s = scanner(body, limits);
  s.ws();
  if (s.buf[s.pos] !== 0x7b)
    throw invalid('a batch must be an object with an "events" array', 'events', undefined);
  s.pos++;
  let events: AppendEvent[] | null = null;
  if (!s.take(0x7d)) {
    do {
      s.ws();
      if (s.buf[s.pos] !== 0x22) s.fail('expected a property name');
      const key = s.decode(s.pos, s.string(), s.escaped);
      s.expect(0x3a, '":"');
      if (key !== 'events') {
        s.value(1);
        continue;
      }
      s.ws();
      if (s.buf[s.pos] !== 0x5b) throw invalid('"events" must be an array', 'events', undefined);
      s.pos++;
      events = [];
      const memos = { type: newMemo(), entity: newMemo() };
      if (!s.take(0x5d)) {
        do {
          if (events.length === limits.batchEventsMax) {
            throw new HttpError(
              'LIMIT_EXCEEDED',
              `a batch holds at most ${limits.batchEventsMax} events`,
              {
                field: 'events',
                limit: limits.batchEventsMax,
              },
            );
          }
          events.push(scanEvent(s, events.length, memos));
        } while (s.take(0x2c));
        s.expect(0x5d, '"]"');
      }
    } while (s.take(0x2c));
    s.expect(0x7d, '"}"');
  }
  s.end();
  if (events === null)
    throw invalid('a batch must be an object with an "events" array', 'events', undefined);
  if (events.length === 0) throw invalid('a batch needs at least one event', 'events', undefined);
  return events;
}
