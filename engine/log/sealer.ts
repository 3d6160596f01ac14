// The thread that builds sealed segments' index files, one task at a time (a piscina pool of
// one worker, started on the first seal and closed with the store).
import { Piscina } from 'piscina';
import type { SealResult, SealTask } from './seal_worker.js';

export interface Sealer {
  seal(task: SealTask): Promise<SealResult>;
  /** Index work done off the caller's path (a rebuilt index being written); close waits for it. */
  track(work: Promise<void>): void;
  close(): Promise<void>;
}

export function createSealer(): Sealer {
  let pool: Piscina | null = null;
  const background = new Set<Promise<void>>();
  return {
    async seal(task) {
      pool ??= new Piscina({
        filename: new URL('./seal_worker.js', import.meta.url).href,
        minThreads: 0,
        maxThreads: 1,
        idleTimeout: 30_000,
      });
      // The per-record arrays are shared memory: they reach the worker without a copy.
      return (await pool.run(task)) as SealResult;
    },
    track(work) {
      const settled = work.then(
        () => {},
        () => {},
      );
      background.add(settled);
      settled.then(() => background.delete(settled));
    },
    async close() {
      await Promise.all(background);
      if (pool !== null) await pool.destroy();
      pool = null;
    },
  };
}
