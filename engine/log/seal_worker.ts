// Runs on a piscina worker thread: builds a sealed segment's index file from the arrays of its
// in-memory index and writes it (temp, fsync, rename, fsync directory). It receives plain
// arrays and a path, never live objects, so the event loop never sorts a segment's keys.
import { initChecksum } from '../format/checksum.js';
import { encodeSegmentIndex, type IndexSource } from '../format/segment_index.js';
import { createNodeIo } from '../io/io.js';
import { limits } from '../limits.js';

export interface SealTask {
  indexPath: string;
  /**
   * The active index as encodeSegmentIndex takes it. Its per-record arrays are views of shared
   * memory (index_arrays.ts), read where they are; only the keys are copied on the way here.
   */
  source: IndexSource;
}

/**
 * The output buffer, kept between tasks: a full segment's index is megabytes, and fresh memory
 * costs a page fault per 4 KiB on first touch. One task runs at a time on this thread, and the
 * buffer is written out before the task ends.
 */
let scratch: Buffer | null = null;

function reusedBuffer(bytes: number): Buffer {
  if (bytes > limits.indexArraysIdleBytes) return Buffer.allocUnsafeSlow(bytes);
  if (scratch === null || scratch.length < bytes) scratch = Buffer.allocUnsafeSlow(bytes);
  return scratch.subarray(0, bytes);
}

export default async function seal(task: SealTask): Promise<number> {
  await initChecksum();
  const buf = encodeSegmentIndex(task.source, reusedBuffer);
  await createNodeIo().writeFileAtomic(task.indexPath, buf);
  return buf.length;
}
