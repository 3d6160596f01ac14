// What a backup copies, fixed in one synchronous step: for every log, its segment files with the
// committed length of each, the index files already written, and a frozen view of its totals
// (log/state.ts) that the entity checkpoint is encoded from afterwards, a piece per event-loop
// turn: encoding it here held the event loop for hundreds of milliseconds with a million
// entities. Commits update lengths and totals together and synchronously, so the capture is a
// consistent cut at one position per log, while appends go on after it.
import path from 'node:path';
import { CHECKPOINT_NAME } from '../format/names.js';
import { encodeSegmentIndex } from '../format/segment_index.js';
import type { Io } from '../io/io.js';
import type { Log } from '../log/log.js';
import { type FrozenTotals, freezeTotals } from '../log/state.js';

/**
 * One file of a capture: `bytes` of `source` on disk, or `data` held in memory, or, for an
 * entity checkpoint, `totals` to encode it from into `pieces` (`bytes` is -1 until then).
 */
export interface CapturedFile {
  /** Path inside the data directory, '/'-separated. */
  path: string;
  bytes: number;
  source: string | null;
  data: Buffer | null;
  /** Released once encoded, or by the capture's release. */
  totals?: FrozenTotals;
  pieces?: Buffer[];
}

export interface CapturedLog {
  tenant: string;
  log: 'events' | 'snapshots';
  lastPosition: number;
  events: number;
  files: CapturedFile[];
}

function indexFile(rel: string, data: Buffer): CapturedFile {
  return { path: rel, bytes: data.length, source: null, data };
}

export function captureLog(
  log: Log,
  tenant: string,
  name: CapturedLog['log'],
  dataDir: string,
): CapturedLog {
  const rel = (file: string) => path.relative(dataDir, file).split(path.sep).join('/');
  const files: CapturedFile[] = [];
  for (const segment of log.segments) {
    files.push({
      path: rel(segment.logPath),
      bytes: segment.logBytes,
      source: segment.logPath,
      data: null,
    });
    if (segment === log.active) continue;
    // A sealed segment has a final index: on disk once written (its in-memory index is then
    // dropped), else encoded now from the in-memory one, as the sealing thread would.
    const index = segment.active;
    files.push(
      index === null
        ? { path: rel(segment.indexPath), bytes: -1, source: segment.indexPath, data: null }
        : indexFile(rel(segment.indexPath), encodeSegmentIndex(index.source())),
    );
  }
  files.push({
    path: rel(path.join(log.dir, CHECKPOINT_NAME)),
    bytes: -1,
    source: null,
    data: null,
    totals: freezeTotals(log.totals),
  });
  return {
    tenant,
    log: name,
    lastPosition: log.lastPosition,
    events: log.totals.totalIngested,
    files,
  };
}

/** Every tenant's logs (sorted by tenant id) and the named extra files, in one synchronous step. */
export function captureStore(
  tenants: ReadonlyMap<string, { events: Log; snapshots: Log }>,
  dataDir: string,
  io: Io,
  extraFiles: readonly string[],
): { logs: CapturedLog[]; extra: CapturedFile[] } {
  const logs: CapturedLog[] = [];
  const extra: CapturedFile[] = [];
  try {
    for (const id of [...tenants.keys()].sort()) {
      const tenant = tenants.get(id)!;
      logs.push(captureLog(tenant.events, id, 'events', dataDir));
      logs.push(captureLog(tenant.snapshots, id, 'snapshots', dataDir));
    }
    for (const rel of extraFiles) {
      const data = io.readFile(path.join(dataDir, rel));
      if (data !== null) extra.push({ path: rel, bytes: data.length, source: null, data });
    }
  } catch (error) {
    releaseTotals(logs);
    throw error;
  }
  return { logs, extra };
}

/**
 * Ends the frozen views of a capture's checkpoints that were not encoded: every append pays for
 * a view while it lasts.
 */
export function releaseTotals(logs: readonly CapturedLog[]): void {
  for (const log of logs) for (const file of log.files) file.totals?.release();
}
