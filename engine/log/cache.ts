// The read cache: record chunks and sealed segment indexes, shared by every tenant, bounded in
// bytes. Memory therefore grows with the configured budget, never with the number of events.
//
// Eviction is CLOCK (second chance): a hit only sets a flag, which keeps the hot read path free
// of the map reshuffling that a strict LRU would do on every record.

export interface CacheEntry {
  /** Bytes this entry holds. */
  readonly bytes: number;
  /** Set on every hit; cleared by the clock hand. */
  referenced: boolean;
  /** Slot in the clock ring, or -1 when not cached. */
  slot: number;
  /** Called when evicted: the owner drops its reference. */
  evict(): void;
}

export interface ReadCache {
  add(entry: CacheEntry): void;
  remove(entry: CacheEntry): void;
  readonly usedBytes: number;
  readonly capacityBytes: number;
  readonly entries: number;
}

export function createReadCache(capacityBytes: number): ReadCache {
  const ring: CacheEntry[] = [];
  let hand = 0;
  let used = 0;

  function take(slot: number): void {
    const entry = ring[slot]!;
    const last = ring.pop()!;
    if (last !== entry) {
      ring[slot] = last;
      last.slot = slot;
    }
    entry.slot = -1;
    used -= entry.bytes;
  }

  function evictUntilFits(): void {
    // Two sweeps clear every flag, so the loop ends even if every entry was just used.
    let steps = ring.length * 2 + 1;
    while (used > capacityBytes && ring.length > 1 && steps-- > 0) {
      if (hand >= ring.length) hand = 0;
      const entry = ring[hand]!;
      if (entry.referenced) {
        entry.referenced = false;
        hand++;
      } else {
        take(hand);
        entry.evict();
      }
    }
  }

  return {
    add(entry) {
      if (entry.slot !== -1) return;
      entry.slot = ring.length;
      entry.referenced = true;
      ring.push(entry);
      used += entry.bytes;
      evictUntilFits();
    },
    remove(entry) {
      if (entry.slot !== -1) take(entry.slot);
    },
    get usedBytes() {
      return used;
    },
    capacityBytes,
    get entries() {
      return ring.length;
    },
  };
}
