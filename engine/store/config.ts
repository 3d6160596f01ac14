// Store options: defaults from limits.ts, and checks that every value is in range.

import path from 'node:path';
import { StoreError } from '../errors.js';
import type { Io } from '../io/io.js';
import { limits } from '../limits.js';
import type { Logger } from '../log/open.js';
import type { FsyncPolicy } from '../types.js';
import { type CompactionRun, checkRetention, type RetentionPolicy } from './compactor.js';
import type { ValidationLimits } from './validate.js';

export interface StoreOptions {
  dataDir: string;
  fsync?: FsyncPolicy;
  fsyncIntervalMs?: number;
  segmentBytesMax?: number;
  cacheBytes?: number;
  /**
   * Under fsync = always, the most bytes the active segment is zeroed ahead of its appends
   * (log/preallocate.ts); 0 turns it off. Capped at a quarter of segmentBytesMax.
   */
  preallocateBytes?: number;
  /** Keep whole entity histories in the read cache for repeated reads (default true). */
  entityRuns?: boolean;
  /**
   * A client id is recognised as a retry when the event it repeats is among the tenant's last
   * this many events (default limits.idempotencyWindowEventsDefault).
   */
  idempotencyWindowEvents?: number;
  payloadBytesMax?: number;
  metadataBytesMax?: number;
  batchEventsMax?: number;
  /** The store's default retention of events; tenants may override it. Default: keep all. */
  retention?: RetentionPolicy;
  /** Milliseconds between background compaction passes; 0 runs them only on demand. */
  compactionIntervalMs?: number;
  /** Bytes per second a compaction rewrite may read (0: no limit). */
  compactionBytesPerSec?: number;
  io?: Io;
  logger?: Logger;
  /** Called after every compaction pass, scheduled or asked for (for traces and logs). */
  onCompactionPass?: (run: CompactionRun, startedAtMs: number) => void;
  /** Called with the duration of every fdatasync of the write path (for a latency histogram). */
  observeFsync?: (seconds: number) => void;
  /** Test hook: called at each step of a compaction swap. */
  compactionStep?: (name: 'rewritten' | 'decided' | 'renamed' | 'removed') => void;
}

export interface StoreConfig extends ValidationLimits {
  dataDir: string;
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  segmentBytesMax: number;
  cacheBytes: number;
  /** Effective: 0 unless fsync = always. */
  preallocateBytes: number;
  entityRuns: boolean;
  idempotencyWindowEvents: number;
  retention: RetentionPolicy;
  compactionIntervalMs: number;
  compactionBytesPerSec: number;
}

export function resolveConfig(options: StoreOptions): StoreConfig {
  const config: StoreConfig = {
    dataDir: path.resolve(options.dataDir),
    fsync: options.fsync ?? 'always',
    fsyncIntervalMs: options.fsyncIntervalMs ?? limits.fsyncIntervalMsDefault,
    segmentBytesMax: options.segmentBytesMax ?? limits.segmentBytesMaxDefault,
    cacheBytes: options.cacheBytes ?? limits.cacheBytesDefault,
    preallocateBytes: options.preallocateBytes ?? limits.preallocateBytesDefault,
    entityRuns: options.entityRuns ?? true,
    idempotencyWindowEvents:
      options.idempotencyWindowEvents ?? limits.idempotencyWindowEventsDefault,
    payloadBytesMax: options.payloadBytesMax ?? limits.payloadBytesMaxDefault,
    metadataBytesMax: options.metadataBytesMax ?? limits.metadataBytesMaxDefault,
    batchEventsMax: options.batchEventsMax ?? limits.batchEventsMaxDefault,
    retention: options.retention ?? { maxAgeMs: 0, maxBytes: 0 },
    compactionIntervalMs: options.compactionIntervalMs ?? limits.compactionIntervalMsDefault,
    compactionBytesPerSec: options.compactionBytesPerSec ?? limits.compactionBytesPerSecDefault,
  };
  const bad = (message: string): never => {
    throw new StoreError('VALIDATION_ERROR', `store option ${message}`);
  };
  if (!['always', 'interval', 'never'].includes(config.fsync))
    bad('fsync must be always|interval|never');
  if (!(config.fsyncIntervalMs >= 1)) bad('fsyncIntervalMs must be >= 1');
  if (
    !(
      config.segmentBytesMax >= limits.segmentBytesMin &&
      config.segmentBytesMax <= limits.segmentBytesMaxCeiling
    )
  ) {
    bad(`segmentBytesMax must be ${limits.segmentBytesMin}..${limits.segmentBytesMaxCeiling}`);
  }
  if (!(config.payloadBytesMax >= 1 && config.payloadBytesMax <= limits.payloadBytesMaxCeiling)) {
    bad(`payloadBytesMax must be 1..${limits.payloadBytesMaxCeiling}`);
  }
  if (!(config.batchEventsMax >= 1 && config.batchEventsMax <= limits.batchEventsMaxCeiling)) {
    bad(`batchEventsMax must be 1..${limits.batchEventsMaxCeiling}`);
  }
  if (!(config.cacheBytes >= limits.chunkBytes)) bad(`cacheBytes must be >= ${limits.chunkBytes}`);
  if (!(Number.isSafeInteger(config.compactionIntervalMs) && config.compactionIntervalMs >= 0)) {
    bad('compactionIntervalMs must be a whole number >= 0');
  }
  if (!(Number.isSafeInteger(config.compactionBytesPerSec) && config.compactionBytesPerSec >= 0)) {
    bad('compactionBytesPerSec must be a whole number >= 0');
  }
  if (
    !(Number.isSafeInteger(config.idempotencyWindowEvents) && config.idempotencyWindowEvents >= 1)
  ) {
    bad('idempotencyWindowEvents must be a whole number >= 1');
  }
  if (!(Number.isSafeInteger(config.preallocateBytes) && config.preallocateBytes >= 0)) {
    bad('preallocateBytes must be a whole number >= 0');
  }
  // Zeros ahead only shorten fdatasyncs, which only fsync = always has on its write path.
  config.preallocateBytes =
    config.fsync === 'always'
      ? Math.min(config.preallocateBytes, Math.floor(config.segmentBytesMax / 4))
      : 0;
  config.retention = checkRetention(config.retention);
  return config;
}
