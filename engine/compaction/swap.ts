// Swapping compacted files into a log directory so that a crash at any step leaves either the old
// segments or the new ones, never both and never neither:
//
//   1. the worker writes `<name>.compact` files and fsyncs them; the directory is fsynced;
//   2. a marker, `compaction.swap`, names the renames to make and the files to remove; it is
//      written atomically (temp, fsync, rename, fsync directory). From here on the swap is
//      decided: recovery rolls it forward;
//   3. each `.compact` file is renamed over its final name; the directory is fsynced;
//   4. the replaced segments' files are removed; the directory is fsynced;
//   5. the marker is removed; the directory is fsynced.
//
// At open, `finishSwap` completes steps 3-5 when a marker exists, and otherwise removes any
// `.compact` file (a rewrite that never reached step 2).
import path from 'node:path';
import { StoreError } from '../errors.js';
import { removeFile, syncDir, writeFileAtomic } from '../io/files.js';
import type { Io } from '../io/io.js';

export const SWAP_MARKER = 'compaction.swap';
export const COMPACT_SUFFIX = '.compact';

export interface SwapPlan {
  /** File names (in the log directory): `<final>.compact` becomes `<final>`. */
  renames: string[];
  /** File names removed once the renames are done. */
  removes: string[];
}

const NAME = /^\d{20}\.(log|idx)$/;

function checkPlan(plan: SwapPlan): boolean {
  return (
    Array.isArray(plan.renames) &&
    Array.isArray(plan.removes) &&
    [...plan.renames, ...plan.removes].every((n) => typeof n === 'string' && NAME.test(n))
  );
}

/** Step 2: the decision, durable. Directory syncs run on the thread pool, not the event loop. */
export async function writeSwapMarker(dir: string, plan: SwapPlan): Promise<void> {
  await syncDir(dir);
  await writeFileAtomic(path.join(dir, SWAP_MARKER), JSON.stringify(plan));
}

/**
 * Step 3, synchronous so that no read runs between the renames and the caller's next step. Not
 * yet durable: the marker makes recovery redo whatever a crash loses.
 */
export function renameInto(io: Io, dir: string, plan: SwapPlan): void {
  for (const name of plan.renames) {
    const temp = path.join(dir, `${name}${COMPACT_SUFFIX}`);
    if (io.exists(temp)) io.rename(temp, path.join(dir, name));
  }
}

/** Steps 3 (made durable), 4 and 5 (`between` runs before the marker goes, for tests). */
export async function removeReplaced(
  dir: string,
  plan: SwapPlan,
  between?: () => void,
): Promise<void> {
  await syncDir(dir);
  for (const name of plan.removes) await removeFile(path.join(dir, name));
  await syncDir(dir);
  between?.();
  await removeFile(path.join(dir, SWAP_MARKER));
  await syncDir(dir);
}

/** At open: finishes a decided swap, or discards an undecided one. Returns what it did. */
export function finishSwap(io: Io, dir: string): 'none' | 'finished' | 'discarded' {
  const marker = io.readFile(path.join(dir, SWAP_MARKER));
  if (marker !== null) {
    let plan: SwapPlan;
    try {
      plan = JSON.parse(marker.toString('utf8')) as SwapPlan;
    } catch {
      plan = { renames: [], removes: [] };
    }
    if (!checkPlan(plan)) {
      // The marker is written atomically, so it cannot be torn; this is damage by other hands.
      throw new StoreError('CORRUPTION', `unreadable ${SWAP_MARKER} in ${dir}`, { dir });
    }
    renameInto(io, dir, plan);
    io.fsyncDir(dir);
    for (const name of plan.removes) io.unlink(path.join(dir, name));
    io.fsyncDir(dir);
    io.unlink(path.join(dir, SWAP_MARKER));
    io.fsyncDir(dir);
    return 'finished';
  }
  let discarded = false;
  for (const name of io.readdir(dir)) {
    if (name.endsWith(COMPACT_SUFFIX)) {
      io.unlink(path.join(dir, name));
      discarded = true;
    }
  }
  if (discarded) io.fsyncDir(dir);
  return discarded ? 'discarded' : 'none';
}
