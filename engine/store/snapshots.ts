// Entity-state snapshots, kept durably in a second log per tenant (tenants/<id>/snapshots) with
// the same records, checksums, group commit and recovery as events. A snapshot record carries the
// state as its payload and, as metadata, the position and event count the state covers.
import type { EventView } from '../format/event_view.js';
import { limits } from '../limits.js';
import type { ReadQuery, ReadResult, SnapshotInfo } from '../types.js';

type Reader = (query: ReadQuery) => ReadResult<EventView>;

export const SNAPSHOT_TYPE_PREFIX = 'snapshot.';

export function snapshotMetadata(asOfPosition: number, eventCount: number): Buffer {
  return Buffer.from(`{"as_of_position":${asOfPosition},"event_count":${eventCount}}`);
}

export function snapshotInfo(view: EventView): SnapshotInfo {
  const meta = JSON.parse(view.metadata?.toString('utf8') ?? '{}') as {
    as_of_position?: number;
    event_count?: number;
  };
  return {
    id: view.id,
    entityId: view.entityId,
    createdAtUs: view.timestampUs,
    asOfPosition: meta.as_of_position ?? 0,
    eventCount: meta.event_count ?? 0,
    sizeBytes: view.payload.length,
    snapshotType: view.eventType === 'snapshot.automatic' ? 'automatic' : 'manual',
  };
}

/** Every snapshot of an entity, oldest first. */
export function listSnapshots(read: Reader, entityId: string): SnapshotInfo[] {
  const out: SnapshotInfo[] = [];
  let after = 0;
  for (;;) {
    const page = read({
      entityId,
      eventTypePrefix: SNAPSHOT_TYPE_PREFIX,
      afterPosition: after,
      limit: limits.readLimitMax,
    });
    for (const view of page.events) out.push(snapshotInfo(view));
    if (!page.hasMore || page.nextPosition === null) return out;
    after = page.nextPosition;
  }
}

/** The newest snapshot covering at most `maxPosition`, with its state bytes. */
export function latestSnapshot(
  read: Reader,
  entityId: string,
  maxPosition: number,
): { info: SnapshotInfo; state: Buffer } | null {
  let before: number | undefined;
  for (;;) {
    const page = read({
      entityId,
      eventTypePrefix: SNAPSHOT_TYPE_PREFIX,
      order: 'desc',
      afterPosition: before,
      limit: 100,
    });
    for (const view of page.events) {
      const info = snapshotInfo(view);
      if (info.asOfPosition <= maxPosition) return { info, state: Buffer.from(view.payload) };
    }
    if (!page.hasMore || page.nextPosition === null) return null;
    before = page.nextPosition;
  }
}
