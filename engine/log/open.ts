// Opening a log directory: recovery. Sealed segments are known from their index headers alone;
// only records after the entity checkpoint are read, which after a clean shutdown means only the
// active (last) segment. A torn tail is truncated; damage anywhere else stops the open with the
// file and offset, because truncating there would drop acknowledged events.
import path from 'node:path';
import { finishSwap } from '../compaction/swap.js';
import { corruption, StoreError } from '../errors.js';
import { decodeCheckpoint } from '../format/checkpoint.js';
import { CHECKPOINT_NAME, parseSegmentLogName } from '../format/names.js';
import {
  decodeIndexHeader,
  encodeSegmentIndex,
  INDEX_HEADER_BYTES,
} from '../format/segment_index.js';
import type { Io } from '../io/io.js';
import { ActiveIndex } from './active_index.js';
import { hasValidRecordAfter, type ScannedRecord, scanSegment, zerosToEnd } from './scan.js';
import { newSegment, type Segment } from './segment.js';
import { applyView, emptyTotals, type LogTotals, withoutView } from './state.js';

export interface Logger {
  warn(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
}

export interface OpenedLog {
  segments: Segment[];
  totals: LogTotals;
  /** Torn tails truncated by this open. */
  truncations: number;
}

function loadTotals(io: Io, dir: string, logger: Logger): LogTotals {
  const file = path.join(dir, CHECKPOINT_NAME);
  const buf = io.readFile(file);
  if (buf === null) return emptyTotals();
  const decoded = decodeCheckpoint(buf);
  if (typeof decoded === 'string') {
    logger.warn('entity checkpoint unusable; rebuilding from segments', { file, reason: decoded });
    return emptyTotals();
  }
  return withoutView(decoded);
}

/** Records of `batch` past the checkpoint update the totals. */
function applyBatch(totals: LogTotals, batch: ScannedRecord[], index: ActiveIndex | null): void {
  for (const { offset, view } of batch) {
    const position = view.position;
    if (index !== null) {
      index.add(
        position - index.basePosition,
        offset,
        view.timestampUs,
        view.clientId ? view.id : null,
        view.eventType,
        view.entityId,
      );
    }
    if (position > totals.coveredPosition) applyView(totals, view);
  }
}

function readIndexHeader(io: Io, segment: Segment, fileSize: number) {
  const fd = io.exists(segment.indexPath) ? io.openRead(segment.indexPath) : -1;
  if (fd === -1) return null;
  try {
    const buf = Buffer.alloc(INDEX_HEADER_BYTES);
    io.readAt(fd, buf, 0);
    const header = decodeIndexHeader(buf);
    if (typeof header === 'string') return null;
    if (header.logBytes !== fileSize || header.basePosition !== segment.basePosition) return null;
    return header;
  } finally {
    io.close(fd);
  }
}

async function openSealed(
  io: Io,
  segment: Segment,
  previousPosition: number,
  totals: LogTotals,
  logger: Logger,
): Promise<void> {
  const fileSize = io.size(segment.fd);
  const header = readIndexHeader(io, segment, fileSize);
  if (header !== null && header.lastPosition <= totals.coveredPosition) {
    segment.logBytes = header.logBytes;
    segment.count = header.count;
    segment.lastPosition = header.lastPosition;
    segment.firstTimestampUs = header.firstTimestampUs;
    segment.lastTimestampUs = header.lastTimestampUs;
    return;
  }
  // No usable index, or records the checkpoint has not seen: read the segment once.
  const index = new ActiveIndex(segment.basePosition);
  const result = scanSegment(io, segment.fd, fileSize, previousPosition, (batch) =>
    applyBatch(totals, batch, index),
  );
  let logBytes = fileSize;
  if (result.problem !== null) {
    // A crash between a roll's cut of the zeros ahead and its fsync can leave them here.
    if (!zerosToEnd(io, segment.fd, fileSize, result.validBytes)) {
      throw corruption(segment.logPath, result.problem.offset, result.problem.reason);
    }
    io.truncateSync(segment.fd, result.validBytes);
    logBytes = result.validBytes;
  }
  index.logBytes = logBytes;
  adoptIndex(segment, index);
  segment.active = null;
  const encoded = header === null ? encodeSegmentIndex(index.source()) : null;
  index.release();
  if (encoded !== null) {
    logger.warn('rebuilt segment index', { file: segment.indexPath });
    await io.writeFileAtomic(segment.indexPath, encoded);
  }
}

/** Takes counts and bounds from an index built by a scan. */
export function adoptIndex(segment: Segment, index: ActiveIndex): void {
  segment.active = index;
  segment.logBytes = index.logBytes;
  segment.count = index.count;
  if (index.count > 0) {
    segment.lastPosition = segment.basePosition + index.relPositions[index.count - 1]!;
    segment.firstTimestampUs = index.timestamps[0]!;
    segment.lastTimestampUs = index.timestamps[index.count - 1]!;
  }
}

function openActive(
  io: Io,
  segment: Segment,
  previousPosition: number,
  totals: LogTotals,
  logger: Logger,
): number {
  const fileSize = io.size(segment.fd);
  const index = new ActiveIndex(segment.basePosition);
  const result = scanSegment(io, segment.fd, fileSize, previousPosition, (batch) =>
    applyBatch(totals, batch, index),
  );
  let truncations = 0;
  if (result.problem !== null && zerosToEnd(io, segment.fd, fileSize, result.validBytes)) {
    // Zeros written ahead of the appends, left by a crash: space, not damage.
    io.truncateSync(segment.fd, result.validBytes);
  } else if (result.problem !== null) {
    const { offset, reason } = result.problem;
    if (!result.problem.endedInBatch && hasValidRecordAfter(io, segment.fd, fileSize, offset)) {
      throw corruption(segment.logPath, offset, `${reason}, with valid records after it`);
    }
    logger.warn('truncating torn tail', {
      file: segment.logPath,
      offset: result.validBytes,
      droppedBytes: fileSize - result.validBytes,
      reason,
    });
    io.truncateSync(segment.fd, result.validBytes);
    truncations = 1;
  }
  index.logBytes = result.validBytes;
  adoptIndex(segment, index);
  // An index beside the active segment is left from a seal that a crash interrupted.
  io.unlink(segment.indexPath);
  return truncations;
}

export async function openLogDir(
  io: Io,
  dir: string,
  logger: Logger,
): Promise<OpenedLog & { checkpointPosition: number }> {
  const opened = await openSegments(io, dir, logger);
  // The last position ever assigned: an empty last segment starts one past it, which stays
  // true when retention has removed every event before it (segments never overlap).
  const final = opened.segments[opened.segments.length - 1]!;
  const last = final.count > 0 ? final.lastPosition : final.basePosition - 1;
  if (opened.checkpointPosition <= last) return opened;
  // The checkpoint speaks of events the segments no longer hold (files cut or removed by
  // hand): it cannot be trusted, so drop it and count everything from the segments.
  logger.warn('entity checkpoint is ahead of the log; rebuilding', {
    dir,
    checkpoint: opened.checkpointPosition,
    last,
  });
  for (const segment of opened.segments) io.close(segment.fd);
  io.unlink(path.join(dir, CHECKPOINT_NAME));
  return openSegments(io, dir, logger);
}

async function openSegments(
  io: Io,
  dir: string,
  logger: Logger,
): Promise<OpenedLog & { checkpointPosition: number }> {
  io.mkdirp(dir);
  const swap = finishSwap(io, dir);
  if (swap !== 'none') logger.warn(`compaction interrupted by a crash: ${swap}`, { dir });
  const names = io.readdir(dir);
  for (const name of names) if (name.endsWith('.tmp')) io.unlink(path.join(dir, name));
  const bases = names
    .map(parseSegmentLogName)
    .filter((b): b is number => b !== null)
    .sort((a, b) => a - b);
  if (bases.length === 0) bases.push(1);
  const totals = loadTotals(io, dir, logger);
  const checkpointPosition = totals.coveredPosition;
  const segments: Segment[] = [];
  let previousPosition = 0;
  let truncations = 0;
  for (let s = 0; s < bases.length; s++) {
    const base = bases[s]!;
    if (base <= previousPosition) {
      throw new StoreError('CORRUPTION', `segment ${base} overlaps the one before it in ${dir}`);
    }
    const isLast = s === bases.length - 1;
    const segment = newSegment(dir, base, 0);
    segment.fd = io.openAppend(segment.logPath);
    segments.push(segment);
    if (isLast) truncations += openActive(io, segment, previousPosition, totals, logger);
    else await openSealed(io, segment, previousPosition, totals, logger);
    if (segment.count > 0) previousPosition = segment.lastPosition;
  }
  io.fsyncDir(dir);
  totals.coveredPosition = Math.max(totals.coveredPosition, previousPosition);
  return { segments, totals, truncations, checkpointPosition };
}
