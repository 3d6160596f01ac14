// The in-memory state of one log that is not in any segment: per-entity versions and spans, per
// type counts and spans. It grows with entities and types, never with events.
import type { Checkpoint } from '../format/checkpoint.js';
import type { EventView } from '../format/event_view.js';
import { ERASE_EVENT_TYPE } from '../format/names.js';

/** The totals a log keeps are exactly what its checkpoint records. */
export type LogTotals = Checkpoint;

export function emptyTotals(): LogTotals {
  return {
    coveredPosition: 0,
    totalIngested: 0,
    entities: new Map(),
    types: new Map(),
    erased: new Map(),
  };
}

export function applyEvent(
  totals: LogTotals,
  entityId: string,
  eventType: string,
  version: number,
  position: number,
): void {
  const entity = totals.entities.get(entityId);
  if (entity === undefined) {
    totals.entities.set(entityId, { version, firstPosition: position, lastPosition: position });
  } else {
    entity.version = version;
    entity.lastPosition = position;
  }
  const type = totals.types.get(eventType);
  if (type === undefined) {
    totals.types.set(eventType, { count: 1, firstPosition: position, lastPosition: position });
  } else {
    type.count++;
    type.lastPosition = position;
  }
  totals.totalIngested++;
  if (eventType === ERASE_EVENT_TYPE) totals.erased.set(entityId, position);
}

/** True when the event belongs to an entity erased after it: hidden, and gone at compaction. */
export function isErased(totals: LogTotals, entityId: string, position: number): boolean {
  const before = totals.erased.get(entityId);
  return before !== undefined && position < before;
}

export function applyView(totals: LogTotals, view: EventView): void {
  applyEvent(totals, view.entityId, view.eventType, view.version, view.position);
}
