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

/**
 * One pass over a name that is plain printable ASCII: true when it is, with at least one
 * character that is not a space. Most names are; for them this replaces the five passes of
 * the general checks below (well-formed, byte length, control characters, trim).
 */
function plainAscii(value: string, max: number): boolean {
  const n = value.length;
  if (n < 1 || n > max) return false;
  let printable = false;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f) return false;
    if (c !== 0x20) printable = true;
  }
  return printable;
}

function checkName(value: unknown, field: string, index: number, max: number): string {
  if (typeof value !== 'string') throw invalid(`${field} must be a string`, field, index);
  if (plainAscii(value, max)) return value;
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
    const entityId = checkEntityId(event.entityId, i);
    const clientId = event.id !== undefined;
    // Generated ids are made once the position is known (see format/event_id.ts).
    const id = clientId ? checkName(event.id, 'id', i, limits.eventIdBytesMax) : '';
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
      idBytes: clientId ? Buffer.byteLength(id) : 36,
      clientId,
      eventType,
      typeBytes: eventType.length,
      entityId,
      entityBytes: Buffer.byteLength(entityId),
      payload: checkJsonBytes(event.payload, 'payload', i, max.payloadBytesMax),
      metadata,
      expectedVersion: checkExpected(event.expectedVersion, i),
      escape: NEEDS_ESCAPE.test(entityId) || (clientId && NEEDS_ESCAPE.test(id)),
      // Filled in by the round.
      position: 0,
      timestampUs: 0,
      version: 0,
      followers: 0,
    };
  }
  return checked;
}
