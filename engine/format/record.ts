// The record: one event on disk. Byte table in docs/FORMAT.md. Pure functions over Buffers.
//
//   0  u64 checksum      xxh64 of bytes [8, length): header and body
//   8  u32 length        whole record, header included
//  12  u8  format        RECORD_FORMAT
//  13  u8  flags         FLAG_ESCAPE | FLAG_METADATA | FLAG_CLIENT_ID
//  14  u16 followers     records after this one in the same atomic batch
//  16  u64 position
//  24  u64 timestamp_us
//  32  u32 version       the entity's version
//  36  u8  id_len, 37 u8 type_len, 38 u8 entity_len, 39 u8 reserved (0)
//  40  u32 metadata_len
//  44  u32 payload_len
//  48  id, event_type, entity_id, metadata, payload
import { checksum64, writeChecksum64 } from './checksum.js';
import { POSITION_ID_BYTES, writePositionId } from './event_id.js';
import { readU64, writeU32, writeU64 } from './u64.js';

export const RECORD_FORMAT = 1;
export const RECORD_HEADER_BYTES = 48;
/** A string field (id or entity_id) holds '"' or '\' and must be escaped in JSON output. */
export const FLAG_ESCAPE = 1;
/** The record carries metadata (absent means null). */
export const FLAG_METADATA = 2;
/** The client chose the event id (an idempotency key); otherwise it was generated. */
export const FLAG_CLIENT_ID = 4;
const FLAGS_KNOWN = FLAG_ESCAPE | FLAG_METADATA | FLAG_CLIENT_ID;

/** Byte offsets of the header fields. */
export const Field = {
  Checksum: 0,
  Length: 8,
  Format: 12,
  Flags: 13,
  Followers: 14,
  Position: 16,
  Timestamp: 24,
  Version: 32,
  IdLen: 36,
  TypeLen: 37,
  EntityLen: 38,
  Reserved: 39,
  MetadataLen: 40,
  PayloadLen: 44,
} as const;

/** One event ready to be encoded: strings as UTF-8 byte lengths already measured. */
export interface RecordInput {
  id: string;
  /** The client chose the id: it goes into the id index (generated ids carry their position). */
  clientId: boolean;
  idBytes: number;
  eventType: string;
  typeBytes: number;
  entityId: string;
  entityBytes: number;
  metadata: Uint8Array | null;
  payload: Uint8Array;
  position: number;
  timestampUs: number;
  version: number;
  followers: number;
  escape: boolean;
}

export function recordLength(input: RecordInput): number {
  const metadataBytes = input.metadata === null ? 0 : input.metadata.byteLength;
  return (
    RECORD_HEADER_BYTES +
    input.idBytes +
    input.typeBytes +
    input.entityBytes +
    metadataBytes +
    input.payload.byteLength
  );
}

/** Writes an ASCII string's chars as bytes; a loop beats a call into the encoder for short ones. */
function writeAscii(target: Buffer, at: number, text: string): number {
  const n = text.length;
  for (let i = 0; i < n; i++) target[at + i] = text.charCodeAt(i);
  return n;
}

/** Writes a string field (at most 255 bytes) whose UTF-8 length is `bytes`. */
function writeField(target: Buffer, at: number, text: string, bytes: number): number {
  // A string whose byte length equals its length is ASCII.
  if (bytes === text.length) return writeAscii(target, at, text);
  return target.write(text, at, 'utf8');
}

/**
 * Encodes the record at target[offset..]; returns its length. The target must have room. An
 * event without a client id gets its generated id here (input.id is set).
 */
export function writeRecord(target: Buffer, offset: number, input: RecordInput): number {
  const length = recordLength(input);
  const metadataBytes = input.metadata === null ? 0 : input.metadata.byteLength;
  writeU32(target, length, offset + Field.Length);
  target[offset + Field.Format] = RECORD_FORMAT;
  target[offset + Field.Flags] =
    (input.escape ? FLAG_ESCAPE : 0) |
    (input.metadata === null ? 0 : FLAG_METADATA) |
    (input.clientId ? FLAG_CLIENT_ID : 0);
  target[offset + Field.Followers] = input.followers;
  target[offset + Field.Followers + 1] = input.followers >>> 8;
  writeU64(target, input.position, offset + Field.Position);
  writeU64(target, input.timestampUs, offset + Field.Timestamp);
  writeU32(target, input.version, offset + Field.Version);
  target[offset + Field.IdLen] = input.idBytes;
  target[offset + Field.TypeLen] = input.typeBytes;
  target[offset + Field.EntityLen] = input.entityBytes;
  target[offset + Field.Reserved] = 0;
  writeU32(target, metadataBytes, offset + Field.MetadataLen);
  writeU32(target, input.payload.byteLength, offset + Field.PayloadLen);
  let at = offset + RECORD_HEADER_BYTES;
  if (input.clientId) {
    at += writeField(target, at, input.id, input.idBytes);
  } else {
    // A generated id is made here, in place, and its string taken from the record's bytes.
    writePositionId(target, at, input.position);
    input.id = target.toString('latin1', at, at + POSITION_ID_BYTES);
    at += POSITION_ID_BYTES;
  }
  at += writeAscii(target, at, input.eventType);
  at += writeField(target, at, input.entityId, input.entityBytes);
  if (input.metadata !== null) {
    target.set(input.metadata, at);
    at += metadataBytes;
  }
  target.set(input.payload, at);
  at += input.payload.byteLength;
  if (at - offset !== length) throw new Error('assertion failed: record length mismatch');
  writeChecksum64(
    target.subarray(offset + Field.Length, offset + length),
    target,
    offset + Field.Checksum,
  );
  return length;
}

/**
 * Checks the record at buf[offset..end): structure, then checksum. Returns its length, or a
 * string naming what is wrong. Never throws on any bytes.
 */
export function checkRecord(buf: Buffer, offset: number, end: number): number | string {
  if (end - offset < RECORD_HEADER_BYTES) return 'truncated header';
  const length = buf.readUInt32LE(offset + Field.Length);
  if (length < RECORD_HEADER_BYTES) return `length ${length} below header size`;
  if (length > end - offset) return `length ${length} runs past the end`;
  if (buf[offset + Field.Format] !== RECORD_FORMAT) {
    return `unknown record format ${buf[offset + Field.Format]}`;
  }
  const flags = buf[offset + Field.Flags] ?? 0;
  if ((flags & ~FLAGS_KNOWN) !== 0) return `unknown flags ${flags}`;
  const body =
    buf[offset + Field.IdLen]! +
    buf[offset + Field.TypeLen]! +
    buf[offset + Field.EntityLen]! +
    buf.readUInt32LE(offset + Field.MetadataLen) +
    buf.readUInt32LE(offset + Field.PayloadLen);
  if (RECORD_HEADER_BYTES + body !== length) return 'field lengths disagree with record length';
  const stored = buf.readBigUInt64LE(offset + Field.Checksum);
  if (checksum64(buf.subarray(offset + Field.Length, offset + length)) !== stored) {
    return 'checksum mismatch';
  }
  return length;
}

export function recordPosition(buf: Buffer, offset: number): number {
  return readU64(buf, offset + Field.Position);
}

export function recordTimestamp(buf: Buffer, offset: number): number {
  return readU64(buf, offset + Field.Timestamp);
}

export function recordFollowers(buf: Buffer, offset: number): number {
  return buf.readUInt16LE(offset + Field.Followers);
}

export function recordLengthAt(buf: Buffer, offset: number): number {
  return buf.readUInt32LE(offset + Field.Length);
}

/**
 * Rewrites a record's followers count and checksum in place. Compaction uses it when it drops
 * some records of a batch: the batch's survivors stay one batch, still whole.
 */
export function setRecordFollowers(buf: Buffer, offset: number, followers: number): void {
  buf.writeUInt16LE(followers, offset + Field.Followers);
  const length = recordLengthAt(buf, offset);
  writeChecksum64(
    buf.subarray(offset + Field.Length, offset + length),
    buf,
    offset + Field.Checksum,
  );
}
