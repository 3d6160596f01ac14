// Login back-off: failures are counted per username and per client address in a sliding
// window; past the allowance every attempt waits (429 with Retry-After) until the window
// moves on. Both maps are bounded.

export interface Backoff {
  /** Seconds to wait before trying again, or 0 when an attempt is allowed. */
  retryAfter(username: string, address: string): number;
  failed(username: string, address: string): void;
  succeeded(username: string): void;
}

interface Window {
  failures: number;
  startedMs: number;
}

export function createBackoff(allowed: number, windowMs: number, entriesMax: number): Backoff {
  const users = new Map<string, Window>();
  const addresses = new Map<string, Window>();
  const wait = (map: Map<string, Window>, key: string, now: number): number => {
    const w = map.get(key);
    if (w === undefined || now - w.startedMs >= windowMs) return 0;
    return w.failures >= allowed
      ? Math.max(1, Math.ceil((w.startedMs + windowMs - now) / 1000))
      : 0;
  };
  const count = (map: Map<string, Window>, key: string, now: number): void => {
    const w = map.get(key);
    if (w === undefined || now - w.startedMs >= windowMs) {
      if (map.size >= entriesMax) map.delete(map.keys().next().value!);
      map.set(key, { failures: 1, startedMs: now });
    } else w.failures++;
  };
  return {
    retryAfter(username, address) {
      const now = Date.now();
      return Math.max(wait(users, username, now), wait(addresses, address, now));
    },
    failed(username, address) {
      const now = Date.now();
      count(users, username, now);
      count(addresses, address, now);
    },
    succeeded(username) {
      users.delete(username);
    },
  };
}
