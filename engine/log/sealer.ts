// The thread that builds sealed segments' index files, one task at a time (a piscina pool of
// one worker, started on the first seal and closed with the store).
import { Piscina } from 'piscina';
import type { SealTask } from './seal_worker.js';

export interface Sealer {
  seal(task: SealTask): Promise<void>;
  close(): Promise<void>;
}

export function createSealer(): Sealer {
  let pool: Piscina | null = null;
  return {
    async seal(task) {
      pool ??= new Piscina({
        filename: new URL('./seal_worker.js', import.meta.url).href,
        minThreads: 0,
        maxThreads: 1,
        idleTimeout: 30_000,
      });
      await pool.run(task);
    },
    async close() {
      if (pool !== null) await pool.destroy();
      pool = null;
    },
  };
}
