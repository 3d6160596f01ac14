// What a backup copies, fixed in one synchronous step: for every log, its segment files with the
// committed length of each, the index files already written, and an entity checkpoint encoded
// from the live totals. Commits update lengths and totals together and synchronously, so the
// capture is a consistent cut at one position per log, while appends go on after it.
import path from 'node:path';
import { encodeCheckpoint } from '../format/checkpoint.js';
import { CHECKPOINT_NAME } from '../format/names.js';
import type { Log } from '../log/log.js';

/** One file of a capture: `bytes` of `source` on disk, or `data` held in memory. */
export interface CapturedFile {
  /** Path inside the data directory, '/'-separated. */
  path: string;
  bytes: number;
  source: string | null;
  data: Buffer | null;
}

export interface CapturedLog {
  tenant: string;
  log: 'events' | 'snapshots';
  lastPosition: number;
  events: number;
  files: CapturedFile[];
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
    // A sealed segment whose index file is written (its in-memory index is gone) has a final
    // index; one still being sealed is left out and rebuilt when the restored store opens.
    if (segment !== log.active && segment.active === null) {
      files.push({
        path: rel(segment.indexPath),
        bytes: -1,
        source: segment.indexPath,
        data: null,
      });
    }
  }
  const checkpoint = encodeCheckpoint({ ...log.totals });
  files.push({
    path: rel(path.join(log.dir, CHECKPOINT_NAME)),
    bytes: checkpoint.length,
    source: null,
    data: checkpoint,
  });
  return {
    tenant,
    log: name,
    lastPosition: log.lastPosition,
    events: log.totals.totalIngested,
    files,
  };
}
