// A rolling window counter: `slots` buckets of `slotMs` each; the sum covers the last
// slots x slotMs. Checking and counting are O(1) apart from slot rotation.

export interface WindowState {
  counts: number[];
  /** Start of the newest slot, in ms since the epoch. */
  headMs: number;
}

export class RollingWindow {
  total = 0;

  constructor(
    readonly slots: number,
    readonly slotMs: number,
    readonly state: WindowState = { counts: new Array(slots).fill(0), headMs: 0 },
  ) {
    this.total = state.counts.reduce((a, b) => a + b, 0);
  }

  private rotate(now: number): void {
    const slotStart = now - (now % this.slotMs);
    if (slotStart === this.state.headMs) return;
    const steps = Math.min(this.slots, Math.floor((slotStart - this.state.headMs) / this.slotMs));
    for (let i = 0; i < steps; i++) {
      this.total -= this.state.counts.shift()!;
      this.state.counts.push(0);
    }
    this.state.headMs = slotStart;
  }

  count(now: number): number {
    this.rotate(now);
    return this.total;
  }

  add(n: number, now: number): void {
    this.rotate(now);
    this.state.counts[this.slots - 1]! += n;
    this.total += n;
  }

  /** Seconds until the oldest counted slot leaves the window. */
  retryAfterSec(now: number): number {
    this.rotate(now);
    const oldest = this.state.counts.findIndex((c) => c > 0);
    if (oldest === -1) return 1;
    const leavesAt =
      this.state.headMs - (this.slots - 1 - oldest) * this.slotMs + this.slots * this.slotMs;
    return Math.max(1, Math.ceil((leavesAt - now) / 1000));
  }
}
