// The wire form of a stored event, assembled from the record's bytes: payload and metadata are
// copied as stored, never parsed or re-serialized. Field order as in the API reference:
// id, event_type, entity_id, tenant_id, payload, timestamp, metadata, version, position.
// A response of many events is measured first and written into one buffer.
import type { EventView } from './event_view.js';

const ID = Buffer.from('{"id":"');
const TYPE = Buffer.from('","event_type":"');
const ENTITY = Buffer.from('","entity_id":"');
const TENANT = Buffer.from('","tenant_id":"');
const PAYLOAD = Buffer.from('","payload":');
const TIMESTAMP = Buffer.from(',"timestamp":"');
const METADATA = Buffer.from('","metadata":');
const VERSION = Buffer.from(',"version":');
const POSITION = Buffer.from(',"position":');
const NULL = Buffer.from('null');
const FIXED =
  ID.length +
  TYPE.length +
  ENTITY.length +
  TENANT.length +
  PAYLOAD.length +
  TIMESTAMP.length +
  27 + // 2026-11-27T10:00:00.123456Z
  METADATA.length +
  VERSION.length +
  POSITION.length +
  1; // }

function escaped(view: EventView, start: number, end: number): Buffer {
  return Buffer.from(JSON.stringify(view.buf.toString('utf8', start, end)).slice(1, -1));
}

function digits(n: number): number {
  let d = 1;
  for (let limit = 10; n >= limit && d < 17; limit *= 10) d++;
  return d;
}

/** Bytes of the event's JSON. `tenant` is the tenant id, JSON-escaped, as bytes. */
export function eventJsonLength(view: EventView, tenant: Buffer): number {
  const metadataStart = view.metadataStart;
  const payloadStart = view.payloadStart;
  const metadata = payloadStart - metadataStart;
  const base =
    FIXED +
    tenant.length +
    (view.end - payloadStart) +
    (view.hasMetadata ? metadata : 4) +
    digits(view.version) +
    digits(view.position);
  if (!view.needsEscape) return base + (metadataStart - view.idStart);
  const typeStart = view.typeStart;
  const entityStart = view.entityStart;
  return (
    base +
    escaped(view, view.idStart, typeStart).length +
    (entityStart - typeStart) +
    escaped(view, entityStart, metadataStart).length
  );
}

/** Copies bytes; short runs in a loop, which costs less than a call into native code. */
function copy(src: Buffer, start: number, end: number, out: Buffer, at: number): number {
  const n = end - start;
  if (n > 64) return at + src.copy(out, at, start, end);
  for (let i = 0; i < n; i++) out[at + i] = src[start + i]!;
  return at + n;
}

function put(out: Buffer, at: number, part: Buffer): number {
  return copy(part, 0, part.length, out, at);
}

// Digits are taken with a division and a subtraction, never `%`: on numbers that are not small
// integers V8 computes `%` with a call into its C library (fmod).

/** Writes a non-negative integer's decimal digits; returns the offset after them. */
function putInt(out: Buffer, at: number, n: number): number {
  const end = at + digits(n);
  for (let i = end - 1; i >= at; i--) {
    const rest = Math.floor(n / 10);
    out[i] = 0x30 + (n - rest * 10);
    n = rest;
  }
  return end;
}

// The date and time up to the second, as bytes, cached per second (YYYY-MM-DDTHH:MM:SS).
let cachedSecond = -1;
const cachedPrefix = Buffer.alloc(19);

/** Writes an RFC 3339 timestamp with microseconds (27 bytes). */
function putTimestamp(out: Buffer, at: number, us: number): number {
  const second = Math.floor(us / 1_000_000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedPrefix.write(new Date(second * 1000).toISOString().slice(0, 19), 0, 'latin1');
  }
  at = copy(cachedPrefix, 0, 19, out, at);
  out[at++] = 0x2e; // .
  let micros = (us - second * 1_000_000) | 0;
  for (let i = at + 5; i >= at; i--) {
    const rest = (micros / 10) | 0;
    out[i] = 0x30 + (micros - rest * 10);
    micros = rest;
  }
  out[at + 6] = 0x5a; // Z
  return at + 7;
}

/** Writes the event's JSON at out[at..]; returns the offset after it. */
export function writeEventJson(view: EventView, tenant: Buffer, out: Buffer, at: number): number {
  const bytes = view.buf;
  const typeStart = view.typeStart;
  const entityStart = view.entityStart;
  const metadataStart = view.metadataStart;
  const payloadStart = view.payloadStart;
  at = put(out, at, ID);
  if (view.needsEscape) at = put(out, at, escaped(view, view.idStart, typeStart));
  else at = copy(bytes, view.idStart, typeStart, out, at);
  at = put(out, at, TYPE);
  at = copy(bytes, typeStart, entityStart, out, at);
  at = put(out, at, ENTITY);
  if (view.needsEscape) at = put(out, at, escaped(view, entityStart, metadataStart));
  else at = copy(bytes, entityStart, metadataStart, out, at);
  at = put(out, at, TENANT);
  at = put(out, at, tenant);
  at = put(out, at, PAYLOAD);
  at = copy(bytes, payloadStart, view.end, out, at);
  at = put(out, at, TIMESTAMP);
  at = putTimestamp(out, at, view.timestampUs);
  at = put(out, at, METADATA);
  if (!view.hasMetadata) at = put(out, at, NULL);
  else at = copy(bytes, metadataStart, payloadStart, out, at);
  at = put(out, at, VERSION);
  at = putInt(out, at, view.version);
  at = put(out, at, POSITION);
  at = putInt(out, at, view.position);
  out[at++] = 0x7d; // }
  return at;
}

// The tenant id's bytes for the last tenant asked: live delivery asks for one tenant's events
// many times in a row, and encoding its id again for each was a measurable share of it.
let lastTenantJson = '';
let lastTenant = Buffer.alloc(0);

/** The bytes of a tenant id already JSON-escaped; the last one asked is kept. */
export function tenantBytes(tenantJson: string): Buffer {
  if (tenantJson !== lastTenantJson) {
    lastTenant = Buffer.from(tenantJson);
    lastTenantJson = tenantJson;
  }
  return lastTenant;
}

/**
 * Bytes of the event as a JSON object. `tenantJson` is the tenant id already JSON-escaped.
 * `alloc` gives the buffer, of exactly the bytes asked (a caller may hand out reused memory).
 */
export function eventJson(
  view: EventView,
  tenantJson: string,
  alloc: (bytes: number) => Buffer = Buffer.allocUnsafe,
): Buffer {
  const tenant = tenantBytes(tenantJson);
  const out = alloc(eventJsonLength(view, tenant));
  writeEventJson(view, tenant, out, 0);
  return out;
}

/**
 * `<head>[<body>]<tail>` in one buffer of exactly its size, from `alloc` (a caller may hand out
 * reused memory). `write` puts the body's `bodyBytes` (items and the commas between them) at
 * out[at..] and returns the offset after them.
 */
export function jsonArray(
  head: string,
  tail: string,
  bodyBytes: number,
  alloc: (bytes: number) => Buffer,
  write: (out: Buffer, at: number) => number,
): Buffer {
  const total = Buffer.byteLength(head) + Buffer.byteLength(tail) + 2 + bodyBytes;
  const out = alloc(total);
  let at = out.write(head, 0);
  out[at++] = 0x5b; // [
  at = write(out, at);
  out[at++] = 0x5d; // ]
  at += out.write(tail, at);
  if (at !== total) throw new Error(`assertion failed: JSON array length ${at} != ${total}`);
  return out;
}

/** `<head>[e1,e2,...]<tail>`, e.g. head `{"events":` and tail `,"count":2}` (see jsonArray). */
export function eventsJson(
  views: readonly EventView[],
  tenantJson: string,
  head: string,
  tail: string,
  alloc: (bytes: number) => Buffer = Buffer.allocUnsafe,
): Buffer {
  const tenant = tenantBytes(tenantJson);
  let bodyBytes = Math.max(0, views.length - 1);
  for (const view of views) bodyBytes += eventJsonLength(view, tenant);
  return jsonArray(head, tail, bodyBytes, alloc, (out, at) => {
    for (let i = 0; i < views.length; i++) {
      if (i > 0) out[at++] = 0x2c; // ,
      at = writeEventJson(views[i]!, tenant, out, at);
    }
    return at;
  });
}
