// Reading a backup back: the manifest first (is it ours, unedited), then the archive block by
// block (each checked before it is inflated), then the tar entries, each of which must be the
// manifest's next file with its size and SHA-256. Verify and restore share this walk; restore
// also writes what it reads. The first mismatch stops the walk with a message naming it.
import { createHash, type Hash } from 'node:crypto';
import path from 'node:path';
import { StoreError } from '../errors.js';
import { listDir, readText } from '../io/files.js';
import { limits } from '../limits.js';
import { readBlocks } from './blocks.js';
import { MANIFEST_NAME, type Manifest, type ManifestFile, parseManifest } from './manifest.js';
import { TarReader } from './tar.js';

export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** The manifest of backup `id` in `backupDir`, checked; NOT_FOUND or BACKUP_INVALID otherwise. */
export async function loadManifest(backupDir: string, id: string): Promise<Manifest> {
  if (!ID_PATTERN.test(id)) {
    throw new StoreError('NOT_FOUND', `no backup ${JSON.stringify(id)}`, { id });
  }
  const file = path.join(backupDir, id, MANIFEST_NAME);
  const text = await readText(file);
  if (text === null) {
    const dirExists = (await listDir(backupDir)).includes(id);
    if (dirExists) throw new StoreError('BACKUP_INVALID', `backup ${id} has no ${MANIFEST_NAME}`);
    throw new StoreError('NOT_FOUND', `no backup ${id} in ${backupDir}`, { id });
  }
  const manifest = parseManifest(text, `${id}/${MANIFEST_NAME}`);
  if (manifest.id !== id) {
    throw new StoreError('BACKUP_INVALID', `backup ${id} holds the manifest of ${manifest.id}`);
  }
  return manifest;
}

export interface WalkHandlers {
  /** A file begins; returns a function that takes its bytes (or null to only check them). */
  begin?(file: ManifestFile): ((chunk: Buffer) => void | Promise<void>) | null;
  /** The file's bytes all matched the manifest. */
  end?(file: ManifestFile): void | Promise<void>;
  onProgress?(doneBytes: number, totalBytes: number): void;
}

function corrupt(message: string, details: Record<string, unknown> = {}): StoreError {
  return new StoreError('BACKUP_CORRUPT', message, details);
}

/** Walks every file of the backup, checking all of it; throws at the first mismatch. */
export async function walkBackup(
  backupDir: string,
  manifest: Manifest,
  handlers: WalkHandlers = {},
): Promise<void> {
  const archive = path.join(backupDir, manifest.id, manifest.archive.file);
  let index = 0;
  let current: ManifestFile | null = null;
  let hash: Hash | null = null;
  let sink: ((chunk: Buffer) => void | Promise<void>) | null = null;
  let done = 0;
  // Tar callbacks are synchronous; the writes they start (chained per file, so in order) run
  // while the next blocks are hashed and parsed, up to a few blocks behind.
  let writes: Promise<void>[] = [];
  let behind: Promise<void>[][] = [];
  const reader = new TarReader({
    entry(entry) {
      const expected = manifest.files[index];
      if (expected === undefined) {
        throw corrupt(`the archive holds ${entry.path}, which the manifest does not list`);
      }
      if (entry.path !== expected.path || entry.size !== expected.bytes) {
        throw corrupt(
          `archive entry ${index} is ${entry.path} (${entry.size} bytes); the manifest expects ${expected.path} (${expected.bytes} bytes)`,
          { path: expected.path },
        );
      }
      current = expected;
      hash = createHash('sha256');
      sink = handlers.begin?.(expected) ?? null;
    },
    data(chunk) {
      hash!.update(chunk);
      done += chunk.length;
      if (sink !== null) {
        const wrote = sink(chunk);
        if (wrote instanceof Promise) writes.push(wrote);
      }
    },
    end() {
      const file = current!;
      const actual = hash!.digest('hex');
      if (actual !== file.sha256) {
        throw corrupt(`${file.path} does not match its SHA-256 in the manifest`, {
          path: file.path,
          expected: file.sha256,
          actual,
        });
      }
      const ended = handlers.end?.(file);
      if (ended instanceof Promise) writes.push(ended);
      index++;
      current = null;
      sink = null;
    },
  });
  const total = manifest.totals.raw_bytes;
  await readBlocks(
    archive,
    `${manifest.id}/${manifest.archive.file}`,
    manifest.archive.blocks,
    manifest.archive.bytes,
    limits.backupBlocksInFlight,
    async (raw, block) => {
      try {
        reader.push(raw);
      } catch (error) {
        if (error instanceof StoreError) throw error;
        throw corrupt(`the archive is malformed in block ${block}: ${(error as Error).message}`);
      }
      for (const w of writes) w.catch(() => {});
      behind.push(writes);
      writes = [];
      while (behind.length > limits.backupBlocksInFlight) for (const w of behind.shift()!) await w;
      handlers.onProgress?.(done, total);
    },
  );
  for (const group of behind) for (const w of group) await w;
  behind = [];
  try {
    reader.finish();
  } catch (error) {
    throw corrupt(`the archive is incomplete: ${(error as Error).message}`);
  }
  if (index !== manifest.files.length) {
    throw corrupt(
      `the archive ends after ${index} of ${manifest.files.length} files; missing ${manifest.files[index]!.path}`,
    );
  }
}

export interface VerifyReport {
  id: string;
  valid: boolean;
  files: number;
  rawBytes: number;
  events: number;
  /** The first mismatch, when not valid. */
  code?: string;
  problem?: string;
}

/** Recomputes every checksum of a backup; a damaged one yields valid: false and the first problem. */
export async function verifyBackup(
  backupDir: string,
  id: string,
  onProgress?: (doneBytes: number, totalBytes: number) => void,
): Promise<VerifyReport> {
  let manifest: Manifest | null = null;
  try {
    manifest = await loadManifest(backupDir, id);
    await walkBackup(backupDir, manifest, onProgress === undefined ? {} : { onProgress });
    return {
      id,
      valid: true,
      files: manifest.totals.files,
      rawBytes: manifest.totals.raw_bytes,
      events: manifest.totals.events,
    };
  } catch (error) {
    if (!(error instanceof StoreError) || error.code === 'NOT_FOUND') throw error;
    return {
      id,
      valid: false,
      files: manifest?.totals.files ?? 0,
      rawBytes: manifest?.totals.raw_bytes ?? 0,
      events: manifest?.totals.events ?? 0,
      code: error.code,
      problem: error.message,
    };
  }
}
