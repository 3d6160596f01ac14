// One group-commit round of a log: the appends that arrived since the last round, checked
// against the committed state (and each other, in arrival order), given positions and versions,
// and encoded into one buffer that is written with one call and made durable with one fsync.
import { StoreError } from '../errors.js';
import { hashString32 } from '../format/checksum.js';
import { type RecordInput, recordLength, writeRecord } from '../format/record.js';
import type { AppendResult } from '../types.js';
import { takeRoundBuffer } from './round_buffers.js';

/**
 * An event that passed validation, with its UTF-8 lengths measured. The round fills in the
 * rest of RecordInput (position, version, ...) on the same object: one object per event.
 */
export interface CheckedEvent extends RecordInput {
  /** -1 means any. */
  expectedVersion: number;
  /** xxh32 of a client id, taken once when the round looks for a retry; the index reuses it. */
  idHash: number;
}

export interface PendingAppend {
  events: CheckedEvent[];
  /** Bytes its records take encoded. */
  bytes: number;
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
  /** The log's epoch when prepared; a failure before it commits moves the epoch on. */
  epoch: number;
  accepted: Accepted[];
  /** Encoded records of every accepted append, in position order. */
  buf: Buffer;
  /** The reused slab buf lives in, given back when the round is written (see round_buffers). */
  slab: Buffer | null;
  records: CheckedEvent[];
  /** Offset of each record inside buf, plus buf.length at the end. */
  offsets: number[];
}

/** What a duplicate check needs of the original event, stored or still in flight. */
export type DuplicateSource = Pick<
  RecordInput,
  'entityId' | 'eventType' | 'position' | 'version' | 'timestampUs'
>;

/**
 * What the round needs to know of the log it extends: where it ends, and the claims of rounds
 * in flight (pending.ts), which the round extends in place.
 */
export interface RoundContext {
  readonly lastPosition: number;
  readonly lastTimestampUs: number;
  /** Versions claimed and not yet committed, by entity; the round adds its own. */
  readonly versions: Map<string, number>;
  /** Client ids claimed and not yet committed; the round adds its own. */
  readonly ids: Map<string, DuplicateSource>;
  committedVersion(entityId: string): number;
  /** A claimed or committed event with this client id. */
  findById(id: string, hash: number): DuplicateSource | null;
  /** Where the round just prepared leaves the log. */
  claimed(lastPosition: number, lastTimestampUs: number): void;
}

/** Bytes the events take as records. */
export function encodedBytes(events: readonly CheckedEvent[]): number {
  let bytes = 0;
  for (let e = 0; e < events.length; e++) bytes += recordLength(events[e]!);
  return bytes;
}

export function nowUs(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

/** The result a retried client id gets, or an error when the id names another event. */
function duplicateOf(event: CheckedEvent, ctx: RoundContext): AppendResult | StoreError | null {
  event.idHash = hashString32(event.id);
  const original = ctx.findById(event.id, event.idHash);
  if (original === null) return null;
  if (original.entityId !== event.entityId || original.eventType !== event.eventType) {
    return new StoreError('ALREADY_EXISTS', `event id ${event.id} is already used`, {
      eventId: event.id,
    });
  }
  return {
    eventId: event.id,
    position: original.position,
    version: original.version,
    timestampUs: original.timestampUs,
    duplicate: true,
  };
}

/**
 * Builds a round from the queue. Appends that fail a check are rejected here and take no part;
 * the rest are all-or-nothing each. Returns null when nothing is left to write or resolve.
 */
export function prepareRound(queue: PendingAppend[], ctx: RoundContext): PreparedRound | null {
  const timestampUs = Math.max(nowUs(), ctx.lastTimestampUs);
  /** Claimed versions, extended in place; undone entry by entry when an append fails. */
  const versions = ctx.versions;
  /** Pairs of (entity id, claim before this append) for the append being checked. */
  const undo: (string | number | undefined)[] = [];
  const accepted: Accepted[] = [];
  const records: CheckedEvent[] = [];
  let position = ctx.lastPosition + 1;
  /** Bytes of the records: the accepted appends' own count (PendingAppend.bytes), less retries. */
  let total = 0;
  for (const append of queue) {
    const firstRecord = records.length;
    const results: AppendResult[] = new Array(append.events.length);
    let failure: StoreError | null = null;
    /** Bytes of this append's events that are retries: they write no record. */
    let duplicateBytes = 0;
    undo.length = 0;
    for (let e = 0; e < append.events.length; e++) {
      const event = append.events[e]!;
      if (event.clientId) {
        const duplicate = duplicateOf(event, ctx);
        if (duplicate instanceof StoreError) {
          failure = duplicate;
          break;
        }
        if (duplicate !== null) {
          results[e] = duplicate;
          duplicateBytes += recordLength(event);
          continue;
        }
      }
      const before = versions.get(event.entityId);
      const current = before ?? ctx.committedVersion(event.entityId);
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
      undo.push(event.entityId, before);
      versions.set(event.entityId, current + 1);
      event.version = current + 1;
      event.timestampUs = timestampUs;
      records.push(event);
    }
    if (failure !== null) {
      for (let u = undo.length - 2; u >= 0; u -= 2) {
        const entityId = undo[u] as string;
        const before = undo[u + 1] as number | undefined;
        if (before === undefined) versions.delete(entityId);
        else versions.set(entityId, before);
      }
      records.length = firstRecord;
      append.reject(failure);
      continue;
    }
    // Accepted: positions in arrival order; the followers count makes the batch atomic on disk.
    const last = records.length - 1;
    for (let j = firstRecord; j <= last; j++) {
      const record = records[j]!;
      record.position = position++;
      record.followers = last - j;
      if (record.clientId) ctx.ids.set(record.id, record);
    }
    accepted.push({ append, results, firstRecord });
    total += append.bytes - duplicateBytes;
  }
  if (accepted.length === 0) return null;
  ctx.claimed(position - 1, timestampUs);
  const offsets = new Array<number>(records.length + 1);
  const { buf, slab } = takeRoundBuffer(total);
  // Encoding gives generated ids their text, so results are made after it.
  let at = 0;
  for (let j = 0; j < records.length; j++) {
    offsets[j] = at;
    at += writeRecord(buf, at, records[j]!);
  }
  if (at !== total) throw new Error('assertion failed: round length mismatch');
  offsets[records.length] = at;
  for (let a = 0; a < accepted.length; a++) {
    const results = accepted[a]!.results;
    const end = a + 1 < accepted.length ? accepted[a + 1]!.firstRecord : records.length;
    let e = 0;
    for (let j = accepted[a]!.firstRecord; j < end; j++, e++) {
      const record = records[j]!;
      while (results[e] !== undefined) e++;
      results[e] = {
        eventId: record.id,
        position: record.position,
        version: record.version,
        timestampUs,
        duplicate: false,
      };
    }
  }
  return { epoch: 0, accepted, buf, slab, records, offsets };
}

/** Index in round.records where the records of accepted append `a` start (or the end). */
export function recordStart(round: PreparedRound, a: number): number {
  return a < round.accepted.length ? round.accepted[a]!.firstRecord : round.records.length;
}
