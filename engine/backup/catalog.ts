// The backup directory as a catalog: list what is there, prune to the configured count.
import path from 'node:path';
import { listDir, removeTree } from '../io/files.js';
import { PARTIAL_SUFFIX } from './create.js';
import type { Manifest } from './manifest.js';
import { ID_PATTERN, loadManifest } from './read.js';

/** Every complete backup in the directory, oldest first; unreadable ones are reported apart. */
export async function listBackups(
  backupDir: string,
): Promise<{ manifests: Manifest[]; invalid: { id: string; error: string }[] }> {
  const manifests: Manifest[] = [];
  const invalid: { id: string; error: string }[] = [];
  for (const name of (await listDir(backupDir)).sort()) {
    if (name.endsWith(PARTIAL_SUFFIX) || !ID_PATTERN.test(name)) continue;
    try {
      manifests.push(await loadManifest(backupDir, name));
    } catch (error) {
      invalid.push({ id: name, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return { manifests, invalid };
}

/**
 * Keeps the newest `keep` complete backups and removes the older ones, and any partial backup
 * left by a crash. Directories that are not backups are never touched. Returns the removed ids.
 */
export async function pruneBackups(backupDir: string, keep: number): Promise<string[]> {
  const { manifests } = await listBackups(backupDir);
  const removed: string[] = [];
  for (const manifest of manifests.slice(0, Math.max(0, manifests.length - keep))) {
    await removeTree(path.join(backupDir, manifest.id));
    removed.push(manifest.id);
  }
  return removed;
}

/** Removes partial backups left by a crash; called before a new backup starts. */
export async function removePartials(backupDir: string): Promise<void> {
  for (const name of await listDir(backupDir)) {
    if (name.endsWith(PARTIAL_SUFFIX) && ID_PATTERN.test(name.slice(0, -PARTIAL_SUFFIX.length))) {
      await removeTree(path.join(backupDir, name));
    }
  }
}
