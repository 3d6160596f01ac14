// Store options: defaults from limits.ts, and checks that every value is in range.

import path from 'node:path';
import { StoreError } from '../errors.js';
import type { Io } from '../io/io.js';
import { limits } from '../limits.js';
import type { Logger } from '../log/open.js';
import type { FsyncPolicy } from '../types.js';
import type { ValidationLimits } from './validate.js';

export interface StoreOptions {
  dataDir: string;
  fsync?: FsyncPolicy;
  fsyncIntervalMs?: number;
  segmentBytesMax?: number;
  cacheBytes?: number;
  payloadBytesMax?: number;
  metadataBytesMax?: number;
  batchEventsMax?: number;
  io?: Io;
  logger?: Logger;
}

export interface StoreConfig extends ValidationLimits {
  dataDir: string;
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  segmentBytesMax: number;
  cacheBytes: number;
}

export function resolveConfig(options: StoreOptions): StoreConfig {
  const config: StoreConfig = {
    dataDir: path.resolve(options.dataDir),
    fsync: options.fsync ?? 'always',
    fsyncIntervalMs: options.fsyncIntervalMs ?? limits.fsyncIntervalMsDefault,
    segmentBytesMax: options.segmentBytesMax ?? limits.segmentBytesMaxDefault,
    cacheBytes: options.cacheBytes ?? limits.cacheBytesDefault,
    payloadBytesMax: options.payloadBytesMax ?? limits.payloadBytesMaxDefault,
    metadataBytesMax: options.metadataBytesMax ?? limits.metadataBytesMaxDefault,
    batchEventsMax: options.batchEventsMax ?? limits.batchEventsMaxDefault,
  };
  const bad = (message: string): never => {
    throw new StoreError('VALIDATION_ERROR', `store option ${message}`);
  };
  if (!['always', 'interval', 'never'].includes(config.fsync))
    bad('fsync must be always|interval|never');
  if (!(config.fsyncIntervalMs >= 1)) bad('fsyncIntervalMs must be >= 1');
  if (
    !(
      config.segmentBytesMax >= limits.segmentBytesMin &&
      config.segmentBytesMax <= limits.segmentBytesMaxCeiling
    )
  ) {
    bad(`segmentBytesMax must be ${limits.segmentBytesMin}..${limits.segmentBytesMaxCeiling}`);
  }
  if (!(config.payloadBytesMax >= 1 && config.payloadBytesMax <= limits.payloadBytesMaxCeiling)) {
    bad(`payloadBytesMax must be 1..${limits.payloadBytesMaxCeiling}`);
  }
  if (!(config.batchEventsMax >= 1 && config.batchEventsMax <= limits.batchEventsMaxCeiling)) {
    bad(`batchEventsMax must be 1..${limits.batchEventsMaxCeiling}`);
  }
  if (!(config.cacheBytes >= limits.chunkBytes)) bad(`cacheBytes must be >= ${limits.chunkBytes}`);
  return config;
}
