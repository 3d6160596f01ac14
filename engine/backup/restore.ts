// Restoring a backup into a data directory, offline. Everything is unpacked into a staging
// directory beside the target and checked there: every block and file against the manifest, then
// the cut of a point-in-time restore and a full open of the cut store. Only then does the
// staging directory take the target's name with one rename. A failure at any step removes the
// staging directory, so the target never holds a half-restored store.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { StoreError } from '../errors.js';
import { LOCK_NAME, TENANTS_DIR } from '../format/names.js';
import {
  FileWriter,
  listDir,
  removeFile,
  removeTree,
  rename,
  syncDir,
  syncTree,
} from '../io/files.js';
import { createNodeIo } from '../io/io.js';
import { acquireLock, alive } from '../store/lock.js';
import { openStore } from '../store/store.js';
import { cutLog } from './cut.js';
import type { ManifestLog } from './manifest.js';
import { loadManifest, walkBackup } from './read.js';

export interface RestoreOptions {
  backupDir: string;
  id: string;
  dataDir: string;
  /** Replace a target that holds files. */
  force?: boolean;
  /** Point in time: keep each tenant's events up to this position (whole batches only). */
  toPosition?: number;
  /** Point in time: keep events committed at or before this time (µs since the epoch). */
  toTimeUs?: number;
  /**
   * Open the staged store and compare it with the manifest before the rename. Always done after
   * a point-in-time cut (its files were changed); optional otherwise, where every file is already
   * proven byte-identical to the capture by its SHA-256.
   */
  openCheck?: boolean;
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export interface RestoreResult {
  id: string;
  dataDir: string;
  files: number;
  rawBytes: number;
  /** Every tenant's events log as restored. */
  logs: Pick<ManifestLog, 'tenant' | 'last_position' | 'events'>[];
  /** True when a point-in-time cut dropped events. */
  cut: boolean;
  durationMs: number;
}

export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  const started = performance.now();
  const manifest = await loadManifest(options.backupDir, options.id);
  const target = path.resolve(options.dataDir);
  const existing = await listDir(target);
  if (existing.length > 0 && options.force !== true) {
    throw new StoreError(
      'TARGET_NOT_EMPTY',
      `${target} is not empty; restore into an empty directory or pass --force to replace it`,
      { dataDir: target },
    );
  }
  await removeStaleStages(target);
  const tag = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const stage = `${target}.restoring-${tag}`;
  let releaseTarget: (() => void) | null = null;
  try {
    // One file is open at a time; its writes are chained so that they land in order.
    let writing: Promise<FileWriter> | null = null;
    await walkBackup(options.backupDir, manifest, {
      begin(file) {
        writing = FileWriter.create(path.join(stage, file.path));
        writing.catch(() => {});
        return (chunk) => {
          writing = writing!.then(async (w) => {
            await w.write(chunk);
            return w;
          });
          writing.catch(() => {});
          return writing.then(() => {});
        };
      },
      async end() {
        const current = writing!;
        writing = null;
        await (await current).close(true);
      },
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    });
    const cut = await applyCut(stage, manifest.logs, options);
    await syncTree(stage);
    const logs =
      cut || options.openCheck === true
        ? await checkStaged(stage, manifest.logs, cut)
        : manifest.logs
            .filter((l) => l.log === 'events')
            .map((l) => ({ tenant: l.tenant, last_position: l.last_position, events: l.events }));
    if (existing.length > 0) {
      // A running server holds the target's lock; replacing its files under it would be ruin.
      releaseTarget = await acquireLock(createNodeIo(), target);
      const old = `${target}.replaced-${tag}`;
      await rename(target, old);
      releaseTarget = null;
      await rename(stage, target);
      await syncDir(path.dirname(target));
      await removeTree(old);
    } else {
      await rename(stage, target);
      await syncDir(path.dirname(target));
    }
    return {
      id: manifest.id,
      dataDir: target,
      files: manifest.totals.files,
      rawBytes: manifest.totals.raw_bytes,
      logs,
      cut,
      durationMs: Math.round(performance.now() - started),
    };
  } catch (error) {
    releaseTarget?.();
    await removeTree(stage);
    throw error;
  }
}

/**
 * A restore killed mid-way leaves its staging directory (and, with --force, the replaced
 * target) beside the target; the next restore into the same target removes those whose process
 * is gone.
 */
async function removeStaleStages(target: string): Promise<void> {
  const parent = path.dirname(target);
  const prefix = path.basename(target);
  const stale = new RegExp(
    `^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(restoring|replaced)-(\\d+)-[0-9a-f]{6}$`,
  );
  for (const name of await listDir(parent)) {
    const m = stale.exec(name);
    if (m !== null && !alive(Number(m[2]))) await removeTree(path.join(parent, name));
  }
}

/** Cuts every log of a point-in-time restore; true when anything was dropped. */
async function applyCut(
  stage: string,
  logs: readonly ManifestLog[],
  options: RestoreOptions,
): Promise<boolean> {
  const { toPosition, toTimeUs } = options;
  if (toPosition === undefined && toTimeUs === undefined) return false;
  for (const [name, value] of [
    ['toPosition', toPosition],
    ['toTimeUs', toTimeUs],
  ] as const) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
      throw new StoreError('VALIDATION_ERROR', `${name} must be a whole number >= 0`);
    }
  }
  let dropped = false;
  const logDir = (l: ManifestLog) => path.join(stage, TENANTS_DIR, l.tenant, l.log);
  for (const events of logs.filter((l) => l.log === 'events')) {
    const kept = await cutLog(
      logDir(events),
      toPosition ?? Number.MAX_SAFE_INTEGER,
      toTimeUs ?? Number.MAX_SAFE_INTEGER,
    );
    dropped ||= kept.dropped;
    // Snapshots taken after the last kept event describe state the restore no longer has.
    const snapshots = logs.find((l) => l.log === 'snapshots' && l.tenant === events.tenant);
    if (snapshots !== undefined) {
      const until =
        toTimeUs === undefined ? kept.lastTimestampUs : Math.min(toTimeUs, kept.lastTimestampUs);
      const cutSnapshots = await cutLog(logDir(snapshots), Number.MAX_SAFE_INTEGER, until);
      dropped = dropped || cutSnapshots.dropped;
    }
  }
  return dropped;
}

/** Opens the staged store and checks it holds exactly what the manifest (and cut) promise. */
async function checkStaged(
  stage: string,
  logs: readonly ManifestLog[],
  cut: boolean,
): Promise<RestoreResult['logs']> {
  const quiet = { warn: () => {}, info: () => {} };
  const store = await openStore({ dataDir: stage, logger: quiet });
  const restored: RestoreResult['logs'] = [];
  try {
    for (const log of logs.filter((l) => l.log === 'events')) {
      const stats = store.stats(log.tenant);
      restored.push({
        tenant: log.tenant,
        last_position: stats.lastPosition,
        events: stats.totalIngested,
      });
      const matches = cut
        ? stats.lastPosition <= log.last_position
        : stats.lastPosition === log.last_position && stats.totalIngested === log.events;
      if (!matches) {
        throw new StoreError(
          'BACKUP_CORRUPT',
          `tenant ${log.tenant} restored to position ${stats.lastPosition} with ${stats.totalIngested} events; the manifest says ${log.last_position} and ${log.events}`,
          { tenant: log.tenant },
        );
      }
    }
  } finally {
    await store.close();
  }
  await removeFile(path.join(stage, LOCK_NAME));
  return restored;
}
