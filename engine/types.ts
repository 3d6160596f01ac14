// The engine's public data types. Payload and metadata travel as JSON bytes: the engine stores
// and returns them verbatim, so the server never parses or re-serializes an event on a read.

export type FsyncPolicy = 'always' | 'interval' | 'never';

/** What an append needs for one event. */
export interface AppendEvent {
  /** Client-supplied id: the idempotency key. Generated (UUID v4) when absent. */
  id?: string | undefined;
  eventType: string;
  entityId: string;
  /** The payload as JSON text (the caller has validated it is JSON). */
  payload: Uint8Array;
  /** Metadata as JSON text, or null. */
  metadata?: Uint8Array | null | undefined;
  /** An integer (0 = entity must not exist yet) or 'any' (the default). */
  expectedVersion?: number | 'any' | undefined;
}

/** What an append returns for one event. */
export interface AppendResult {
  eventId: string;
  position: number;
  version: number;
  /** Microseconds since the Unix epoch. */
  timestampUs: number;
  /** True when the id was already stored: nothing was written, this is the original result. */
  duplicate: boolean;
}

/** A query over one tenant's log. Every bound is inclusive. */
export interface ReadQuery {
  entityId?: string | undefined;
  eventType?: string | undefined;
  eventTypePrefix?: string | undefined;
  /** Microseconds since the epoch; events at or after. */
  sinceUs?: number | undefined;
  /** Microseconds since the epoch; events at or before. */
  untilUs?: number | undefined;
  /** Cursor: only events with a greater position (asc) or a smaller one (desc). */
  afterPosition?: number | undefined;
  /** Only events at or below this position. */
  maxPosition?: number | undefined;
  order?: 'asc' | 'desc' | undefined;
  offset?: number | undefined;
  limit?: number | undefined;
}

export interface ReadResult<E> {
  events: E[];
  hasMore: boolean;
  /** The position to pass as afterPosition for the next page, or null when there is none. */
  nextPosition: number | null;
}

export interface SubscriptionFilter {
  entityId?: string | undefined;
  eventType?: string | undefined;
  eventTypePrefix?: string | undefined;
}

export interface TenantStats {
  totalEvents: number;
  totalEntities: number;
  totalEventTypes: number;
  /** Events accepted since the tenant's log was created (appends, not duplicates). */
  totalIngested: number;
  lastPosition: number;
  segments: number;
  storageBytes: number;
  /** Torn tails truncated by recovery since open. */
  recoveredTruncations: number;
}

export interface SnapshotInput {
  entityId: string;
  /** The state as JSON text. */
  state: Uint8Array;
  /** The entity's last position the state covers. */
  asOfPosition: number;
  eventCount: number;
  snapshotType: 'manual' | 'automatic';
}

export interface SnapshotInfo {
  id: string;
  entityId: string;
  createdAtUs: number;
  asOfPosition: number;
  eventCount: number;
  sizeBytes: number;
  snapshotType: 'manual' | 'automatic';
}
