// The cut of a point-in-time restore: a log keeps its whole batches whose every record is at or
// below a position and a time, and loses the rest. Positions and timestamps only grow along a
// log and a batch never spans segments, so the cut is one offset in one segment: later segments
// go, that one is truncated, and the index and checkpoint that spoke of the dropped events are
// removed for the store to rebuild when it opens.
import path from 'node:path';
import {
  CHECKPOINT_NAME,
  parseSegmentLogName,
  segmentIndexName,
  segmentLogName,
} from '../format/names.js';
import {
  RECORD_HEADER_BYTES,
  recordFollowers,
  recordLengthAt,
  recordPosition,
  recordTimestamp,
} from '../format/record.js';
import {
  fileSize,
  listDir,
  openForRead,
  readRange,
  removeFile,
  truncateFile,
} from '../io/files.js';

export interface CutResult {
  dropped: boolean;
  lastPosition: number;
  /** Timestamp of the last kept record, 0 when none is kept. */
  lastTimestampUs: number;
}

interface Kept {
  bytes: number;
  lastPosition: number;
  lastTimestampUs: number;
}

/** Bytes of whole batches of the segment within the bounds, walking record headers only. */
async function keptBytes(file: string, maxPosition: number, maxTimeUs: number): Promise<Kept> {
  const size = (await fileSize(file)) ?? 0;
  const handle = await openForRead(file);
  const kept: Kept = { bytes: 0, lastPosition: 0, lastTimestampUs: 0 };
  try {
    let offset = 0;
    while (offset + RECORD_HEADER_BYTES <= size) {
      // The first record of a batch says how many follow; the batch's last record decides.
      const first = await readRange(handle, offset, RECORD_HEADER_BYTES);
      let end = offset;
      let header = first;
      for (let left = recordFollowers(first, 0); ; left--) {
        end += recordLengthAt(header, 0);
        if (left === 0) break;
        header = await readRange(handle, end, RECORD_HEADER_BYTES);
      }
      const lastPosition = recordPosition(header, 0);
      const lastTimestampUs = recordTimestamp(header, 0);
      if (lastPosition > maxPosition || lastTimestampUs > maxTimeUs) break;
      kept.bytes = end;
      kept.lastPosition = lastPosition;
      kept.lastTimestampUs = lastTimestampUs;
      offset = end;
    }
  } finally {
    await handle.close();
  }
  return kept;
}

/** Cuts one log directory (events or snapshots) after a position and a time. */
export async function cutLog(
  dir: string,
  maxPosition: number,
  maxTimeUs: number,
): Promise<CutResult> {
  const bases = (await listDir(dir))
    .map(parseSegmentLogName)
    .filter((b): b is number => b !== null)
    .sort((a, b) => a - b);
  const result: CutResult = { dropped: false, lastPosition: 0, lastTimestampUs: 0 };
  let cutDone = false;
  for (const base of bases) {
    const file = path.join(dir, segmentLogName(base));
    const size = (await fileSize(file)) ?? 0;
    if (cutDone) {
      result.dropped ||= size > 0;
      await removeFile(file);
      await removeFile(path.join(dir, segmentIndexName(base)));
      continue;
    }
    const kept = await keptBytes(file, maxPosition, maxTimeUs);
    if (kept.bytes > 0) {
      result.lastPosition = kept.lastPosition;
      result.lastTimestampUs = kept.lastTimestampUs;
    }
    if (kept.bytes === size) continue;
    // This segment holds the cut: it becomes the last one, and its index no longer matches.
    cutDone = true;
    result.dropped = true;
    await truncateFile(file, kept.bytes);
    await removeFile(path.join(dir, segmentIndexName(base)));
  }
  if (result.dropped) await removeFile(path.join(dir, CHECKPOINT_NAME));
  return result;
}
