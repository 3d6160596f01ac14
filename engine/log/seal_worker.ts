// Runs on a piscina worker thread: builds a sealed segment's index file from the arrays of its
// in-memory index and writes it (temp, fsync, rename, fsync directory). It receives plain
// arrays and a path, never live objects, so the event loop never sorts a segment's keys.
import { initChecksum } from '../format/checksum.js';
import { encodeSegmentIndex } from '../format/segment_index.js';
import { createNodeIo } from '../io/io.js';

export interface SealTask {
  indexPath: string;
  basePosition: number;
  count: number;
  logBytes: number;
  relPositions: Uint32Array;
  offsets: Uint32Array;
  timestamps: Float64Array;
  previousForEntity: Int32Array;
  previousForType: Int32Array;
  /** [key, index of its newest record] */
  entityHeads: [string, number][];
  typeHeads: [string, number][];
  ids: [string, number][];
}

function lists(
  heads: [string, number][],
  previous: Int32Array,
  relPositions: Uint32Array,
): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [key, last] of heads) {
    const list: number[] = [];
    for (let i = last; i !== -1; i = previous[i]!) list.push(relPositions[i]!);
    out.set(key, list.reverse());
  }
  return out;
}

/** The index file's bytes for a task (also used by a backup that meets a seal in progress). */
export function encodeSealTask(task: SealTask): Buffer {
  return encodeSegmentIndex({
    basePosition: task.basePosition,
    count: task.count,
    logBytes: task.logBytes,
    relPositions: task.relPositions,
    offsets: task.offsets,
    timestamps: task.timestamps,
    entities: lists(task.entityHeads, task.previousForEntity, task.relPositions),
    types: lists(task.typeHeads, task.previousForType, task.relPositions),
    ids: new Map(task.ids),
  });
}

export default async function seal(task: SealTask): Promise<number> {
  await initChecksum();
  const buf = encodeSealTask(task);
  await createNodeIo().writeFileAtomic(task.indexPath, buf);
  return buf.length;
}
