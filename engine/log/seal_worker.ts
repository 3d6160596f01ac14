// Runs on a piscina worker thread: builds a sealed segment's index file from the arrays of its
// in-memory index and writes it (temp, fsync, rename, fsync directory). It receives plain
// arrays and a path, never live objects, so the event loop never sorts a segment's keys.
import { initChecksum } from '../format/checksum.js';
import {
  decodeSegmentIndex,
  encodeSegmentIndex,
  type IndexSource,
  idPairsOf,
} from '../format/segment_index.js';
import { createNodeIo } from '../io/io.js';
import { limits } from '../limits.js';
import { buildIdFilter, type IdFilter } from './id_filter.js';

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

/** What a seal hands back: the id section it sorted, and a filter over it (shared memory). */
export interface SealResult {
  idPairs: Uint32Array;
  idFilter: IdFilter;
}

export default async function seal(task: SealTask): Promise<SealResult> {
  await initChecksum();
  const buf = encodeSegmentIndex(task.source, reusedBuffer);
  await createNodeIo().writeFileAtomic(task.indexPath, buf);
  // The log keeps the id section cached for its idempotency checks. Loading it from the file
  // on the event loop cost 118-177 ms for a full segment (reading and checking the whole
  // index into fresh memory); here it is copied while the encoded index is at hand.
  const index = decodeSegmentIndex(buf);
  if (typeof index === 'string') throw new Error(`assertion failed: index just encoded: ${index}`);
  const idPairs = idPairsOf(index, (words) => new Uint32Array(new SharedArrayBuffer(words * 4)));
  return { idPairs, idFilter: buildIdFilter(idPairs, true) };
}
