// A read-only view of one stored record. Fields decode lazily: a read that only forwards the
// bytes (the server's wire path) never allocates a string for them. A view is three fields
// over the buffer that holds the record (a cached chunk, usually), so a read of many events
// allocates one small object per event and no Buffer; `bytes` cuts one only when asked.
import {
  Field,
  FLAG_CLIENT_ID,
  FLAG_ESCAPE,
  FLAG_METADATA,
  RECORD_HEADER_BYTES,
} from './record.js';
import { readU64 } from './u64.js';

export class EventView {
  /** The buffer holding the record (shared; do not write to it). */
  readonly buf: Buffer;
  /** Offset of the record's first byte in buf. */
  readonly start: number;
  /** Offset just past the record's last byte in buf. */
  readonly end: number;
  /**
   * The entity run buf belongs to, when it is one (engine/log/entity_runs.ts), and the record's
   * index in it: the run may hold this record's wire JSON already. Opaque to this module.
   */
  run: object | null = null;
  runIndex = -1;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.start = start;
    this.end = end;
  }

  /** Exactly the record's bytes, as a view into buf. */
  get bytes(): Buffer {
    return this.buf.subarray(this.start, this.end);
  }

  get position(): number {
    return readU64(this.buf, this.start + Field.Position);
  }

  get timestampUs(): number {
    return readU64(this.buf, this.start + Field.Timestamp);
  }

  get version(): number {
    return this.buf.readUInt32LE(this.start + Field.Version);
  }

  get followers(): number {
    return this.buf.readUInt16LE(this.start + Field.Followers);
  }

  /** True when id or entity_id must be JSON-escaped on output. */
  get needsEscape(): boolean {
    return (this.buf[this.start + Field.Flags]! & FLAG_ESCAPE) !== 0;
  }

  /** True when the client chose the id (an idempotency key). */
  get clientId(): boolean {
    return (this.buf[this.start + Field.Flags]! & FLAG_CLIENT_ID) !== 0;
  }

  // The *Start offsets below are offsets in buf, not in the record.

  get idStart(): number {
    return this.start + RECORD_HEADER_BYTES;
  }

  get typeStart(): number {
    return this.idStart + this.buf[this.start + Field.IdLen]!;
  }

  get entityStart(): number {
    return this.typeStart + this.buf[this.start + Field.TypeLen]!;
  }

  get metadataStart(): number {
    return this.entityStart + this.buf[this.start + Field.EntityLen]!;
  }

  get payloadStart(): number {
    return this.metadataStart + this.buf.readUInt32LE(this.start + Field.MetadataLen);
  }

  get id(): string {
    return this.buf.toString('utf8', this.idStart, this.typeStart);
  }

  get eventType(): string {
    const start = this.typeStart;
    return this.buf.toString('latin1', start, start + this.buf[this.start + Field.TypeLen]!);
  }

  get entityId(): string {
    const start = this.entityStart;
    return this.buf.toString('utf8', start, start + this.buf[this.start + Field.EntityLen]!);
  }

  get hasMetadata(): boolean {
    return (this.buf[this.start + Field.Flags]! & FLAG_METADATA) !== 0;
  }

  /** The metadata JSON bytes, or null. */
  get metadata(): Buffer | null {
    if (!this.hasMetadata) return null;
    const start = this.metadataStart;
    return this.buf.subarray(start, start + this.buf.readUInt32LE(this.start + Field.MetadataLen));
  }

  /** The payload JSON bytes. */
  get payload(): Buffer {
    const start = this.payloadStart;
    return this.buf.subarray(start, start + this.buf.readUInt32LE(this.start + Field.PayloadLen));
  }

  /** Compares the stored entity_id with UTF-8 bytes without decoding it. */
  entityIdEquals(entityBytes: Buffer): boolean {
    const length = this.buf[this.start + Field.EntityLen]!;
    return length === entityBytes.length && sameBytes(this.buf, this.entityStart, entityBytes);
  }

  eventTypeEquals(typeBytes: Buffer): boolean {
    const length = this.buf[this.start + Field.TypeLen]!;
    return length === typeBytes.length && sameBytes(this.buf, this.typeStart, typeBytes);
  }

  eventTypeStartsWith(prefixBytes: Buffer): boolean {
    return (
      prefixBytes.length <= this.buf[this.start + Field.TypeLen]! &&
      sameBytes(this.buf, this.typeStart, prefixBytes)
    );
  }
}

/**
 * Byte equality of a short field (at most 255 bytes) with all of `other`. A plain loop: for
 * strings this short it costs less than a call into Buffer.compare.
 */
function sameBytes(buf: Buffer, start: number, other: Buffer): boolean {
  for (let k = 0; k < other.length; k++) if (buf[start + k] !== other[k]) return false;
  return true;
}
