// Entities and snapshots: reconstructed state, and durable snapshots of it.
import { formatTimestampUs, type SnapshotInfo, type Store } from '../../engine/index.js';
import { HttpError } from '../errors.js';
import type { ServerMetrics } from '../metrics.js';
import type { QuotaChecks } from '../tenants/quotas.js';
import { parseJsonBody } from './event_input.js';
import { timestampParam } from './query.js';
import { send } from './reply.js';
import type { Handler } from './request.js';
import { entityState } from './state.js';

const OK = '200 OK';

export interface EntityOptions {
  historyMax: number;
}

function snapshotJson(store: Store, tenantId: string, info: SnapshotInfo): Record<string, unknown> {
  const covered = store.read(tenantId, {
    afterPosition: info.asOfPosition - 1,
    maxPosition: info.asOfPosition,
    limit: 1,
  });
  const asOf = covered.events[0];
  return {
    id: info.id,
    entity_id: info.entityId,
    created_at: formatTimestampUs(info.createdAtUs),
    as_of: asOf === undefined ? null : formatTimestampUs(asOf.timestampUs),
    event_count: info.eventCount,
    size_bytes: info.sizeBytes,
    snapshot_type: info.snapshotType,
  };
}

export function entityRoutes(
  store: Store,
  options: EntityOptions,
  metrics: ServerMetrics,
  quotas: QuotaChecks,
) {
  const current = (tenantId: string, entityId: string, untilUs?: number) => {
    quotas.query(tenantId);
    const found = entityState(store, tenantId, entityId, untilUs, options.historyMax);
    if (found === null) throw new HttpError('NOT_FOUND', 'the entity has no events');
    return found;
  };
  const state: Handler = (ex, info, caller) => {
    const params = new URLSearchParams(info.query);
    const asOf = timestampParam(params, 'as_of');
    const s = current(caller.tenantId, info.params[0]!, asOf);
    metrics.query('entity_state');
    send(
      ex,
      OK,
      JSON.stringify({
        entity_id: info.params[0],
        last_updated: formatTimestampUs(s.lastEvent.timestampUs),
        event_count: s.eventCount,
        as_of: asOf === undefined ? null : formatTimestampUs(asOf),
        current_state: s.state,
        history: s.history.map((e) => ({
          event_id: e.id,
          type: e.eventType,
          timestamp: formatTimestampUs(e.timestampUs),
          payload: JSON.parse(e.payload.toString('utf8')),
        })),
      }),
    );
  };
  const snapshot: Handler = (ex, info, caller) => {
    const s = current(caller.tenantId, info.params[0]!);
    send(
      ex,
      OK,
      JSON.stringify({
        entity_id: info.params[0],
        snapshot: s.state,
        from_projection: 'entity_snapshots',
      }),
    );
  };
  const create: Handler = async (ex, _info, caller, body) => {
    const input = parseJsonBody(body!) as { entity_id?: unknown } | null;
    if (input === null || typeof input !== 'object' || typeof input.entity_id !== 'string') {
      throw new HttpError('VALIDATION_ERROR', 'entity_id is required and must be a string', {
        field: 'entity_id',
      });
    }
    const s = current(caller.tenantId, input.entity_id);
    const created = await store.putSnapshot(caller.tenantId, {
      entityId: input.entity_id,
      state: Buffer.from(JSON.stringify(s.state)),
      asOfPosition: s.position,
      eventCount: s.eventCount,
      snapshotType: 'manual',
    });
    send(
      ex,
      OK,
      JSON.stringify({
        snapshot_id: created.id,
        entity_id: created.entityId,
        created_at: formatTimestampUs(created.createdAtUs),
        event_count: created.eventCount,
        size_bytes: created.sizeBytes,
      }),
    );
  };
  const list: Handler = (ex, info, caller) => {
    const entityId = new URLSearchParams(info.query).get('entity_id');
    if (entityId === null || entityId === '') {
      throw new HttpError('VALIDATION_ERROR', 'entity_id is required', { field: 'entity_id' });
    }
    const snapshots = store
      .listSnapshots(caller.tenantId, entityId)
      .map((s) => snapshotJson(store, caller.tenantId, s));
    send(ex, OK, JSON.stringify({ snapshots, total: snapshots.length }));
  };
  const latest: Handler = (ex, info, caller) => {
    const found = store.latestSnapshot(caller.tenantId, info.params[0]!);
    if (found === null) throw new HttpError('NOT_FOUND', 'the entity has no snapshot');
    const body = {
      ...snapshotJson(store, caller.tenantId, found.info),
      state: JSON.parse(found.state.toString('utf8')),
    };
    send(ex, OK, JSON.stringify(body));
  };
  /** DELETE: erasure. The entity's earlier events and snapshots stop being served at once. */
  const erase: Handler = async (ex, info, caller) => {
    const entityId = info.params[0]!;
    const tombstone = await store.eraseEntity(caller.tenantId, entityId);
    send(
      ex,
      OK,
      JSON.stringify({
        entity_id: entityId,
        erased: true,
        tombstone_event_id: tombstone.eventId,
        position: tombstone.position,
        version: tombstone.version,
        timestamp: formatTimestampUs(tombstone.timestampUs),
      }),
    );
  };
  return { state, snapshot, create, list, latest, erase };
}
