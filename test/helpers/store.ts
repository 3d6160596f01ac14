import fs from 'node:fs';
import path from 'node:path';
import { openStore, type Store, type StoreOptions } from '../../engine/index.js';

export interface Captured {
  warnings: { message: string; fields: Record<string, unknown> | undefined }[];
}

/** Options for a store with tiny segments and cache, so that rollover and eviction happen. */
export function tinyOptions(dataDir: string, extra: Partial<StoreOptions> = {}): StoreOptions {
  return {
    dataDir,
    segmentBytesMax: 4096,
    cacheBytes: 256 * 1024,
    logger: { warn: () => {}, info: () => {} },
    ...extra,
  };
}

/** Opens a tiny store whose warnings are kept for the test to read. */
export async function openTiny(
  dataDir: string,
  extra: Partial<StoreOptions> = {},
): Promise<Store & Captured> {
  const warnings: Captured['warnings'] = [];
  const store = await openStore(
    tinyOptions(dataDir, {
      logger: { warn: (message, fields) => warnings.push({ message, fields }), info: () => {} },
      ...extra,
    }),
  );
  return Object.assign(store, { warnings });
}

/** The segment files of a tenant's event log, oldest first. */
export function segmentFiles(dataDir: string, tenant = 'default'): string[] {
  const dir = path.join(dataDir, 'tenants', tenant, 'events');
  return fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.log'))
    .sort()
    .map((n) => path.join(dir, n));
}

/** Flips one bit of a file in place. */
export function flipBit(file: string, offset: number, bit = 0): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const one = Buffer.alloc(1);
    fs.readSync(fd, one, 0, 1, offset);
    one[0] = one[0]! ^ (1 << bit);
    fs.writeSync(fd, one, 0, 1, offset);
  } finally {
    fs.closeSync(fd);
  }
}
