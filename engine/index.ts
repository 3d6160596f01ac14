// The engine's only public surface. The server imports from here and nowhere else in engine/.

export { assert } from './assert.js';
export { listBackups, pruneBackups, removePartials } from './backup/catalog.js';
export { type BackupSummary, createBackup, summarize } from './backup/create.js';
export type { Manifest } from './backup/manifest.js';
export { loadManifest, type VerifyReport, verifyBackup } from './backup/read.js';
export { type RestoreOptions, type RestoreResult, restoreBackup } from './backup/restore.js';
export { corruption, type ErrorCode, errorCodes, isStoreError, StoreError } from './errors.js';
export { eventJson, eventsJson } from './format/event_json.js';
export { EventView } from './format/event_view.js';
export { isValidTenantId } from './format/names.js';
export { formatTimestampUs, parseTimestampUs } from './format/timestamp.js';
export { createNodeIo, type Io } from './io/io.js';
export { type Limits, limits } from './limits.js';
export { eventsJsonWithRuns } from './log/entity_runs.js';
export type { Logger } from './log/open.js';
export {
  type CompactionRun,
  type CompactionStats,
  openStore,
  type RetentionPolicy,
  type Store,
  type StoreConfig,
  type StoreCounters,
  type StoreOptions,
} from './store/store.js';
export type { Pull, Subscription } from './store/subscription.js';
export { checkEntityId, checkEventType } from './store/validate.js';
export type * from './types.js';
