// The one table from error code to HTTP status and WebSocket close code. Every error a client
// sees is JSON: {"error": "<message>", "code": "<CODE>"}, plus fields some codes carry.
import { type ErrorCode, isStoreError } from '../engine/index.js';

export type ServerErrorCode =
  | ErrorCode
  | 'INVALID_JSON'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'PAYLOAD_TOO_LARGE'
  | 'ROUTE_NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'SHUTTING_DOWN'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'RATE_LIMITED'
  | 'QUOTA_EXCEEDED'
  | 'BACKUP_IN_PROGRESS'
  | 'INTERNAL_ERROR';

interface Mapping {
  status: string;
  /** WebSocket close code used when this error ends a socket. */
  close: number;
}

export const errorTable: Record<ServerErrorCode, Mapping> = {
  VALIDATION_ERROR: { status: '400 Bad Request', close: 1008 },
  INVALID_JSON: { status: '400 Bad Request', close: 1007 },
  INVALID_TENANT_ID: { status: '400 Bad Request', close: 1008 },
  LIMIT_EXCEEDED: { status: '413 Payload Too Large', close: 1009 },
  PAYLOAD_TOO_LARGE: { status: '413 Payload Too Large', close: 1009 },
  UNSUPPORTED_MEDIA_TYPE: { status: '415 Unsupported Media Type', close: 1003 },
  WRONG_EXPECTED_VERSION: { status: '409 Conflict', close: 1008 },
  ALREADY_EXISTS: { status: '409 Conflict', close: 1008 },
  UNAUTHORIZED: { status: '401 Unauthorized', close: 1008 },
  FORBIDDEN: { status: '403 Forbidden', close: 1008 },
  RATE_LIMITED: { status: '429 Too Many Requests', close: 1013 },
  QUOTA_EXCEEDED: { status: '429 Too Many Requests', close: 1013 },
  NOT_FOUND: { status: '404 Not Found', close: 1008 },
  ROUTE_NOT_FOUND: { status: '404 Not Found', close: 1008 },
  METHOD_NOT_ALLOWED: { status: '405 Method Not Allowed', close: 1008 },
  CORRUPTION: { status: '500 Internal Server Error', close: 1011 },
  INTERNAL_ERROR: { status: '500 Internal Server Error', close: 1011 },
  DISK_FULL: { status: '507 Insufficient Storage', close: 1011 },
  IO_ERROR: { status: '503 Service Unavailable', close: 1011 },
  LOG_UNAVAILABLE: { status: '503 Service Unavailable', close: 1011 },
  STORE_CLOSED: { status: '503 Service Unavailable', close: 1001 },
  SHUTTING_DOWN: { status: '503 Service Unavailable', close: 1001 },
  BACKUP_INVALID: { status: '422 Unprocessable Entity', close: 1011 },
  BACKUP_CORRUPT: { status: '422 Unprocessable Entity', close: 1011 },
  TARGET_NOT_EMPTY: { status: '409 Conflict', close: 1008 },
  BACKUP_IN_PROGRESS: { status: '409 Conflict', close: 1008 },
};

export class HttpError extends Error {
  readonly code: ServerErrorCode;
  readonly extra: Record<string, unknown>;

  constructor(code: ServerErrorCode, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.name = 'HttpError';
    this.code = code;
    this.extra = extra;
  }
}

/** Any thrown value as an HttpError; unknown ones become INTERNAL_ERROR (a bug). */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (isStoreError(error)) {
    const extra: Record<string, unknown> = {};
    if (error.code === 'WRONG_EXPECTED_VERSION') {
      extra.current_version = error.details.currentVersion;
      extra.expected_version = error.details.expectedVersion;
      extra.entity_id = error.details.entityId;
    }
    if (error.code === 'VALIDATION_ERROR' || error.code === 'LIMIT_EXCEEDED') {
      if (error.details.field !== undefined) extra.field = error.details.field;
      if (error.details.index !== undefined) extra.index = error.details.index;
    }
    // Corruption details name server files: log them, never send them.
    const message =
      error.code === 'CORRUPTION' ? 'stored data failed its integrity check' : error.message;
    return new HttpError(error.code, message, extra);
  }
  return new HttpError('INTERNAL_ERROR', 'internal error');
}

export function errorBody(error: HttpError): string {
  return JSON.stringify({ error: error.message, code: error.code, ...error.extra });
}
