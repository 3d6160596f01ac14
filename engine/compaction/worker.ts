// Runs on a piscina worker thread: rewrites a run of sealed segments into one new segment,
// keeping every record that retention and erasure leave, byte for byte (positions, versions,
// timestamps and ids unchanged), and builds its index. It receives file paths and plain values,
// never live objects, and writes only under temporary names; the main thread swaps the result
// in (swap.ts). Every source record is verified on the way: damage stops the rewrite.
import { initChecksum } from '../format/checksum.js';
import { RECORD_HEADER_BYTES, setRecordFollowers } from '../format/record.js';
import { encodeSegmentIndex } from '../format/segment_index.js';
import { SyncFileWriter } from '../io/files.js';
import { createNodeIo } from '../io/io.js';
import { limits } from '../limits.js';
import { ActiveIndex } from '../log/active_index.js';
import { type ScannedRecord, scanSegment } from '../log/scan.js';

export interface RewriteSource {
  logPath: string;
  /** Committed bytes of the segment (sealed: its whole file). */
  bytes: number;
}

export interface RewriteTask {
  sources: RewriteSource[];
  /** Last position before the first source, for the position checks of the scan. */
  previousPosition: number;
  outBase: number;
  tempLogPath: string;
  tempIndexPath: string;
  /** Retention: records older than this (µs since the epoch) go; 0 keeps all. */
  dropBeforeUs: number;
  /** Erased entities: [entity id, tombstone position]; their records before it go. */
  erased: [string, number][];
  /** Source bytes read per second at most (0: no limit), so appenders keep the disk and CPU. */
  bytesPerSec: number;
}

export interface RewriteResult {
  eventsIn: number;
  eventsKept: number;
  bytesIn: number;
  /** 0 when nothing was kept: no file was written. */
  logBytes: number;
  lastPosition: number;
  firstTimestampUs: number;
  lastTimestampUs: number;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks this worker thread as needed to keep to `bytesPerSec` (a worker may block). */
function createThrottle(bytesPerSec: number): (bytes: number) => void {
  if (bytesPerSec <= 0) return () => {};
  const started = performance.now();
  let total = 0;
  return (bytes) => {
    total += bytes;
    const aheadMs = (total / bytesPerSec) * 1000 - (performance.now() - started);
    if (aheadMs > 5) Atomics.wait(sleeper, 0, 0, aheadMs);
  };
}

export default async function rewrite(task: RewriteTask): Promise<RewriteResult> {
  await initChecksum();
  const io = createNodeIo();
  const erased = new Map(task.erased);
  const index = new ActiveIndex(task.outBase);
  const result: RewriteResult = {
    eventsIn: 0,
    eventsKept: 0,
    bytesIn: 0,
    logBytes: 0,
    lastPosition: 0,
    firstTimestampUs: 0,
    lastTimestampUs: 0,
  };
  let out = null as SyncFileWriter | null;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = (): void => {
    if (pendingBytes === 0) return;
    out ??= new SyncFileWriter(task.tempLogPath, limits.compactionSyncBytes);
    out.write(Buffer.concat(pending, pendingBytes));
    pending = [];
    pendingBytes = 0;
  };
  const keep = (record: ScannedRecord): boolean => {
    const view = record.view;
    if (view.timestampUs < task.dropBeforeUs) return false;
    const before = erased.get(view.entityId);
    return before === undefined || view.position >= before;
  };
  const throttle = createThrottle(task.bytesPerSec);
  const take = (batch: ScannedRecord[]): void => {
    result.eventsIn += batch.length;
    for (const record of batch) throttle(record.view.end - record.view.start);
    const kept = batch.filter(keep);
    for (let k = 0; k < kept.length; k++) {
      const view = kept[k]!.view;
      let bytes = view.bytes;
      // Survivors of a batch stay one batch: their followers count down to zero again.
      const followers = kept.length - 1 - k;
      if (view.followers !== followers) {
        bytes = Buffer.from(bytes);
        setRecordFollowers(bytes, 0, followers);
      }
      index.add(
        view.position - task.outBase,
        result.logBytes,
        view.timestampUs,
        view.clientId ? view.id : null,
        view.eventType,
        view.entityId,
      );
      if (result.eventsKept === 0) result.firstTimestampUs = view.timestampUs;
      result.eventsKept++;
      result.lastPosition = view.position;
      result.lastTimestampUs = view.timestampUs;
      result.logBytes += bytes.length;
      pending.push(bytes);
      pendingBytes += bytes.length;
      if (pendingBytes >= limits.compactionWriteBytes) flush();
    }
  };
  let previous = task.previousPosition;
  try {
    for (const source of task.sources) {
      const fd = io.openRead(source.logPath);
      try {
        const scan = scanSegment(io, fd, source.bytes, previous, take);
        if (scan.problem !== null) {
          throw new Error(
            `corrupt data in ${source.logPath} at offset ${scan.problem.offset}: ${scan.problem.reason}`,
          );
        }
        previous = scan.lastPosition;
      } finally {
        io.close(fd);
      }
      result.bytesIn += source.bytes;
    }
    flush();
    if (out === null) return result;
    out.sync();
  } finally {
    out?.close();
  }
  index.logBytes = result.logBytes;
  const encoded = encodeSegmentIndex(index.source());
  index.release();
  await io.writeFileAtomic(task.tempIndexPath, encoded);
  if (result.logBytes < RECORD_HEADER_BYTES) throw new Error('assertion failed: empty output');
  return result;
}
