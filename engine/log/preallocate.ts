// Zeroed space ahead of the active segment's appends, under fsync = always. An fdatasync after a
// write that grows the file must also commit the file's new size and blocks to the file system
// journal; after a write into blocks that already hold zeros, it commits the data alone. On the
// machine we measure on, write + fdatasync of 32 KiB took 245 us p50 when the file grew and
// 168 us into zeros written ahead (BENCHMARKS.md).
//
// Zeros are never a valid record (a record's length field is at least its header size), so
// recovery treats a run of zeros after the last valid record as space, not damage, and cuts it
// off; a roll and a clean close cut it off too, so sealed segments end at their last record.
//
// A log that writes little zeroes little: zeroing starts once the segment holds
// limits.preallocateAfterBytes, and each extension doubles the one before, from
// limits.preallocateBytesMin up to the store's preallocateBytes. A log whose writes average
// more than limits.preallocateWriteBytesAverageMax is not zeroed at all: with 0.5-1 MiB rounds
// of batch ingest the zeros cost more disk time than the journal commits they saved (2,629
// against 2,495 requests/s of 100 events without and with them, three by-hand pairs).
import type { Io } from '../io/io.js';
import { limits } from '../limits.js';

const ZEROS = Buffer.alloc(limits.preallocateWriteBytes);

export class Preallocator {
  /** The file's size as far as this process made it: data written or zeros written. */
  private end: number;
  /** The zeros being written, from `from` on; data writes past `from` wait for them. */
  private extending: { from: number; done: Promise<void> } | null = null;
  /** Bytes of the next extension; 0 once preallocation is off (not asked for, or failed). */
  private next: number;
  /** Bytes the segment must hold before zeroing starts. */
  private readonly after: number;
  /** Moving average of the data writes' sizes (over about the last eight); -1 before any. */
  private averageWrite = -1;

  constructor(
    private readonly io: Io,
    private readonly fd: number,
    fileSize: number,
    private readonly max: number,
  ) {
    this.end = fileSize;
    this.next = max > 0 ? Math.min(limits.preallocateBytesMin, max) : 0;
    this.after = Math.min(limits.preallocateAfterBytes, max);
  }

  /** Whether a write of [at, at + length) must first wait for zeros being written there. */
  mustWait(at: number, length: number): boolean {
    return this.extending !== null && at + length > this.extending.from;
  }

  /** Settles once no zeros are being written. */
  async settle(): Promise<void> {
    while (this.extending !== null) await this.extending.done;
  }

  /**
   * `bytes` of data are about to be written, up to `written` (call it before the write is
   * issued, after mustWait): when less than half an extension of zeros is left ahead, and the
   * log's writes are small on average, starts writing the
   * next extension past everything issued (on the thread pool, then fdatasync, so that the
   * appends' own fdatasyncs find the size already committed).
   */
  writing(written: number, bytes: number): void {
    if (written > this.end) this.end = written;
    this.averageWrite =
      this.averageWrite < 0 ? bytes : this.averageWrite + (bytes - this.averageWrite) / 8;
    if (this.next === 0 || this.extending !== null || this.end - written >= this.next / 2) return;
    // Large writes make the journal's share of an fdatasync small, and the zeros would double
    // the bytes written: a log whose rounds are large grows its file as it goes.
    if (this.averageWrite > limits.preallocateWriteBytesAverageMax) return;
    // A log that has written little so far (a quiet tenant) is left to grow its file: zeroing
    // costs an fsync of its own, and a thousand quiet tenants would pay a thousand of them.
    if (written < this.after) return;
    const from = this.end;
    const to = from + this.next;
    const done = this.zero(from, to).then(
      () => {
        this.end = Math.max(this.end, to);
        this.next = Math.min(this.next * 2, this.max);
      },
      () => {
        // A full disk, say: preallocation is only a speed-up, so it stops here. The zeros
        // already written are cut off at the next roll or close, like any others.
        this.end = Math.max(this.end, to);
        this.next = 0;
      },
    );
    this.extending = {
      from,
      done: done.finally(() => {
        this.extending = null;
      }),
    };
  }

  private async zero(from: number, to: number): Promise<void> {
    for (let at = from; at < to; at += ZEROS.length) {
      await this.io.writeAt(this.fd, ZEROS.subarray(0, Math.min(ZEROS.length, to - at)), at);
    }
    await this.io.fdatasync(this.fd);
  }

  /**
   * Cuts the file back to `logBytes` when zeros lie past it (at a roll or a close), once no
   * zeros are being written. Nothing may be in flight past `logBytes`.
   */
  async trim(logBytes: number): Promise<void> {
    await this.settle();
    if (this.end > logBytes) await this.io.truncate(this.fd, logBytes);
    this.end = logBytes;
  }

  /** The file was cut back to `size` by someone else (a failed write's repair). */
  cutTo(size: number): void {
    this.end = size;
  }
}
