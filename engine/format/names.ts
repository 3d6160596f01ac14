// File names. A segment is named by its base position, zero-padded to 20 digits so that a plain
// sort of names is a sort by position.
import { limits } from '../limits.js';

const BASE_DIGITS = 20;
const SEGMENT_PATTERN = /^(\d{20})\.log$/;
const TENANT_PATTERN = /^[A-Za-z0-9_-]+$/;

export function segmentLogName(basePosition: number): string {
  return `${String(basePosition).padStart(BASE_DIGITS, '0')}.log`;
}

export function segmentIndexName(basePosition: number): string {
  return `${String(basePosition).padStart(BASE_DIGITS, '0')}.idx`;
}

/** The base position a segment file name carries, or null for any other file. */
export function parseSegmentLogName(name: string): number | null {
  const match = SEGMENT_PATTERN.exec(name);
  return match === null ? null : Number(match[1]);
}

export function isValidTenantId(id: string): boolean {
  return id.length >= 1 && id.length <= limits.tenantIdBytesMax && TENANT_PATTERN.test(id);
}

export const CHECKPOINT_NAME = 'entities.ckpt';
export const EVENTS_DIR = 'events';
export const SNAPSHOTS_DIR = 'snapshots';
export const TENANTS_DIR = 'tenants';
export const LOCK_NAME = 'LOCK';

/** Event types the store writes itself; appends may not use the prefix. */
export const SYSTEM_TYPE_PREFIX = 'allsource.';
/**
 * The tombstone of an erased entity. Its entity's events before it are hidden from every read at
 * once and removed from disk by the next compaction; the tombstone itself stays, as the record
 * that the entity was erased.
 */
export const ERASE_EVENT_TYPE = 'allsource.entity_erased';
