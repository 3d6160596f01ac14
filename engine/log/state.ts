// The in-memory state of one log that is not in any segment: per-entity versions and spans, per
// type counts and spans. It grows with entities and types, never with events.
import type { Checkpoint, CheckpointSource, EntityState } from '../format/checkpoint.js';
import type { EventView } from '../format/event_view.js';
import { ERASE_EVENT_TYPE } from '../format/names.js';

/** The totals a log keeps are exactly what its checkpoint records. */
export interface LogTotals extends Checkpoint {
  /**
   * One map per frozen view being read (see freezeTotals): every entity changed since the view
   * was taken, as it was then, or null for an entity that did not exist then. Usually none.
   */
  views: Map<string, EntityState | null>[];
}

export function emptyTotals(): LogTotals {
  return withoutView({
    coveredPosition: 0,
    totalIngested: 0,
    entities: new Map(),
    types: new Map(),
    erased: new Map(),
  });
}

export function withoutView(checkpoint: Checkpoint): LogTotals {
  return { ...checkpoint, views: [] };
}

export function applyEvent(
  totals: LogTotals,
  entityId: string,
  eventType: string,
  version: number,
  position: number,
): void {
  const entity = totals.entities.get(entityId);
  const views = totals.views;
  for (let v = 0; v < views.length; v++) {
    const before = views[v]!;
    if (!before.has(entityId)) before.set(entityId, entity === undefined ? null : { ...entity });
  }
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

/** A checkpoint's view of the totals as they are now, read while they go on changing. */
export interface FrozenTotals extends CheckpointSource {
  /** Ends the view: changes stop being recorded for it. Idempotent. */
  release(): void;
}

/**
 * The totals as of now, readable across event-loop turns while appends go on changing them.
 * Encoding every entity at once stalled the event loop for 420-870 ms at 1.4M entities
 * (measured); a view read a piece at a time lets appends in between. Types and erased entities,
 * few, are copied now. Entities are read from the live map: one an append changes meanwhile
 * first leaves its state as of now in the view's map, and one created meanwhile is skipped.
 * Entities are never removed from the map, so every entity of now is met once. Views are
 * independent (a seal's checkpoint and a backup may read one each); every append pays for
 * each view until it is released, so release it as soon as it has been read.
 */
export function freezeTotals(totals: LogTotals): FrozenTotals {
  const before = new Map<string, EntityState | null>();
  totals.views.push(before);
  const live = totals.entities;
  function* entities(): Generator<readonly [string, EntityState]> {
    for (const entry of live) {
      const then = before.get(entry[0]);
      if (then === undefined) yield entry;
      else if (then !== null) yield [entry[0], then];
    }
  }
  return {
    coveredPosition: totals.coveredPosition,
    totalIngested: totals.totalIngested,
    entityCount: live.size,
    entities: entities(),
    types: new Map([...totals.types].map(([type, state]) => [type, { ...state }])),
    erased: new Map(totals.erased),
    release() {
      const at = totals.views.indexOf(before);
      if (at >= 0) totals.views.splice(at, 1);
    },
  };
}
