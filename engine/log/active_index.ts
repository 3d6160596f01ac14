// The in-memory index of the active segment. It grows with the segment (bounded by the segment
// size) and is written out as the segment's .idx file when the segment is sealed.
import type { IndexSource } from '../format/segment_index.js';

const INITIAL_CAPACITY = 1024;

export class ActiveIndex implements IndexSource {
  readonly basePosition: number;
  count = 0;
  logBytes = 0;
  relPositions = new Uint32Array(INITIAL_CAPACITY);
  offsets = new Uint32Array(INITIAL_CAPACITY);
  timestamps = new Float64Array(INITIAL_CAPACITY);
  readonly entities = new Map<string, number[]>();
  readonly types = new Map<string, number[]>();
  readonly ids = new Map<string, number>();

  constructor(basePosition: number) {
    this.basePosition = basePosition;
  }

  add(
    relPosition: number,
    offset: number,
    timestampUs: number,
    id: string,
    eventType: string,
    entityId: string,
  ): void {
    if (this.count === this.offsets.length) this.grow();
    const i = this.count++;
    this.relPositions[i] = relPosition;
    this.offsets[i] = offset;
    this.timestamps[i] = timestampUs;
    const forEntity = this.entities.get(entityId);
    if (forEntity === undefined) this.entities.set(entityId, [relPosition]);
    else forEntity.push(relPosition);
    const forType = this.types.get(eventType);
    if (forType === undefined) this.types.set(eventType, [relPosition]);
    else forType.push(relPosition);
    this.ids.set(id, relPosition);
  }

  private grow(): void {
    const size = this.offsets.length * 2;
    const relPositions = new Uint32Array(size);
    relPositions.set(this.relPositions);
    this.relPositions = relPositions;
    const offsets = new Uint32Array(size);
    offsets.set(this.offsets);
    this.offsets = offsets;
    const timestamps = new Float64Array(size);
    timestamps.set(this.timestamps);
    this.timestamps = timestamps;
  }
}
