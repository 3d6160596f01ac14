// The in-memory index of the active segment. It grows with the segment (bounded by the segment
// size) and is written out as the segment's .idx file when the segment is sealed.
//
// Per-key lookups are chains through typed arrays: for each record, the index of the previous
// record with the same entity (and the same type). A map gives each key a slot, and the slot's
// entry in `lasts` is the key's newest record. Appending costs one map hit and two array
// writes per key, and no per-key array ever grows.
//
// The per-record arrays live in shared memory and come from a free list (index_arrays.ts): the
// sealing thread reads them where they are, with no copy, and once the segment is sealed they
// go back to the list for a later segment. Fresh memory costs a page fault per 4 KiB on first
// touch, which on the machines we measure on made each roll of a full segment cost as much as
// tens of thousands of appends.
import { hashString32 } from '../format/checksum.js';
import type { IndexSource, KeyChains } from '../format/segment_index.js';
import { IdTable } from './id_table.js';
import {
  type IndexArrays,
  NO_INDEX_ARRAYS,
  releaseIndexArrays,
  sharedCopy,
  takeIndexArrays,
} from './index_arrays.js';
import type { SealTask } from './seal_worker.js';

const INITIAL_CAPACITY = 1024;
const NONE = -1;

/**
 * Keys of one kind, each with a slot; `lasts[slot]` is the key's newest record and
 * `hashes[slot]` the xxh32 of the key. The sealing thread gets the hashes, not the keys: copying
 * and serializing hundreds of thousands of key strings (a segment of events with one entity
 * each) held the event loop 350-400 ms at every seal.
 */
class KeySlots {
  readonly slots = new Map<string, number>();
  count = 0;
  lasts = sharedCopy((b) => new Int32Array(b), null, 64);
  hashes = sharedCopy((b) => new Uint32Array(b), null, 64);
  /** The last key chained and its slot: a batch mostly repeats its event type. */
  private lastKey = '';
  private lastSlot = -1;

  /** Links record `i` to the key's chain in `previous`. */
  chain(previous: Int32Array, key: string, i: number): void {
    let slot = this.lastSlot >= 0 && key === this.lastKey ? this.lastSlot : this.slots.get(key);
    if (slot === undefined) {
      slot = this.count++;
      if (slot === this.lasts.length) {
        this.lasts = sharedCopy((b) => new Int32Array(b), this.lasts, slot * 2);
        this.hashes = sharedCopy((b) => new Uint32Array(b), this.hashes, slot * 2);
      }
      this.slots.set(key, slot);
      this.hashes[slot] = hashString32(key);
      previous[i] = NONE;
    } else {
      previous[i] = this.lasts[slot]!;
    }
    this.lasts[slot] = i;
    this.lastKey = key;
    this.lastSlot = slot;
  }

  chains(previous: Int32Array): KeyChains {
    const n = this.count;
    return { hashes: this.hashes.subarray(0, n), lasts: this.lasts.subarray(0, n), previous };
  }
}

export class ActiveIndex {
  readonly basePosition: number;
  count = 0;
  logBytes = 0;
  private arrays: IndexArrays;
  private readonly entitySlots = new KeySlots();
  private readonly typeSlots = new KeySlots();
  /** Client-chosen ids only, as hashes (id_table.ts): generated ids carry their position. */
  readonly ids = new IdTable();

  /** `expected`: records the segment will probably hold (the arrays grow past it if need be). */
  constructor(basePosition: number, expected = INITIAL_CAPACITY) {
    this.basePosition = basePosition;
    this.arrays = takeIndexArrays(Math.max(INITIAL_CAPACITY, expected));
  }

  get relPositions(): Uint32Array {
    return this.arrays.relPositions;
  }

  get offsets(): Uint32Array {
    return this.arrays.offsets;
  }

  get timestamps(): Float64Array {
    return this.arrays.timestamps;
  }

  add(
    relPosition: number,
    offset: number,
    timestampUs: number,
    clientId: string | null,
    eventType: string,
    entityId: string,
    /** xxh32 of clientId, when the caller has it already. */
    idHash = clientId === null ? 0 : hashString32(clientId),
  ): void {
    if (this.count === this.arrays.capacity) this.grow();
    const a = this.arrays;
    const i = this.count++;
    a.relPositions[i] = relPosition;
    a.offsets[i] = offset;
    a.timestamps[i] = timestampUs;
    this.entitySlots.chain(a.previousForEntity, entityId, i);
    this.typeSlots.chain(a.previousForType, eventType, i);
    if (clientId !== null) this.ids.add(idHash, relPosition);
  }

  /** Relative positions of the entity's records among the first `count`, ascending. */
  entity(entityId: string, count: number): number[] {
    return this.walk(this.entitySlots, this.arrays.previousForEntity, entityId, count);
  }

  type(eventType: string, count: number): number[] {
    return this.walk(this.typeSlots, this.arrays.previousForType, eventType, count);
  }

  private walk(slots: KeySlots, previous: Int32Array, key: string, count: number): number[] {
    const out: number[] = [];
    const slot = slots.slots.get(key);
    if (slot === undefined) return out;
    const relPositions = this.arrays.relPositions;
    for (let i = slots.lasts[slot]!; i !== NONE; i = previous[i]!) {
      if (i < count) out.push(relPositions[i]!);
    }
    return out.reverse();
  }

  /** The index as encodeSegmentIndex takes it. */
  source(): IndexSource {
    const a = this.arrays;
    return {
      basePosition: this.basePosition,
      count: this.count,
      logBytes: this.logBytes,
      relPositions: a.relPositions,
      offsets: a.offsets,
      timestamps: a.timestamps,
      entities: this.entitySlots.chains(a.previousForEntity),
      types: this.typeSlots.chains(a.previousForType),
      ids: this.ids.view,
    };
  }

  /**
   * What the sealing worker needs: the per-record arrays are shared, not copied, and the
   * segment takes no more appends, so nothing writes them while the worker reads.
   */
  sealTask(indexPath: string): SealTask {
    return { indexPath, source: this.source() };
  }

  /**
   * Gives the per-record arrays back once nothing will read them: the segment is sealed and
   * its reads go to the index file. Reads are synchronous, so none is half done. The index
   * must not be used afterwards.
   */
  release(): void {
    const a = this.arrays;
    if (a === NO_INDEX_ARRAYS) return;
    this.arrays = NO_INDEX_ARRAYS;
    this.count = 0;
    releaseIndexArrays(a);
  }

  private grow(): void {
    const from = this.arrays;
    const to = takeIndexArrays(from.capacity * 2);
    to.relPositions.set(from.relPositions);
    to.offsets.set(from.offsets);
    to.timestamps.set(from.timestamps);
    to.previousForEntity.set(from.previousForEntity);
    to.previousForType.set(from.previousForType);
    this.arrays = to;
    releaseIndexArrays(from);
  }
}
