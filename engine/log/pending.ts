// The state that rounds in flight will leave behind once committed: positions, versions and
// client ids they claimed. A round being prepared writes its claims here directly (and takes
// them back if its append fails), so the next round is checked against them and can be
// prepared and written while the previous one waits for its write or fsync. When nothing is
// in flight the claims are dropped: the committed state says the same.
import type { RecordInput } from '../format/record.js';
import type { DuplicateSource, RoundContext } from './round.js';

/** What the committed log answers for a round. */
export interface CommittedState {
  readonly lastPosition: number;
  readonly lastTimestampUs: number;
  entityVersion(entityId: string): number;
  /** The committed event a new append with this client id repeats (within the window). */
  findRetry(id: string, hash: number): DuplicateSource | null;
}

export class PendingState implements RoundContext {
  /** Versions claimed by rounds in flight or being prepared, by entity. */
  readonly versions = new Map<string, number>();
  /** Client ids claimed by rounds in flight or being prepared. */
  readonly ids = new Map<string, DuplicateSource>();
  private position = -1;
  private timestamp = -1;

  constructor(private readonly committed: CommittedState) {}

  get lastPosition(): number {
    return this.position >= 0 ? this.position : this.committed.lastPosition;
  }

  get lastTimestampUs(): number {
    return this.timestamp >= 0 ? this.timestamp : this.committed.lastTimestampUs;
  }

  committedVersion(entityId: string): number {
    return this.committed.entityVersion(entityId);
  }

  findById(id: string, hash: number): DuplicateSource | null {
    return this.ids.get(id) ?? this.committed.findRetry(id, hash);
  }

  /** Takes in where a newly prepared round leaves the log. */
  claimed(lastPosition: number, lastTimestampUs: number): void {
    this.position = lastPosition;
    this.timestamp = lastTimestampUs;
  }

  /**
   * A round settled: its client ids are now found in the committed log (or the round failed,
   * and a reset follows). Under steady load the pipeline may never drain, so without this the
   * claimed ids, and the events they point to, would pile up until it did. Versions need no
   * such care: there is one claim per entity at most.
   */
  settled(records: readonly RecordInput[]): void {
    if (this.ids.size === 0) return;
    for (const record of records) {
      if (record.clientId && this.ids.get(record.id) === record) this.ids.delete(record.id);
    }
  }

  /** Forgets every claim: nothing is in flight, or what was in flight failed. */
  reset(): void {
    if (this.versions.size > 0) this.versions.clear();
    if (this.ids.size > 0) this.ids.clear();
    this.position = -1;
    this.timestamp = -1;
  }
}
