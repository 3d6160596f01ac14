import type { AppendEvent } from '../../engine/index.js';

/** An append input with a JSON payload built from `payload`. */
export function ev(
  eventType: string,
  entityId: string,
  payload: unknown = {},
  extra: Partial<AppendEvent> = {},
): AppendEvent {
  return { eventType, entityId, payload: Buffer.from(JSON.stringify(payload)), ...extra };
}

/** Payload of a stored event, parsed. */
export function payloadOf(view: { payload: Buffer }): unknown {
  return JSON.parse(view.payload.toString('utf8'));
}
