// The store's public interface; store.ts implements it.
import type { BackupCapture } from '../backup/create.js';
import type { EventView } from '../format/event_view.js';
import type {
  AppendEvent,
  AppendResult,
  ReadQuery,
  ReadResult,
  SnapshotInfo,
  SnapshotInput,
  SubscriptionFilter,
  TenantStats,
} from '../types.js';
import type { CompactionRun, CompactionStats, RetentionPolicy } from './compactor.js';
import type { StoreConfig } from './config.js';
import type { Subscription } from './subscription.js';

export interface Store {
  readonly config: Readonly<StoreConfig>;
  /** Appends one atomic batch to a tenant's log; resolves once committed per the fsync policy. */
  append(tenantId: string, events: readonly AppendEvent[]): Promise<AppendResult[]>;
  read(tenantId: string, query: ReadQuery): ReadResult<EventView>;
  getEvent(tenantId: string, eventId: string): EventView | null;
  /**
   * Erases an entity (right to erasure): appends its tombstone, after which none of its earlier
   * events or snapshots is served, and the next compaction removes them from disk. NOT_FOUND
   * when the tenant has no such entity.
   */
  eraseEntity(tenantId: string, entityId: string): Promise<AppendResult>;
  entityVersion(tenantId: string, entityId: string): number;
  /** A cursor after `afterPosition`; creates the tenant's log when it has none yet. */
  subscribe(
    tenantId: string,
    filter: SubscriptionFilter,
    afterPosition: number,
  ): Promise<Subscription>;
  putSnapshot(tenantId: string, input: SnapshotInput): Promise<SnapshotInfo>;
  listSnapshots(tenantId: string, entityId: string): SnapshotInfo[];
  /** The newest snapshot of the entity covering at most `maxPosition`, with its state bytes. */
  latestSnapshot(
    tenantId: string,
    entityId: string,
    maxPosition?: number,
  ): { info: SnapshotInfo; state: Buffer } | null;
  stats(tenantId: string): TenantStats;
  tenantIds(): string[];
  /**
   * Deletes a tenant's logs and files. Appends already queued for it finish first; later ones
   * for the same id start a new, empty log.
   */
  deleteTenant(tenantId: string): Promise<void>;
  /**
   * Events of a tenant with a timestamp at or after `sinceUs`, and the timestamp of the oldest
   * of them (0 when none): a quota window read from the log itself, exact across restarts.
   */
  countSince(tenantId: string, sinceUs: number): { count: number; oldestUs: number };
  /**
   * Fixes what a backup copies, in one synchronous step: every log's files with their committed
   * lengths, and the named files of the data directory (missing ones are skipped).
   */
  captureForBackup(extraFiles: readonly string[]): BackupCapture;
  /** Runs a compaction pass over every tenant now, after any pass under way. */
  compact(): Promise<CompactionRun>;
  compactionStats(): CompactionStats;
  /** A tenant's retention of events; null returns it to the store's default. */
  setRetention(tenantId: string, policy: RetentionPolicy | null): void;
  /** Write-path counters summed over every log: group-commit rounds, writes, fsyncs, bytes. */
  counters(): StoreCounters;
  /** Makes every written byte durable now, whatever the policy. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface StoreCounters {
  rounds: number;
  writes: number;
  fsyncs: number;
  bytesWritten: number;
  fsyncMicrosTotal: number;
  /** Reads served (in part) from an entity run (engine/log/entity_runs.ts). */
  entityRunReads: number;
}
