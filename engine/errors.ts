// Operating errors of the engine. Each has a stable code; messages may change, codes never.
// The server maps codes to HTTP statuses in one table.

export const errorCodes = {
  /** Input breaks a rule of the event model (bad event_type, empty entity_id, ...). */
  VALIDATION_ERROR: 'VALIDATION_ERROR',
  /** A tenant id that is not 1-64 of [A-Za-z0-9_-]. */
  INVALID_TENANT_ID: 'INVALID_TENANT_ID',
  /** An event, payload, metadata or batch above its configured limit. */
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
  /** expected_version did not match the entity's current version. */
  WRONG_EXPECTED_VERSION: 'WRONG_EXPECTED_VERSION',
  /** A client event id that is already stored for a different event. */
  ALREADY_EXISTS: 'ALREADY_EXISTS',
  /** Bytes on disk failed their checksum or structure check; names the file and offset. */
  CORRUPTION: 'CORRUPTION',
  /** The disk is full: the append was not written; nothing acknowledged is damaged. */
  DISK_FULL: 'DISK_FULL',
  /** Any other I/O failure on the write path. */
  IO_ERROR: 'IO_ERROR',
  /** The tenant's log could not be opened or was disabled by an earlier failure. */
  LOG_UNAVAILABLE: 'LOG_UNAVAILABLE',
  /** The store is closed or closing. */
  STORE_CLOSED: 'STORE_CLOSED',
  /** Something asked for does not exist. */
  NOT_FOUND: 'NOT_FOUND',
  /** Not a backup this build can read: foreign, another format version, or an edited manifest. */
  BACKUP_INVALID: 'BACKUP_INVALID',
  /** A backup's bytes do not match its manifest: damaged or truncated. Names the first mismatch. */
  BACKUP_CORRUPT: 'BACKUP_CORRUPT',
  /** A restore target that already holds files, without --force. */
  TARGET_NOT_EMPTY: 'TARGET_NOT_EMPTY',
} as const;

export type ErrorCode = keyof typeof errorCodes;

export class StoreError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'StoreError';
    this.code = code;
    this.details = details;
  }
}

export function isStoreError(error: unknown, code?: ErrorCode): error is StoreError {
  return error instanceof StoreError && (code === undefined || error.code === code);
}

export function corruption(file: string, offset: number, reason: string): StoreError {
  return new StoreError('CORRUPTION', `corrupt data in ${file} at offset ${offset}: ${reason}`, {
    file,
    offset,
    reason,
  });
}

/** Maps a node:fs failure on the write path to a typed error. */
export function ioFailure(error: unknown, action: string): StoreError {
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  if (errno === 'ENOSPC' || errno === 'EDQUOT') {
    return new StoreError('DISK_FULL', `disk full while ${action}`, { errno });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new StoreError('IO_ERROR', `I/O error while ${action}: ${message}`, { errno });
}
