// A read-only view of one stored record. Fields decode lazily: a read that only forwards the
// bytes (the server's wire path) never allocates a string for them.
import {
  Field,
  FLAG_CLIENT_ID,
  FLAG_ESCAPE,
  FLAG_METADATA,
  RECORD_HEADER_BYTES,
} from './record.js';
import { readU64 } from './u64.js';

export class EventView {
  /** Exactly the record's bytes (a view into a cached chunk; do not write to it). */
  readonly bytes: Buffer;

  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }

  get position(): number {
    return readU64(this.bytes, Field.Position);
  }

  get timestampUs(): number {
    return readU64(this.bytes, Field.Timestamp);
  }

  get version(): number {
    return this.bytes.readUInt32LE(Field.Version);
  }

  get followers(): number {
    return this.bytes.readUInt16LE(Field.Followers);
  }

  /** True when id or entity_id must be JSON-escaped on output. */
  get needsEscape(): boolean {
    return (this.bytes[Field.Flags]! & FLAG_ESCAPE) !== 0;
  }

  /** True when the client chose the id (an idempotency key). */
  get clientId(): boolean {
    return (this.bytes[Field.Flags]! & FLAG_CLIENT_ID) !== 0;
  }

  get idStart(): number {
    return RECORD_HEADER_BYTES;
  }

  get typeStart(): number {
    return RECORD_HEADER_BYTES + this.bytes[Field.IdLen]!;
  }

  get entityStart(): number {
    return this.typeStart + this.bytes[Field.TypeLen]!;
  }

  get metadataStart(): number {
    return this.entityStart + this.bytes[Field.EntityLen]!;
  }

  get payloadStart(): number {
    return this.metadataStart + this.bytes.readUInt32LE(Field.MetadataLen);
  }

  get id(): string {
    return this.bytes.toString('utf8', RECORD_HEADER_BYTES, this.typeStart);
  }

  get eventType(): string {
    const start = this.typeStart;
    return this.bytes.toString('latin1', start, start + this.bytes[Field.TypeLen]!);
  }

  get entityId(): string {
    const start = this.entityStart;
    return this.bytes.toString('utf8', start, start + this.bytes[Field.EntityLen]!);
  }

  get hasMetadata(): boolean {
    return (this.bytes[Field.Flags]! & FLAG_METADATA) !== 0;
  }

  /** The metadata JSON bytes, or null. */
  get metadata(): Buffer | null {
    if ((this.bytes[Field.Flags]! & FLAG_METADATA) === 0) return null;
    const start = this.metadataStart;
    return this.bytes.subarray(start, start + this.bytes.readUInt32LE(Field.MetadataLen));
  }

  /** The payload JSON bytes. */
  get payload(): Buffer {
    const start = this.payloadStart;
    return this.bytes.subarray(start, start + this.bytes.readUInt32LE(Field.PayloadLen));
  }

  /** Compares the stored entity_id with UTF-8 bytes without decoding it. */
  entityIdEquals(entityBytes: Buffer): boolean {
    const length = this.bytes[Field.EntityLen]!;
    return (
      length === entityBytes.length && sameBytes(this.bytes, this.entityStart, entityBytes, length)
    );
  }

  eventTypeEquals(typeBytes: Buffer): boolean {
    const length = this.bytes[Field.TypeLen]!;
    return length === typeBytes.length && sameBytes(this.bytes, this.typeStart, typeBytes, length);
  }

  eventTypeStartsWith(prefixBytes: Buffer): boolean {
    const length = prefixBytes.length;
    return (
      length <= this.bytes[Field.TypeLen]! &&
      sameBytes(this.bytes, this.typeStart, prefixBytes, length)
    );
  }
}

/**
 * Byte equality of short fields (at most 255 bytes). A plain loop: for strings this short it
 * costs less than a call into Buffer.compare.
 */
function sameBytes(buf: Buffer, start: number, other: Buffer, length: number): boolean {
  for (let k = 0; k < length; k++) if (buf[start + k] !== other[k]) return false;
  return true;
}
