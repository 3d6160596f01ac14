// Checks of one append's events against the event model and the configured limits. Pure: no
// store state is read here, so everything it rejects is rejected before any round starts.
import { StoreError } from '../errors.js';
import { SYSTEM_TYPE_PREFIX } from '../format/names.js';
import { limits } from '../limits.js';
import type { CheckedEvent } from '../log/round.js';
import type { AppendEvent } from '../types.js';

export interface ValidationLimits {
  payloadBytesMax: number;
  metadataBytesMax: number;
  batchEventsMax: number;
}

const EVENT_TYPE = /^[a-z0-9_]+(\.[a-z0-9_]+)*$/;
// C0 and C1 control characters and DEL: the rule is the point of this pattern.
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is intended
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const NEEDS_ESCAPE = /["\\]/;
const VERSION_MAX = 0xffffffff;

function invalid(message: string, field: string, index: number): StoreError {
  return new StoreError('VALIDATION_ERROR', message, { field, index });
}

/** What one pass over a name found: see plainAscii. */
const NOT_PLAIN = 0;
const PLAIN = 1;
const PLAIN_WITH_QUOTES = 2;

/**
 * One pass over a name that is plain printable ASCII, with at least one character that is
 * not a space: PLAIN, or PLAIN_WITH_QUOTES when it holds '"' or '\' (JSON output escapes
 * it); NOT_PLAIN otherwise. Most names are plain; for them this replaces the six passes of
 * the general checks below (well-formed, byte length, control characters, trim, escapes).
 */
function plainAscii(value: string, max: number): number {
  const n = value.length;
  if (n < 1 || n > max) return NOT_PLAIN;
  let printable = false;
  let quotes = false;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f) return NOT_PLAIN;
    if (c !== 0x20) printable = true;
    if (c === 0x22 || c === 0x5c) quotes = true;
  }
  if (!printable) return NOT_PLAIN;
  return quotes ? PLAIN_WITH_QUOTES : PLAIN;
}

function checkName(value: unknown, field: string, index: number, max: number): string {
  if (typeof value !== 'string') throw invalid(`${field} must be a string`, field, index);
  if (plainAscii(value, max) !== NOT_PLAIN) return value;
  if (!value.isWellFormed()) throw invalid(`${field} is not valid Unicode`, field, index);
  const bytes = Buffer.byteLength(value);
  if (bytes < 1 || bytes > max) {
    throw invalid(`${field} must be 1-${max} bytes of UTF-8`, field, index);
  }
  if (CONTROL.test(value)) throw invalid(`${field} must not hold control characters`, field, index);
  if (value.trim().length === 0)
    throw invalid(`${field} must not be only whitespace`, field, index);
  return value;
}

/**
 * Checks a name as checkName does and returns its byte length, negative when the name holds
 * '"' or '\\' (JSON output escapes it). A plain name, the usual case, takes one pass.
 */
function checkMeasured(value: unknown, field: string, index: number, max: number): number {
  if (typeof value === 'string') {
    const plain = plainAscii(value, max);
    if (plain === PLAIN) return value.length;
    if (plain === PLAIN_WITH_QUOTES) return -value.length;
  }
  const name = checkName(value, field, index, max);
  const bytes = Buffer.byteLength(name);
  return NEEDS_ESCAPE.test(name) ? -bytes : bytes;
}

// The last event type that passed: a batch usually repeats one type, so most events skip the
// pattern match.
let lastEventType = '';

export function checkEventType(value: unknown, index = 0): string {
  // Only a type that passed is kept, and '' never passes: '' must not match the initial value.
  if (value === lastEventType && value !== '') return value;
  if (typeof value !== 'string' || value.length < 1 || value.length > limits.eventTypeBytesMax) {
    throw invalid(
      `event_type must be 1-${limits.eventTypeBytesMax} characters`,
      'event_type',
      index,
    );
  }
  if (!EVENT_TYPE.test(value)) {
    throw invalid(
      'event_type may hold lower-case letters, digits, "." and "_", with no leading, trailing or double dot',
      'event_type',
      index,
    );
  }
  lastEventType = value;
  return value;
}

export function checkEntityId(value: unknown, index = 0): string {
  return checkName(value, 'entity_id', index, limits.entityIdBytesMax);
}

function checkJsonBytes(value: unknown, field: string, index: number, max: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw invalid(`${field} must be JSON bytes`, field, index);
  if (value.byteLength === 0) throw invalid(`${field} must not be empty`, field, index);
  if (value.byteLength > max) {
    throw new StoreError(
      'LIMIT_EXCEEDED',
      `${field} is ${value.byteLength} bytes; the limit is ${max}`,
      {
        field,
        index,
        limit: max,
      },
    );
  }
  return value;
}

function checkExpected(value: unknown, index: number): number {
  if (value === undefined || value === 'any') return -1;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > VERSION_MAX) {
    throw invalid('expected_version must be "any" or an integer >= 0', 'expected_version', index);
  }
  return value;
}

export function checkAppend(
  events: readonly AppendEvent[],
  max: ValidationLimits,
  system = false,
): CheckedEvent[] {
  if (!Array.isArray(events) || events.length === 0) {
    throw invalid('an append needs at least one event', 'events', 0);
  }
  if (events.length > max.batchEventsMax) {
    throw new StoreError(
      'LIMIT_EXCEEDED',
      `a batch holds at most ${max.batchEventsMax} events; got ${events.length}`,
      { field: 'events', limit: max.batchEventsMax },
    );
  }
  const seen = new Set<string>();
  const checked: CheckedEvent[] = new Array(events.length);
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    const eventType = checkEventType(event.eventType, i);
    if (!system && eventType.startsWith(SYSTEM_TYPE_PREFIX)) {
      throw invalid(
        `event types starting with "${SYSTEM_TYPE_PREFIX}" are reserved for the store`,
        'event_type',
        i,
      );
    }
    const entityMeasure = checkMeasured(event.entityId, 'entity_id', i, limits.entityIdBytesMax);
    const entityId = event.entityId;
    const clientId = event.id !== undefined;
    // Generated ids are made once the position is known (see format/event_id.ts).
    const idMeasure = clientId ? checkMeasured(event.id, 'id', i, limits.eventIdBytesMax) : 36;
    const id = clientId ? (event.id as string) : '';
    if (clientId) {
      if (seen.has(id)) throw invalid(`id ${id} appears twice in one batch`, 'id', i);
      seen.add(id);
    }
    const metadata =
      event.metadata === undefined || event.metadata === null
        ? null
        : checkJsonBytes(event.metadata, 'metadata', i, max.metadataBytesMax);
    checked[i] = {
      id,
      idBytes: Math.abs(idMeasure),
      clientId,
      eventType,
      typeBytes: eventType.length,
      entityId,
      entityBytes: Math.abs(entityMeasure),
      payload: checkJsonBytes(event.payload, 'payload', i, max.payloadBytesMax),
      metadata,
      expectedVersion: checkExpected(event.expectedVersion, i),
      idHash: 0,
      escape: entityMeasure < 0 || idMeasure < 0,
      // Filled in by the round.
      position: 0,
      timestampUs: 0,
      version: 0,
      followers: 0,
    };
  }
  return checked;
}
