// /api/v1/backups: take a backup of the whole store while it serves, list backups, verify one.
// A backup covers every tenant; the routes need Admin (role admin only). Restore is
// offline (`allsource backup restore`): a running server never has its files replaced.
import {
  type BackupSummary,
  createBackup,
  listBackups,
  type Manifest,
  pruneBackups,
  removePartials,
  type Store,
  summarize,
  verifyBackup,
} from '../engine/index.js';
import type { ServerConfig } from './config.js';
import { HttpError } from './errors.js';
import { send } from './http/reply.js';
import type { Handler } from './http/request.js';

/** Files of the data directory that hold users, keys, tenants and the token secret. */
export const METADATA_FILES = ['auth/accounts.json', 'auth/tenants.json', 'auth/jwt.secret'];

export function backupJson(summary: BackupSummary) {
  return {
    id: summary.id,
    created_at: summary.createdAt,
    size_bytes: summary.bytes,
    raw_bytes: summary.rawBytes,
    files: summary.files,
    events: summary.events,
    tenants: summary.logs
      .filter((l) => l.log === 'events')
      .map((l) => ({ tenant_id: l.tenant, last_position: l.last_position, events: l.events })),
  };
}

export interface BackupCounters {
  completed: number;
  failed: number;
  lastSuccessUnixSec: number;
  lastDurationMs: number;
}

type BackupConfig = Pick<
  ServerConfig,
  'backupDir' | 'backupRetention' | 'backupGzipLevel' | 'backupVerifyAfter'
>;

export function backupRoutes(store: Store, config: BackupConfig) {
  let running = false;
  const counters: BackupCounters = {
    completed: 0,
    failed: 0,
    lastSuccessUnixSec: 0,
    lastDurationMs: 0,
  };

  async function takeBackup() {
    await removePartials(config.backupDir);
    const summary = await createBackup(store.captureForBackup(METADATA_FILES), {
      backupDir: config.backupDir,
      gzipLevel: config.backupGzipLevel,
    });
    if (config.backupVerifyAfter) {
      const report = await verifyBackup(config.backupDir, summary.id);
      if (!report.valid) {
        throw new HttpError(
          'BACKUP_CORRUPT',
          `backup ${summary.id} failed its check: ${report.problem}`,
        );
      }
    }
    const pruned = await pruneBackups(config.backupDir, config.backupRetention);
    return { summary, verified: config.backupVerifyAfter, pruned };
  }

  const create: Handler = async (ex) => {
    if (running) throw new HttpError('BACKUP_IN_PROGRESS', 'a backup is already running');
    running = true;
    try {
      const { summary, verified, pruned } = await takeBackup();
      ex.span?.setAttributes({
        'allsource.backup.id': summary.id,
        'allsource.backup.bytes': summary.bytes,
        'allsource.backup.raw_bytes': summary.rawBytes,
        'allsource.events': summary.events,
      });
      counters.completed++;
      counters.lastSuccessUnixSec = Math.floor(Date.now() / 1000);
      counters.lastDurationMs = summary.durationMs;
      send(
        ex,
        '201 Created',
        JSON.stringify({
          ...backupJson(summary),
          duration_ms: summary.durationMs,
          verified,
          pruned,
        }),
      );
    } catch (error) {
      counters.failed++;
      throw error;
    } finally {
      running = false;
    }
  };

  const list: Handler = async (ex) => {
    const { manifests, invalid } = await listBackups(config.backupDir);
    send(
      ex,
      '200 OK',
      JSON.stringify({
        backups: manifests.reverse().map((m: Manifest) => backupJson(summarize(m))),
        invalid,
      }),
    );
  };

  const verify: Handler = async (ex, info) => {
    const report = await verifyBackup(config.backupDir, info.params[0]!);
    send(
      ex,
      '200 OK',
      JSON.stringify({
        id: report.id,
        valid: report.valid,
        files: report.files,
        raw_bytes: report.rawBytes,
        events: report.events,
        ...(report.valid ? {} : { code: report.code, problem: report.problem }),
      }),
    );
  };

  return { create, list, verify, counters };
}
