// One group-commit round of a log: the appends that arrived since the last round, checked
// against the committed state (and each other, in arrival order), given positions and versions,
// and encoded into one buffer that is written with one call and made durable with one fsync.
import { StoreError } from '../errors.js';
import type { EventView } from '../format/event_view.js';
import { type RecordInput, recordLength, writeRecord } from '../format/record.js';
import type { AppendResult } from '../types.js';

/** An event that passed validation, with its UTF-8 lengths measured. */
export interface CheckedEvent {
  id: string;
  idBytes: number;
  /** True when the client chose the id, so it must be checked for a duplicate. */
  clientId: boolean;
  eventType: string;
  typeBytes: number;
  entityId: string;
  entityBytes: number;
  payload: Uint8Array;
  metadata: Uint8Array | null;
  /** -1 means any. */
  expectedVersion: number;
  escape: boolean;
}

export interface PendingAppend {
  events: CheckedEvent[];
  resolve(results: AppendResult[]): void;
  reject(error: Error): void;
}

export interface Accepted {
  append: PendingAppend;
  results: AppendResult[];
  /** Index in `records` of this append's first new record. */
  firstRecord: number;
}

export interface PreparedRound {
  accepted: Accepted[];
  /** Encoded records of every accepted append, in position order. */
  buf: Buffer;
  records: RecordInput[];
  /** Offset of each record inside buf, plus buf.length at the end. */
  offsets: number[];
  firstPosition: number;
}

/** What the round needs to know of the committed log. */
export interface RoundContext {
  lastPosition: number;
  lastTimestampUs: number;
  entityVersion(entityId: string): number;
  findById(id: string): EventView | null;
}

function duplicateResult(view: EventView): AppendResult {
  return {
    eventId: view.id,
    position: view.position,
    version: view.version,
    timestampUs: view.timestampUs,
    duplicate: true,
  };
}

export function nowUs(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

/**
 * Builds a round from the queue. Appends that fail a check are rejected here and take no part;
 * the rest are all-or-nothing each. Returns null when nothing is left to write or resolve.
 */
export function prepareRound(queue: PendingAppend[], ctx: RoundContext): PreparedRound | null {
  const timestampUs = Math.max(nowUs(), ctx.lastTimestampUs);
  const versions = new Map<string, number>();
  const roundIds = new Map<string, RecordInput>();
  const accepted: Accepted[] = [];
  const records: RecordInput[] = [];
  let position = ctx.lastPosition + 1;
  for (const append of queue) {
    const local = new Map<string, number>();
    const mine: RecordInput[] = [];
    const results: AppendResult[] = [];
    let failure: StoreError | null = null;
    for (const event of append.events) {
      if (event.clientId) {
        const inRound = roundIds.get(event.id);
        const stored = inRound === undefined ? ctx.findById(event.id) : null;
        if (inRound !== undefined || stored !== null) {
          const sameEvent =
            inRound !== undefined
              ? inRound.entityId === event.entityId && inRound.eventType === event.eventType
              : stored!.entityId === event.entityId && stored!.eventType === event.eventType;
          if (!sameEvent) {
            failure = new StoreError('ALREADY_EXISTS', `event id ${event.id} is already used`, {
              eventId: event.id,
            });
            break;
          }
          results.push(
            inRound !== undefined
              ? {
                  eventId: inRound.id,
                  position: inRound.position,
                  version: inRound.version,
                  timestampUs: inRound.timestampUs,
                  duplicate: true,
                }
              : duplicateResult(stored!),
          );
          continue;
        }
      }
      const current =
        local.get(event.entityId) ??
        versions.get(event.entityId) ??
        ctx.entityVersion(event.entityId);
      if (event.expectedVersion !== -1 && event.expectedVersion !== current) {
        failure = new StoreError(
          'WRONG_EXPECTED_VERSION',
          `entity ${event.entityId} is at version ${current}, expected ${event.expectedVersion}`,
          {
            entityId: event.entityId,
            currentVersion: current,
            expectedVersion: event.expectedVersion,
          },
        );
        break;
      }
      local.set(event.entityId, current + 1);
      const record: RecordInput = {
        id: event.id,
        idBytes: event.idBytes,
        eventType: event.eventType,
        typeBytes: event.typeBytes,
        entityId: event.entityId,
        entityBytes: event.entityBytes,
        metadata: event.metadata,
        payload: event.payload,
        position: 0,
        timestampUs,
        version: current + 1,
        followers: 0,
        escape: event.escape,
      };
      mine.push(record);
      results.push({
        eventId: event.id,
        position: 0,
        version: current + 1,
        timestampUs,
        duplicate: false,
      });
    }
    if (failure !== null) {
      append.reject(failure);
      continue;
    }
    // Accepted: positions in arrival order; the followers count makes the batch atomic on disk.
    const firstRecord = records.length;
    let r = 0;
    for (let j = 0; j < mine.length; j++) {
      const record = mine[j]!;
      record.position = position++;
      record.followers = mine.length - 1 - j;
      while (results[r]!.duplicate) r++;
      results[r++]!.position = record.position;
      roundIds.set(record.id, record);
      records.push(record);
    }
    for (const [entityId, version] of local) versions.set(entityId, version);
    accepted.push({ append, results, firstRecord });
  }
  if (accepted.length === 0) return null;
  const offsets = new Array<number>(records.length + 1);
  let total = 0;
  for (let j = 0; j < records.length; j++) {
    offsets[j] = total;
    total += recordLength(records[j]!);
  }
  offsets[records.length] = total;
  const buf = Buffer.allocUnsafe(total);
  for (let j = 0; j < records.length; j++) writeRecord(buf, offsets[j]!, records[j]!);
  return { accepted, buf, records, offsets, firstPosition: ctx.lastPosition + 1 };
}

/** Index in round.records where the records of accepted append `a` start (or the end). */
export function recordStart(round: PreparedRound, a: number): number {
  return a < round.accepted.length ? round.accepted[a]!.firstRecord : round.records.length;
}
