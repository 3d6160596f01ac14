// The store: a data directory holding one log per tenant (and one snapshot log per tenant), and
// the group commit that serves them all. Every round takes the appends that arrived since the
// last one, for every tenant at once, writes each tenant's bytes with one call, and syncs the
// touched files concurrently: one fsync per touched tenant per round, never one per append.
import path from 'node:path';
import { StoreError } from '../errors.js';
import { initChecksum } from '../format/checksum.js';
import type { EventView } from '../format/event_view.js';
import { ERASE_EVENT_TYPE, isValidTenantId, SNAPSHOTS_DIR, TENANTS_DIR } from '../format/names.js';
import { createNodeIo } from '../io/io.js';
import { createReadCache, type ReadCache } from '../log/cache.js';
import { Log, type LogConfig } from '../log/log.js';
import type { Logger } from '../log/open.js';
import { encodedBytes } from '../log/round.js';
import { createSealer } from '../log/sealer.js';
import { isErased } from '../log/state.js';
import type { AppendEvent, AppendResult, ReadQuery, ReadResult } from '../types.js';
import { captureStore, releaseTotals } from './capture.js';
import { createCommitScheduler } from './commit_scheduler.js';
import {
  type CompactionRun,
  type CompactionStats,
  createCompactor,
  type RetentionPolicy,
} from './compactor.js';
import { resolveConfig, type StoreConfig, type StoreOptions } from './config.js';
import { acquireLock } from './lock.js';
import { countSince, readLog } from './read.js';
import { latestSnapshot, listSnapshots, snapshotMetadata } from './snapshots.js';
import type { Store, StoreCounters } from './store_api.js';
import { createSubscription } from './subscription.js';
import { checkAppend, checkEntityId } from './validate.js';

export type {
  CompactionRun,
  CompactionStats,
  RetentionPolicy,
  Store,
  StoreConfig,
  StoreCounters,
  StoreOptions,
};

const ERASE_PAYLOAD = Buffer.from('{"erased":true}');

const stderrLogger: Logger = {
  warn: (message, fields) =>
    process.stderr.write(`${JSON.stringify({ level: 'warn', message, ...fields })}\n`),
  info: () => {},
};

interface Tenant {
  events: Log;
  snapshots: Log;
}

export async function openStore(options: StoreOptions): Promise<Store> {
  await initChecksum();
  const config = resolveConfig(options);
  const io = options.io ?? createNodeIo();
  const logger = options.logger ?? stderrLogger;
  const cache: ReadCache = createReadCache(config.cacheBytes);
  const sealer = createSealer();
  const logConfig: LogConfig = {
    sealer,
    io,
    cache,
    logger,
    fsync: config.fsync,
    segmentBytesMax: config.segmentBytesMax,
    preallocateBytes: config.preallocateBytes,
    entityRuns: config.entityRuns,
    idempotencyWindowEvents: config.idempotencyWindowEvents,
    observeFsync: options.observeFsync,
  };
  const tenantsDir = path.join(config.dataDir, TENANTS_DIR);
  io.mkdirp(tenantsDir);
  const releaseLock = await acquireLock(io, config.dataDir);

  const tenants = new Map<string, Tenant>();
  const unavailable = new Map<string, StoreError>();
  const opening = new Map<string, Promise<Tenant>>();
  let closing = false;

  async function openTenant(id: string): Promise<Tenant> {
    const dir = path.join(tenantsDir, id);
    const events = await Log.open(logConfig, path.join(dir, 'events'));
    const snapshots = await Log.open(logConfig, path.join(dir, SNAPSHOTS_DIR));
    const tenant = { events, snapshots };
    tenants.set(id, tenant);
    return tenant;
  }

  try {
    for (const id of io.readdir(tenantsDir)) {
      if (!isValidTenantId(id)) continue;
      try {
        await openTenant(id);
      } catch (error) {
        const cause = error instanceof Error ? error.message : String(error);
        logger.warn('tenant log unavailable', { tenant: id, cause });
        unavailable.set(
          id,
          new StoreError('LOG_UNAVAILABLE', `tenant ${id} is unavailable: ${cause}`, {
            tenant: id,
            cause: error instanceof StoreError ? error.details : {},
          }),
        );
      }
    }
  } catch (error) {
    releaseLock();
    throw error;
  }

  function checkTenantId(id: string): void {
    if (!isValidTenantId(id)) {
      throw new StoreError('INVALID_TENANT_ID', 'tenant ids are 1-64 of [A-Za-z0-9_-]', {
        tenant: id,
      });
    }
    const failed = unavailable.get(id);
    if (failed !== undefined) throw failed;
  }

  /** The tenant's logs for reading; null when the tenant has never been written. */
  function existing(id: string): Tenant | null {
    if (closing) throw new StoreError('STORE_CLOSED', 'the store is closed');
    const open = tenants.get(id);
    if (open !== undefined) return open;
    checkTenantId(id);
    return null;
  }

  function tenantForWrite(id: string): Tenant | Promise<Tenant> {
    const found = existing(id);
    if (found !== null) return found;
    let pending = opening.get(id);
    if (pending === undefined) {
      pending = openTenant(id).finally(() => opening.delete(id));
      opening.set(id, pending);
    }
    return pending;
  }

  const scheduler = createCommitScheduler();

  /** Backups copying files right now: compaction waits for them to finish. */
  let fileHolds = 0;

  /** Appends between their first check and their place in a queue; close waits for them. */
  let entering = 0;

  function admit<T>(tenantId: string, work: (tenant: Tenant) => Promise<T>): Promise<T> {
    if (closing) return Promise.reject(new StoreError('STORE_CLOSED', 'the store is closed'));
    // The common case, a tenant already open, takes no asynchronous step before its queue.
    const open = tenants.get(tenantId);
    if (open !== undefined) {
      try {
        return work(open);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    entering++;
    return (async () => {
      try {
        return await work(await tenantForWrite(tenantId));
      } finally {
        entering--;
      }
    })();
  }

  function enqueue(
    log: Log,
    events: readonly AppendEvent[],
    system = false,
  ): Promise<AppendResult[]> {
    const checked = checkAppend(events, config, system);
    const bytes = encodedBytes(checked);
    return new Promise((resolve, reject) => {
      log.queue.push({ events: checked, bytes, resolve, reject });
      scheduler.touch(log);
    });
  }

  let syncTimer: NodeJS.Timeout | null = null;
  async function syncAll(): Promise<void> {
    const logs: Log[] = [];
    for (const t of tenants.values()) logs.push(t.events, t.snapshots);
    await Promise.all(logs.map((log) => log.sync()));
  }
  if (config.fsync === 'interval') {
    syncTimer = setInterval(() => {
      syncAll().catch((error) => logger.warn('interval fsync failed', { cause: String(error) }));
    }, config.fsyncIntervalMs);
    syncTimer.unref();
  }

  const read = (log: Log, query: ReadQuery) => readLog(log, query, logConfig);
  const compactor = createCompactor({
    logs: () => [...tenants.entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
    context: {
      io,
      cache,
      logger,
      segmentBytesMax: config.segmentBytesMax,
      bytesPerSec: config.compactionBytesPerSec,
      mayChangeFiles: () => !closing && fileHolds === 0,
      ...(options.compactionStep === undefined ? {} : { step: options.compactionStep }),
    },
    retention: config.retention,
    intervalMs: config.compactionIntervalMs,
    onPass: options.onCompactionPass,
  });
  const emptyRead: ReadResult<EventView> = { events: [], hasMore: false, nextPosition: null };

  const store: Store = {
    config,
    append(tenantId, events) {
      return admit(tenantId, (tenant) => enqueue(tenant.events, events));
    },
    read(tenantId, query) {
      const tenant = existing(tenantId);
      return tenant === null ? { ...emptyRead, events: [] } : read(tenant.events, query);
    },
    getEvent(tenantId, eventId) {
      const tenant = existing(tenantId);
      const found = tenant === null ? null : tenant.events.findById(eventId);
      if (found === null || isErased(tenant!.events.totals, found.entityId, found.position)) {
        return null;
      }
      return found;
    },
    async eraseEntity(tenantId, entityId) {
      checkEntityId(entityId);
      const tenant = existing(tenantId);
      if (tenant === null || !tenant.events.totals.entities.has(entityId)) {
        throw new StoreError('NOT_FOUND', `no entity ${entityId}`, { entityId });
      }
      const tombstone = [{ eventType: ERASE_EVENT_TYPE, entityId, payload: ERASE_PAYLOAD }];
      const [result] = await admit(tenantId, (t) => enqueue(t.events, tombstone, true));
      if (tenant.snapshots.totals.entities.has(entityId)) {
        await admit(tenantId, (t) => enqueue(t.snapshots, tombstone, true));
      }
      return result!;
    },
    entityVersion(tenantId, entityId) {
      return existing(tenantId)?.events.entityVersion(entityId) ?? 0;
    },
    async subscribe(tenantId, filter, afterPosition) {
      const tenant = await tenantForWrite(tenantId);
      return createSubscription(tenant.events, read, filter, afterPosition);
    },
    async putSnapshot(tenantId, input) {
      checkEntityId(input.entityId);
      const [result] = await admit(tenantId, (tenant) =>
        enqueue(tenant.snapshots, [
          {
            eventType: `snapshot.${input.snapshotType}`,
            entityId: input.entityId,
            payload: input.state,
            metadata: snapshotMetadata(input.asOfPosition, input.eventCount),
          },
        ]),
      );
      return {
        id: result!.eventId,
        entityId: input.entityId,
        createdAtUs: result!.timestampUs,
        asOfPosition: input.asOfPosition,
        eventCount: input.eventCount,
        sizeBytes: input.state.byteLength,
        snapshotType: input.snapshotType,
      };
    },
    listSnapshots(tenantId, entityId) {
      const tenant = existing(tenantId);
      return tenant === null ? [] : listSnapshots((q) => read(tenant.snapshots, q), entityId);
    },
    latestSnapshot(tenantId, entityId, maxPosition = Number.MAX_SAFE_INTEGER) {
      const tenant = existing(tenantId);
      return tenant === null
        ? null
        : latestSnapshot((q) => read(tenant.snapshots, q), entityId, maxPosition);
    },
    stats(tenantId) {
      const log = existing(tenantId)?.events;
      return {
        totalEvents: log?.totals.totalIngested ?? 0,
        totalEntities: log?.totals.entities.size ?? 0,
        totalEventTypes: log?.totals.types.size ?? 0,
        totalIngested: log?.totals.totalIngested ?? 0,
        lastPosition: log?.lastPosition ?? 0,
        segments: log?.segments.length ?? 0,
        storageBytes: log?.storageBytes ?? 0,
        recoveredTruncations: log?.truncations ?? 0,
      };
    },
    tenantIds() {
      return [...tenants.keys()].sort();
    },
    countSince(tenantId, sinceUs) {
      const log = existing(tenantId)?.events;
      return log === undefined ? { count: 0, oldestUs: 0 } : countSince(log, sinceUs, logConfig);
    },
    async deleteTenant(tenantId) {
      checkTenantId(tenantId);
      await opening.get(tenantId);
      const tenant = tenants.get(tenantId);
      if (tenant !== undefined) {
        while (!scheduler.idle) await scheduler.drain();
        tenants.delete(tenantId);
        await tenant.events.close();
        await tenant.snapshots.close();
      }
      unavailable.delete(tenantId);
      io.removeTree(path.join(tenantsDir, tenantId));
      io.fsyncDir(tenantsDir);
    },
    captureForBackup(extraFiles) {
      if (closing) throw new StoreError('STORE_CLOSED', 'the store is closed');
      for (const [id, error] of unavailable) {
        throw new StoreError('LOG_UNAVAILABLE', `cannot back up: tenant ${id} is unavailable`, {
          tenant: id,
          cause: error.message,
        });
      }
      const captured = captureStore(tenants, config.dataDir, io, extraFiles);
      // Compaction leaves the captured files alone until the backup releases them.
      fileHolds++;
      let held = true;
      const release = () => {
        releaseTotals(captured.logs);
        if (held) fileHolds--;
        held = false;
      };
      return { ...captured, release };
    },
    compact: () => compactor.run(),
    compactionStats: () => compactor.stats(),
    setRetention(tenantId, policy) {
      checkTenantId(tenantId);
      compactor.setRetention(tenantId, policy);
    },
    counters() {
      const sum: StoreCounters = {
        rounds: scheduler.rounds,
        writes: 0,
        fsyncs: 0,
        bytesWritten: 0,
        fsyncMicrosTotal: 0,
        entityRunReads: 0,
      };
      for (const t of tenants.values()) {
        for (const log of [t.events, t.snapshots]) {
          sum.writes += log.counters.writes;
          sum.fsyncs += log.counters.fsyncs;
          sum.bytesWritten += log.counters.bytesWritten;
          sum.fsyncMicrosTotal += log.counters.fsyncMicrosTotal;
          sum.entityRunReads += log.counters.entityRunReads;
        }
      }
      return sum;
    },
    sync: syncAll,
    async close() {
      if (closing) return;
      closing = true;
      if (syncTimer !== null) clearInterval(syncTimer);
      await compactor.close();
      // Let appends already under way finish: their callers were promised an answer.
      while (entering > 0 || !scheduler.idle) await scheduler.drain();
      for (const tenant of tenants.values()) {
        await tenant.events.close();
        await tenant.snapshots.close();
      }
      await sealer.close();
      releaseLock();
    },
  };
  return store;
}
