// One process per data directory: two writers on the same files would interleave records. The
// LOCK file holds the owner's pid; a lock left by a process that no longer runs (kill -9) is
// taken over.
import path from 'node:path';
import { StoreError } from '../errors.js';
import { LOCK_NAME } from '../format/names.js';
import type { Io } from '../io/io.js';

/** Does a process with this pid run (ours or another user's)? */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function acquireLock(io: Io, dataDir: string): Promise<() => void> {
  const file = path.join(dataDir, LOCK_NAME);
  const held = io.readFile(file);
  if (held !== null) {
    const pid = Number.parseInt(held.toString('utf8'), 10);
    if (Number.isInteger(pid) && pid !== process.pid && alive(pid)) {
      throw new StoreError(
        'LOG_UNAVAILABLE',
        `data directory ${dataDir} is in use by process ${pid}`,
        {
          pid,
        },
      );
    }
  }
  await io.writeFileAtomic(file, Buffer.from(String(process.pid)));
  return () => io.unlink(file);
}
