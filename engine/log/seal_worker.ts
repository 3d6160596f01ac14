// Runs on a piscina worker thread: builds a sealed segment's index file from the arrays of its
// in-memory index and writes it (temp, fsync, rename, fsync directory). It receives plain
// arrays and a path, never live objects, so the event loop never sorts a segment's keys.
// The per-record arrays are shared memory (index_arrays.ts): read here, never copied.
import { initChecksum } from '../format/checksum.js';
import { encodeSegmentIndex } from '../format/segment_index.js';
import { createNodeIo } from '../io/io.js';
import { limits } from '../limits.js';

export interface SealTask {
  indexPath: string;
  basePosition: number;
  count: number;
  logBytes: number;
  /** Per-record arrays: views of the active index's shared memory, read where they are. */
  relPositions: Uint32Array;
  offsets: Uint32Array;
  timestamps: Float64Array;
  previousForEntity: Int32Array;
  previousForType: Int32Array;
  /** Keys and the record index of each key's newest record (KeyChains in segment_index.ts). */
  entityKeys: string[];
  entityLasts: Int32Array;
  typeKeys: string[];
  typeLasts: Int32Array;
  /** Client-chosen ids and their relative positions. */
  idKeys: string[];
  idPositions: number[];
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

/**
 * The index file's bytes for a task (also used by a backup that meets a seal in progress, and
 * by compaction). `allocate` as in encodeSegmentIndex.
 */
export function encodeSealTask(task: SealTask, allocate?: (bytes: number) => Buffer): Buffer {
  return encodeSegmentIndex(
    {
      basePosition: task.basePosition,
      count: task.count,
      logBytes: task.logBytes,
      relPositions: task.relPositions,
      offsets: task.offsets,
      timestamps: task.timestamps,
      entities: {
        keys: task.entityKeys,
        lasts: task.entityLasts,
        previous: task.previousForEntity,
      },
      types: { keys: task.typeKeys, lasts: task.typeLasts, previous: task.previousForType },
      ids: { keys: task.idKeys, lasts: task.idPositions, previous: null },
    },
    allocate,
  );
}

export default async function seal(task: SealTask): Promise<number> {
  await initChecksum();
  const buf = encodeSealTask(task, reusedBuffer);
  await createNodeIo().writeFileAtomic(task.indexPath, buf);
  return buf.length;
}
