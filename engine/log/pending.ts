// The state that rounds in flight will leave behind once committed: positions, versions and
// client ids they claimed. The next round is checked against it, so it can be prepared and
// written while the previous round waits for its fsync. Rounds are folded into the maps only
// when a lookup needs them: with nothing in flight at prepare time, this costs nothing.
import type { RecordInput } from '../format/record.js';
import type { DuplicateSource, PreparedRound, RoundContext } from './round.js';

export class PendingState implements RoundContext {
  private readonly versions = new Map<string, number>();
  private readonly ids = new Map<string, RecordInput>();
  private unfolded: PreparedRound[] = [];
  private position = -1;
  private timestamp = -1;

  constructor(private readonly committed: RoundContext) {}

  get lastPosition(): number {
    return this.position >= 0 ? this.position : this.committed.lastPosition;
  }

  get lastTimestampUs(): number {
    return this.timestamp >= 0 ? this.timestamp : this.committed.lastTimestampUs;
  }

  entityVersion(entityId: string): number {
    if (this.unfolded.length > 0) this.fold();
    return this.versions.get(entityId) ?? this.committed.entityVersion(entityId);
  }

  findById(id: string): DuplicateSource | null {
    if (this.unfolded.length > 0) this.fold();
    return this.ids.get(id) ?? this.committed.findById(id);
  }

  private fold(): void {
    for (const round of this.unfolded) {
      for (const record of round.records) {
        this.versions.set(record.entityId, record.version);
        if (record.clientId) this.ids.set(record.id, record);
      }
    }
    this.unfolded = [];
  }

  /** Takes in what a newly prepared round claims. */
  add(round: PreparedRound): void {
    this.unfolded.push(round);
    const last = round.records[round.records.length - 1];
    if (last !== undefined) {
      this.position = last.position;
      this.timestamp = last.timestampUs;
    }
  }

  /** Forgets every claim: nothing is in flight, or what was in flight failed. */
  reset(): void {
    this.unfolded = [];
    this.versions.clear();
    this.ids.clear();
    this.position = -1;
    this.timestamp = -1;
  }
}
