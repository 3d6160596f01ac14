// Every limit of the engine lives here, so that docs, config and tests read one table.
// Relations between limits are asserted at the bottom of this file, at load.

const KiB = 1024;
const MiB = 1024 * KiB;

export const limits = {
  /** Tenant ids: 1-64 of [A-Za-z0-9_-], so that no id can name a path outside the data dir. */
  tenantIdBytesMax: 64,
  /** event_type: lower-case letters, digits, '.', '_'. Stored in a u8 length field. */
  eventTypeBytesMax: 128,
  /** entity_id: any UTF-8 without control characters. Stored in a u8 length field. */
  entityIdBytesMax: 128,
  /** Client-supplied event id (the idempotency key). Stored in a u8 length field. */
  eventIdBytesMax: 128,
  /** Default ceiling of one event's payload JSON. Configurable per store. */
  payloadBytesMaxDefault: 1 * MiB,
  /** Ceiling of one event's metadata JSON. */
  metadataBytesMaxDefault: 64 * KiB,
  /** Hard ceiling of payloadBytesMax a store can be configured with (u32 length fields). */
  payloadBytesMaxCeiling: 64 * MiB,
  /** Events in one atomic batch. The record keeps the count of followers in a u16. */
  batchEventsMaxDefault: 10_000,
  batchEventsMaxCeiling: 65_535,
  /** Segments roll when the next round would pass this size. */
  segmentBytesMaxDefault: 128 * MiB,
  /** Small enough for tests that roll every few records; anything smaller is a mistake. */
  segmentBytesMin: 1 * KiB,
  /** File offsets inside a segment are u32 in the index, so a segment (plus one round) stays below 4 GiB. */
  segmentBytesMaxCeiling: 1024 * MiB,
  /** The read cache (record chunks and sealed segment indexes), shared by all tenants. */
  cacheBytesDefault: 256 * MiB,
  /** Reads are cached in record-aligned chunks that start in each span of this many bytes. */
  chunkBytes: 64 * KiB,
  /**
   * A read that returns all of an entity's events keeps them as one run in the read cache
   * (engine/log/entity_runs.ts) when there are at least this many...
   */
  entityRunEventsMin: 16,
  /** ...and they take at most this many bytes. */
  entityRunBytesMax: 1 * MiB,
  /** Fewer events than this appended past a run are read from the segments, not re-copied. */
  entityRunRefreshEvents: 8,
  /** Events one read may return. */
  readLimitDefault: 1000,
  readLimitMax: 10_000,
  /** Events a subscription hands over per pull. */
  subscriptionBatchMax: 1000,
  /**
   * Rounds a log may have in flight: the next is written while the previous waits for its
   * fsync. Under wrk on 2 cores, depth 2 beat depth 1 by 6-13% (BENCHMARKS.md).
   */
  pipelineDepth: 2,
  /**
   * A round takes queued appends up to this many bytes of records (at least one append); the
   * rest wait for the next round, which is encoded while this one is written (log.ts).
   */
  roundBytesMax: 1 * MiB,
  /**
   * An append's client id is recognised as a retry when the event it repeats is among the
   * log's last this many events (or in flight). Checking further back would cost a search of
   * every segment per new id. Configurable: StoreOptions.idempotencyWindowEvents.
   */
  idempotencyWindowEventsDefault: 1_000_000,
  /** Rounds are encoded into reused slabs, powers of two from this size... */
  roundSlabMinBytes: 1 * MiB,
  /** ...of which the process keeps at most this many bytes idle between rounds. */
  roundSlabsIdleBytes: 32 * MiB,
  /**
   * Active segment indexes take their per-record arrays (24 bytes a record) from a free list;
   * the process keeps at most this many bytes of them idle (engine/log/index_arrays.ts).
   */
  indexArraysIdleBytes: 64 * MiB,
  /**
   * Writes up to this size are made with a synchronous write(2) on the event loop, larger ones
   * on the thread pool (engine/io/io.ts). A write into the page cache of this size takes tens
   * of microseconds, less than the trip to the pool; it can block longer only when the kernel
   * throttles a process with too many dirty pages.
   */
  syncWriteBytesMax: 64 * KiB,
  /**
   * Under fsync = always the active segment is zeroed ahead of its appends (log/preallocate.ts),
   * once it holds preallocateAfterBytes, in extensions that double from the min to the store's
   * preallocateBytes (default below, at most a quarter of a segment), written in pieces of
   * preallocateWriteBytes.
   */
  preallocateBytesDefault: 4 * MiB,
  preallocateBytesMin: 64 * KiB,
  /** Zeroing starts once the active segment holds this much (capped at preallocateBytes). */
  preallocateAfterBytes: 256 * KiB,
  /** ...and only while its writes average at most this many bytes (rounds of single events). */
  preallocateWriteBytesAverageMax: 64 * KiB,
  preallocateWriteBytes: 1 * MiB,
  /** fsync = interval: milliseconds between syncs. */
  fsyncIntervalMsDefault: 100,
  /** Snapshot state JSON ceiling. */
  snapshotBytesMax: 16 * MiB,
  /** Background compaction passes run this often by default (0 would mean on demand only). */
  compactionIntervalMsDefault: 10 * 60 * 1000,
  /**
   * Default read rate of a compaction rewrite. Unthrottled, a rewrite takes a whole core and
   * the disk; on 2 cores appenders' p99 during a pass was 0.80-0.89x of a quiet run at 16 MiB/s,
   * 0.71-0.82x at 8 MiB/s in five later runs, and 0.99-1.67x at 4 MiB/s in three (BENCHMARKS.md).
   */
  compactionBytesPerSecDefault: 4 * MiB,
  /** Compaction writes its output in pieces of this size... */
  compactionWriteBytes: 256 * KiB,
  /** ...and fdatasyncs it every this many bytes, so that no big flush stalls appenders' fsyncs. */
  compactionSyncBytes: 4 * MiB,
  /** Raw bytes per gzip member of a backup archive: the unit of parallel work and of damage. */
  backupBlockBytes: 1 * MiB,
  /** Backup blocks compressed or inflated at once (the thread pool has four threads). */
  backupBlocksInFlight: 4,
  /** Bytes read from a data file per step of a backup. */
  backupReadChunkBytes: 1 * MiB,
  /** Default gzip level of backups; 1 is fastest, 9 smallest. */
  backupGzipLevelDefault: 6,
} as const;

export type Limits = typeof limits;

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(`engine limits: ${message}`);
}

check(limits.eventTypeBytesMax <= 255, 'event type length must fit a u8');
check(limits.entityIdBytesMax <= 255, 'entity id length must fit a u8');
check(limits.eventIdBytesMax <= 255, 'event id length must fit a u8');
check(limits.batchEventsMaxDefault <= limits.batchEventsMaxCeiling, 'batch default over ceiling');
check(limits.batchEventsMaxCeiling <= 0xffff, 'batch followers must fit a u16');
check(
  limits.segmentBytesMaxDefault <= limits.segmentBytesMaxCeiling,
  'segment default over ceiling',
);
check(
  limits.segmentBytesMaxCeiling + limits.batchEventsMaxCeiling * limits.payloadBytesMaxCeiling <
    2 ** 53,
  'offsets must stay exact numbers',
);
check(limits.readLimitDefault <= limits.readLimitMax, 'read limit default over max');
check(limits.chunkBytes >= 4 * KiB, 'chunks smaller than a page waste reads');
