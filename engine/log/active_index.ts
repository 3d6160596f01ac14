// The in-memory index of the active segment. It grows with the segment (bounded by the segment
// size) and is written out as the segment's .idx file when the segment is sealed.
//
// Per-key lookups are chains through typed arrays: for each record, the index of the previous
// record with the same entity (and the same type). A map holds only each key's newest record.
// Appending costs one map hit and one array write per key, and no per-key array ever grows.
import type { IndexSource } from '../format/segment_index.js';
import type { SealTask } from './seal_worker.js';

const INITIAL_CAPACITY = 1024;
const NONE = -1;

interface Head {
  last: number;
}

function chain(heads: Map<string, Head>, previous: Int32Array, key: string, i: number): void {
  const head = heads.get(key);
  if (head === undefined) {
    previous[i] = NONE;
    heads.set(key, { last: i });
  } else {
    previous[i] = head.last;
    head.last = i;
  }
}

export class ActiveIndex implements IndexSource {
  readonly basePosition: number;
  count = 0;
  logBytes = 0;
  relPositions: Uint32Array;
  offsets: Uint32Array;
  timestamps: Float64Array;
  private previousForEntity: Int32Array;
  private previousForType: Int32Array;
  private readonly entityHeads = new Map<string, Head>();
  private readonly typeHeads = new Map<string, Head>();
  /** Client-chosen ids only: generated ids carry their position. */
  readonly ids = new Map<string, number>();

  /** `expected`: records the segment will probably hold (the arrays grow past it if need be). */
  constructor(basePosition: number, expected = INITIAL_CAPACITY) {
    this.basePosition = basePosition;
    const capacity = Math.max(INITIAL_CAPACITY, expected);
    this.relPositions = new Uint32Array(capacity);
    this.offsets = new Uint32Array(capacity);
    this.timestamps = new Float64Array(capacity);
    this.previousForEntity = new Int32Array(capacity);
    this.previousForType = new Int32Array(capacity);
  }

  add(
    relPosition: number,
    offset: number,
    timestampUs: number,
    clientId: string | null,
    eventType: string,
    entityId: string,
  ): void {
    if (this.count === this.offsets.length) this.grow();
    const i = this.count++;
    this.relPositions[i] = relPosition;
    this.offsets[i] = offset;
    this.timestamps[i] = timestampUs;
    chain(this.entityHeads, this.previousForEntity, entityId, i);
    chain(this.typeHeads, this.previousForType, eventType, i);
    if (clientId !== null) this.ids.set(clientId, relPosition);
  }

  /** Relative positions of the entity's records among the first `count`, ascending. */
  entity(entityId: string, count: number): number[] {
    return this.walk(this.entityHeads.get(entityId), this.previousForEntity, count);
  }

  type(eventType: string, count: number): number[] {
    return this.walk(this.typeHeads.get(eventType), this.previousForType, count);
  }

  private walk(head: Head | undefined, previous: Int32Array, count: number): number[] {
    const out: number[] = [];
    if (head === undefined) return out;
    for (let i = head.last; i !== NONE; i = previous[i]!) {
      if (i < count) out.push(this.relPositions[i]!);
    }
    return out.reverse();
  }

  get entities(): Map<string, number[]> {
    return this.lists(this.entityHeads, this.previousForEntity);
  }

  get types(): Map<string, number[]> {
    return this.lists(this.typeHeads, this.previousForType);
  }

  private lists(heads: Map<string, Head>, previous: Int32Array): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const [key, head] of heads) out.set(key, this.walk(head, previous, this.count));
    return out;
  }

  /** Copies of everything the sealing worker needs; this index keeps serving reads meanwhile. */
  sealTask(indexPath: string): SealTask {
    const n = this.count;
    const heads = (map: Map<string, Head>): [string, number][] =>
      Array.from(map, ([key, head]) => [key, head.last]);
    return {
      indexPath,
      basePosition: this.basePosition,
      count: n,
      logBytes: this.logBytes,
      relPositions: this.relPositions.slice(0, n),
      offsets: this.offsets.slice(0, n),
      timestamps: this.timestamps.slice(0, n),
      previousForEntity: this.previousForEntity.slice(0, n),
      previousForType: this.previousForType.slice(0, n),
      entityHeads: heads(this.entityHeads),
      typeHeads: heads(this.typeHeads),
      ids: Array.from(this.ids),
    };
  }

  private grow(): void {
    const size = this.offsets.length * 2;
    const widen = <T extends Uint32Array | Int32Array | Float64Array>(from: T, to: T): T => {
      to.set(from);
      return to;
    };
    this.relPositions = widen(this.relPositions, new Uint32Array(size));
    this.offsets = widen(this.offsets, new Uint32Array(size));
    this.timestamps = widen(this.timestamps, new Float64Array(size));
    this.previousForEntity = widen(this.previousForEntity, new Int32Array(size));
    this.previousForType = widen(this.previousForType, new Int32Array(size));
  }
}
