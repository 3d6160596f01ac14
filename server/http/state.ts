// Entity state: the shallow merge of the top-level keys of each object payload, oldest first,
// starting from the newest snapshot that covers no more than the events asked for.
import { type EventView, limits, type Store } from '../../engine/index.js';

export interface EntityState {
  state: Record<string, unknown>;
  /** The entity's events up to the bound: its version at that point. */
  eventCount: number;
  lastEvent: EventView;
  /** The events replayed on top of the snapshot (the newest `historyMax`). */
  history: EventView[];
  /** Position of the last event the state includes. */
  position: number;
}

function merge(into: Record<string, unknown>, payload: Buffer): void {
  const value: unknown = JSON.parse(payload.toString('utf8'));
  if (value !== null && typeof value === 'object' && !Array.isArray(value))
    Object.assign(into, value);
}

/** State of `entityId` up to `untilUs` (all of it when undefined); null when it has no events. */
export function entityState(
  store: Store,
  tenantId: string,
  entityId: string,
  untilUs: number | undefined,
  historyMax: number,
): EntityState | null {
  const last = store.read(tenantId, { entityId, untilUs, order: 'desc', limit: 1 }).events[0];
  if (last === undefined) return null;
  const snapshot = store.latestSnapshot(tenantId, entityId, last.position);
  const state: Record<string, unknown> = {};
  if (snapshot !== null) merge(state, snapshot.state);
  const history: EventView[] = [];
  let after = snapshot?.info.asOfPosition ?? 0;
  for (;;) {
    const page = store.read(tenantId, {
      entityId,
      afterPosition: after,
      maxPosition: last.position,
      limit: limits.readLimitMax,
    });
    for (const view of page.events) {
      merge(state, view.payload);
      history.push(view);
      if (history.length > historyMax) history.shift();
    }
    if (!page.hasMore || page.nextPosition === null) break;
    after = page.nextPosition;
  }
  return { state, eventCount: last.version, lastEvent: last, history, position: last.position };
}
