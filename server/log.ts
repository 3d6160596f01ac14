// Structured logs through pino: one JSON object per line (or a readable line with
// format = "pretty"), each request's id on what concerns it, and no secrets: credentials,
// passwords, tokens and keys are redacted wherever they appear, and request bodies and headers
// are never logged. Per-request access lines are off by default (the hot path stays quiet).
import { randomBytes } from 'node:crypto';
import { type Logger as Pino, pino } from 'pino';
import pretty from 'pino-pretty';
import type { Logger as EngineLogger } from '../engine/index.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface LogConfig {
  logLevel: LogLevel;
  logFormat: 'json' | 'pretty';
  accessLog: boolean;
}

export type ServerLogger = Pino;

const REDACT = [
  'authorization',
  'password',
  'token',
  'key',
  'api_key',
  'secret',
  '*.authorization',
  '*.password',
  '*.token',
  '*.key',
  '*.api_key',
  '*.secret',
];

export function createLogger(config: LogConfig, destination?: NodeJS.WritableStream): ServerLogger {
  const options = {
    level: config.logLevel,
    base: { service: 'allsource' },
    redact: { paths: REDACT, censor: '[redacted]' },
  };
  if (config.logFormat === 'pretty') {
    return pino(
      options,
      pretty({ colorize: false, sync: true, destination: destination ?? process.stderr }),
    );
  }
  return pino(options, destination ?? process.stderr);
}

/** The engine's logger interface over the server's. */
export function engineLogger(log: ServerLogger): EngineLogger {
  return {
    warn: (message, fields) => log.warn({ ...fields, component: 'engine' }, message),
    info: (message, fields) => log.info({ ...fields, component: 'engine' }, message),
  };
}

const INCOMING = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Request ids: the client's `x-request-id` when it is a sane token, else this process's prefix
 * and a counter (unique per process, cheap, and sortable by arrival).
 */
export function createRequestIds(): (incoming: string) => string {
  const prefix = `${randomBytes(4).toString('hex')}-`;
  let counter = 0;
  return (incoming) =>
    incoming !== '' && INCOMING.test(incoming) ? incoming : prefix + (++counter).toString(36);
}
