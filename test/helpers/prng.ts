// A seeded PRNG (mulberry32), so that a failing random test can be replayed with its seed.

export interface Prng {
  readonly seed: number;
  next(): number;
  int(maxExclusive: number): number;
}

export function seedFromEnv(name = 'ALLSOURCE_SEED'): number {
  const fromEnv = process.env[name];
  return fromEnv !== undefined ? Number(fromEnv) : Math.floor(Math.random() * 2 ** 31);
}

export function createPrng(seed: number): Prng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { seed, next, int: (max) => Math.floor(next() * max) };
}
