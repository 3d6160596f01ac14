// Taking a backup while ingestion goes on. The store captures, in one synchronous step, every
// log's files and committed lengths (store/capture.ts); this module streams those bytes into a
// tar archive of gzip blocks, hashing every file on the way, and writes the manifest last. The
// backup is assembled under `<id>.partial` and renamed into place only once complete and
// durable, so a listing never shows a half-written backup.
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { StoreError } from '../errors.js';
import {
  FileWriter,
  fileSize,
  makeDir,
  readChunks,
  removeTree,
  rename,
  syncDir,
} from '../io/files.js';
import { limits } from '../limits.js';
import { encodeFrozenCheckpoint } from '../log/checkpoint_file.js';
import type { CapturedFile, CapturedLog } from '../store/capture.js';
import { BlockWriter } from './blocks.js';
import {
  ARCHIVE_NAME,
  MANIFEST_FORMAT,
  MANIFEST_NAME,
  MANIFEST_VERSION,
  type Manifest,
  type ManifestFile,
  sealManifest,
} from './manifest.js';
import { TAR_END, tarHeader, tarPadding } from './tar.js';

export interface BackupCapture {
  logs: CapturedLog[];
  /** Files beside the logs (the server's users, keys and tenants), read at capture time. */
  extra: CapturedFile[];
  /** Lets compaction change the captured files again; called once the copy is done. */
  release?: () => void;
}

export interface CreateBackupOptions {
  backupDir: string;
  gzipLevel?: number;
  /** Called as raw bytes are archived. */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export interface BackupSummary {
  id: string;
  createdAt: string;
  /** Size of the archive on disk (compressed). */
  bytes: number;
  rawBytes: number;
  files: number;
  events: number;
  logs: Manifest['logs'];
  durationMs: number;
}

export const PARTIAL_SUFFIX = '.partial';

/** A new backup id: UTC time to the millisecond, then random bits; ids sort by time. */
export function newBackupId(now = new Date()): string {
  const iso = now.toISOString(); // 2026-11-27T13:45:01.123Z
  const stamp = `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}-${iso.slice(20, 23)}`;
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export function summarize(manifest: Manifest, durationMs = 0): BackupSummary {
  return {
    id: manifest.id,
    createdAt: manifest.created_at,
    bytes: manifest.archive.bytes,
    rawBytes: manifest.totals.raw_bytes,
    files: manifest.totals.files,
    events: manifest.totals.events,
    logs: manifest.logs,
    durationMs,
  };
}

export async function createBackup(
  capture: BackupCapture,
  options: CreateBackupOptions,
): Promise<BackupSummary> {
  try {
    return await writeBackup(capture, options);
  } finally {
    capture.release?.();
  }
}

async function writeBackup(
  capture: BackupCapture,
  options: CreateBackupOptions,
): Promise<BackupSummary> {
  const started = performance.now();
  const level = options.gzipLevel ?? limits.backupGzipLevelDefault;
  const now = new Date();
  const id = newBackupId(now);
  const finalDir = path.join(options.backupDir, id);
  const workDir = `${finalDir}${PARTIAL_SUFFIX}`;
  const files: CapturedFile[] = [...capture.logs.flatMap((l) => l.files), ...capture.extra];
  // Entity checkpoints are encoded from the totals frozen at capture, a piece per event-loop
  // turn, each view released once read.
  for (const file of files) {
    if (file.totals === undefined) continue;
    file.pieces = await encodeFrozenCheckpoint(file.totals);
    file.bytes = file.pieces.reduce((sum, piece) => sum + piece.length, 0);
  }
  // Index files are immutable once written; their size is read now.
  for (const file of files) {
    if (file.bytes >= 0) continue;
    const size = await fileSize(file.source!);
    if (size === null) throw gone(file);
    file.bytes = size;
  }
  const totalBytes = files.reduce((sum, f) => sum + f.bytes, 0);
  await makeDir(workDir);
  try {
    const out = await FileWriter.create(path.join(workDir, ARCHIVE_NAME));
    const blocks = new BlockWriter(
      out,
      level,
      limits.backupBlockBytes,
      limits.backupBlocksInFlight,
    );
    const listed: ManifestFile[] = [];
    let done = 0;
    const mtime = Math.floor(now.getTime() / 1000);
    let archiveSha: string;
    try {
      for (const file of files) {
        const hash = createHash('sha256');
        await blocks.write(tarHeader(file.path, file.bytes, mtime));
        const chunks =
          file.pieces ??
          (file.data !== null
            ? [file.data]
            : readChunks(file.source!, file.bytes, limits.backupReadChunkBytes));
        try {
          for await (const chunk of chunks) {
            hash.update(chunk);
            await blocks.write(chunk);
            done += chunk.length;
            options.onProgress?.(done, totalBytes);
          }
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw gone(file);
          throw error;
        }
        await blocks.write(Buffer.alloc(tarPadding(file.bytes)));
        listed.push({ path: file.path, bytes: file.bytes, sha256: hash.digest('hex') });
      }
      await blocks.write(TAR_END);
      archiveSha = await blocks.finish();
    } finally {
      await out.close(true);
    }
    const manifest: Omit<Manifest, 'checksum'> = {
      format: MANIFEST_FORMAT,
      version: MANIFEST_VERSION,
      id,
      created_at: now.toISOString(),
      created_at_us: now.getTime() * 1000,
      compression: { algorithm: 'gzip', level, block_bytes: limits.backupBlockBytes },
      archive: { file: ARCHIVE_NAME, bytes: out.bytes, sha256: archiveSha, blocks: blocks.blocks },
      logs: capture.logs.map((l) => ({
        tenant: l.tenant,
        log: l.log,
        last_position: l.lastPosition,
        events: l.events,
      })),
      totals: {
        files: listed.length,
        raw_bytes: totalBytes,
        events: capture.logs.reduce((sum, l) => sum + (l.log === 'events' ? l.events : 0), 0),
      },
      files: listed,
    };
    const text = sealManifest(manifest);
    const writer = await FileWriter.create(path.join(workDir, MANIFEST_NAME));
    await writer.write(Buffer.from(text));
    await writer.close(true);
    await syncDir(workDir);
    await rename(workDir, finalDir);
    await syncDir(options.backupDir);
    return summarize({ ...manifest, checksum: '' }, Math.round(performance.now() - started));
  } catch (error) {
    await removeTree(workDir);
    throw error;
  }
}

function gone(file: CapturedFile): StoreError {
  return new StoreError(
    'NOT_FOUND',
    `${file.path} was removed while the backup ran (tenant deleted?); run the backup again`,
    { path: file.path },
  );
}
