// The wire form of a stored event, assembled from the record's bytes: payload and metadata are
// copied as stored, never parsed or re-serialized. Field order as in the API reference:
// id, event_type, entity_id, tenant_id, payload, timestamp, metadata, version, position.
import type { EventView } from './event_view.js';
import { formatTimestampUs } from './timestamp.js';

const NULL = Buffer.from('null');

function jsonString(view: EventView, start: number, end: number): string {
  const raw = view.bytes.toString('utf8', start, end);
  return view.needsEscape ? JSON.stringify(raw).slice(1, -1) : raw;
}

/** Bytes of the event as a JSON object. `tenantJson` is the tenant id already JSON-escaped. */
export function eventJson(view: EventView, tenantJson: string): Buffer {
  const typeStart = view.typeStart;
  const entityStart = view.entityStart;
  const metadataStart = view.metadataStart;
  const head =
    `{"id":"${jsonString(view, view.idStart, typeStart)}"` +
    `,"event_type":"${view.bytes.toString('latin1', typeStart, entityStart)}"` +
    `,"entity_id":"${jsonString(view, entityStart, metadataStart)}"` +
    `,"tenant_id":"${tenantJson}","payload":`;
  const middle = `,"timestamp":"${formatTimestampUs(view.timestampUs)}","metadata":`;
  const tail = `,"version":${view.version},"position":${view.position}}`;
  const payload = view.payload;
  const metadata = view.metadata ?? NULL;
  const out = Buffer.allocUnsafe(
    Buffer.byteLength(head) + payload.length + middle.length + metadata.length + tail.length,
  );
  let at = out.write(head, 0);
  at += payload.copy(out, at);
  at += out.write(middle, at, 'latin1');
  at += metadata.copy(out, at);
  out.write(tail, at, 'latin1');
  return out;
}
