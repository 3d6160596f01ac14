// Sequential verification of a segment's records, used by recovery at open and to rebuild a
// missing or damaged index. Records are handed over one complete batch at a time, so a batch that
// a crash cut short is never applied: it is all there or it is not.
import { EventView } from '../format/event_view.js';
import {
  checkRecord,
  Field,
  RECORD_FORMAT,
  RECORD_HEADER_BYTES,
  recordFollowers,
  recordLengthAt,
  recordPosition,
} from '../format/record.js';
import type { Io } from '../io/io.js';

const BLOCK_BYTES = 4 * 1024 * 1024;

export interface ScannedRecord {
  offset: number;
  view: EventView;
}

export interface ScanProblem {
  offset: number;
  reason: string;
  /** The file ends inside a batch whose records all verified: a torn tail for certain. */
  endedInBatch: boolean;
}

export interface ScanResult {
  /** End of the last complete batch: everything before it verified. */
  validBytes: number;
  /** Last position in the valid bytes, or `previousPosition` when there are none. */
  lastPosition: number;
  /** The first byte that could not be accepted, and why; null when the whole file verified. */
  problem: ScanProblem | null;
}

class BlockReader {
  private buf = Buffer.alloc(0);
  private start = 0;

  constructor(
    private readonly io: Io,
    private readonly fd: number,
    readonly fileSize: number,
  ) {}

  /** Returns a buffer and the index in it of file offset `offset`, holding at least `need` bytes if the file has them. */
  at(offset: number, need: number): [Buffer, number] {
    const end = this.start + this.buf.length;
    if (offset >= this.start && offset + need <= end) return [this.buf, offset - this.start];
    const size = Math.min(Math.max(BLOCK_BYTES, need), this.fileSize - offset);
    const buf = Buffer.allocUnsafe(Math.max(size, 0));
    const read = this.io.readAt(this.fd, buf, offset);
    this.buf = read === buf.length ? buf : buf.subarray(0, read);
    this.start = offset;
    return [this.buf, 0];
  }
}

/**
 * Verifies records from `fromOffset` to the end of the file. `previousPosition` is the last
 * position before this segment: positions must rise, and a batch's followers counts must count
 * down to zero.
 */
export function scanSegment(
  io: Io,
  fd: number,
  fileSize: number,
  previousPosition: number,
  onBatch: (records: ScannedRecord[]) => void,
): ScanResult {
  const reader = new BlockReader(io, fd, fileSize);
  let offset = 0;
  let validBytes = 0;
  let lastPosition = previousPosition;
  let batch: ScannedRecord[] = [];
  let expectFollowers = -1;
  while (offset < fileSize) {
    const [headerBuf, h] = reader.at(offset, RECORD_HEADER_BYTES);
    if (headerBuf.length - h < RECORD_HEADER_BYTES) {
      return {
        validBytes,
        lastPosition,
        problem: { offset, reason: 'truncated header', endedInBatch: false },
      };
    }
    const length = Math.max(recordLengthAt(headerBuf, h), RECORD_HEADER_BYTES);
    const [buf, at] = reader.at(offset, length);
    const verdict = checkRecord(buf, at, buf.length);
    if (typeof verdict === 'string') {
      return {
        validBytes,
        lastPosition,
        problem: { offset, reason: verdict, endedInBatch: false },
      };
    }
    const position = recordPosition(buf, at);
    const followers = recordFollowers(buf, at);
    const previous = batch.length > 0 ? batch[batch.length - 1]!.view.position : lastPosition;
    // Positions rise; inside a batch by one, unless compaction dropped some of its records.
    const inBatch = expectFollowers >= 0;
    if (position <= previous || (inBatch && followers !== expectFollowers)) {
      return {
        validBytes,
        lastPosition,
        problem: { offset, reason: 'position out of sequence', endedInBatch: false },
      };
    }
    batch.push({ offset, view: new EventView(buf, at, at + verdict) });
    offset += verdict;
    if (followers === 0) {
      onBatch(batch);
      batch = [];
      expectFollowers = -1;
      validBytes = offset;
      lastPosition = position;
    } else {
      expectFollowers = followers - 1;
    }
  }
  if (batch.length > 0) {
    const problem = { offset: batch[0]!.offset, reason: 'batch cut short', endedInBatch: true };
    return { validBytes, lastPosition, problem };
  }
  return { validBytes, lastPosition, problem: null };
}

/**
 * After a bad record at `from`: is there any valid record further on? If so the damage is in
 * the middle of the log, not a torn tail, and truncating would drop acknowledged events.
 */
export function hasValidRecordAfter(io: Io, fd: number, fileSize: number, from: number): boolean {
  const reader = new BlockReader(io, fd, fileSize);
  for (let offset = from + 1; offset + RECORD_HEADER_BYTES <= fileSize; offset++) {
    const [buf, at] = reader.at(offset, RECORD_HEADER_BYTES);
    if (buf[at + Field.Format] !== RECORD_FORMAT || buf[at + Field.Reserved] !== 0) continue;
    const length = recordLengthAt(buf, at);
    if (length < RECORD_HEADER_BYTES || offset + length > fileSize) continue;
    const [whole, start] = reader.at(offset, length);
    if (typeof checkRecord(whole, start, whole.length) === 'number') return true;
  }
  return false;
}

/**
 * True when every byte from `from` to the end of the file is zero: space written ahead of the
 * appends (preallocate.ts), which no record can be mistaken for and which holds no event.
 */
export function zerosToEnd(io: Io, fd: number, fileSize: number, from: number): boolean {
  const reader = new BlockReader(io, fd, fileSize);
  for (let offset = from; offset < fileSize; ) {
    const [buf, at] = reader.at(offset, 1);
    for (let i = at; i < buf.length; i++) if (buf[i] !== 0) return false;
    offset += buf.length - at;
  }
  return true;
}
