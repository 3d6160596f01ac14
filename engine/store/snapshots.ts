// Entity-state snapshots, kept durably in a second log per tenant (tenants/<id>/snapshots) with
// the same records, checksums, group commit and recovery as events. A snapshot record carries the
// state as its payload and, as metadata, the position and event count the state covers.
import type { EventView } from '../format/event_view.js';
import type { SnapshotInfo } from '../types.js';

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
