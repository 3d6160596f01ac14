// The manifest: what a backup holds and the checksums that prove it. It lives beside the archive
// as manifest.json and carries a SHA-256 of its own canonical text, so an edited or damaged
// manifest is refused before anything it says is believed. Layout in docs/BACKUPS.md.
import { createHash } from 'node:crypto';
import { StoreError } from '../errors.js';
import { BLOCK_RAW_MAX } from './blocks.js';

export const MANIFEST_FORMAT = 'allsource-backup';
export const MANIFEST_VERSION = 1;
export const MANIFEST_NAME = 'manifest.json';
export const ARCHIVE_NAME = 'data.tar.gz';

/** One gzip member of the archive: compressed size, raw size, SHA-256 of the compressed bytes. */
export type ManifestBlock = [bytes: number, rawBytes: number, sha256: string];

export interface ManifestFile {
  path: string;
  bytes: number;
  sha256: string;
}

export interface ManifestLog {
  tenant: string;
  log: 'events' | 'snapshots';
  last_position: number;
  events: number;
}

export interface Manifest {
  format: string;
  version: number;
  id: string;
  created_at: string;
  created_at_us: number;
  compression: { algorithm: 'gzip'; level: number; block_bytes: number };
  archive: { file: string; bytes: number; sha256: string; blocks: ManifestBlock[] };
  logs: ManifestLog[];
  totals: { files: number; raw_bytes: number; events: number };
  files: ManifestFile[];
  /** "sha256:<hex>" of the manifest's JSON text with this field left out. */
  checksum: string;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The manifest's text, checksum included, ready to write. */
export function sealManifest(manifest: Omit<Manifest, 'checksum'>): string {
  const body = JSON.stringify(manifest);
  return `${JSON.stringify({ ...manifest, checksum: `sha256:${sha256(body)}` }, null, 1)}\n`;
}

function invalid(message: string, details: Record<string, unknown> = {}): StoreError {
  return new StoreError('BACKUP_INVALID', message, details);
}

const HEX64 = /^[0-9a-f]{64}$/;
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** A safe relative path inside a data directory: no absolute paths, no '..', no empty parts. */
export function isSafeRelativePath(p: string): boolean {
  if (p === '' || p.startsWith('/') || p.includes('\\') || p.includes('\0')) return false;
  return p.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

/**
 * Parses and checks a manifest: that it is ours, a version this build reads, unedited (its
 * checksum), and self-consistent. Anything else is a BACKUP_INVALID error saying what is wrong.
 */
export function parseManifest(text: string, where: string): Manifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid(`${where} is not JSON: not an AllSource backup manifest`);
  }
  const m = parsed as Partial<Manifest>;
  if (typeof m !== 'object' || m === null || m.format !== MANIFEST_FORMAT) {
    throw invalid(`${where} is not an AllSource backup manifest`);
  }
  if (m.version !== MANIFEST_VERSION) {
    throw invalid(
      `${where} has format version ${String(m.version)}; this build reads ${MANIFEST_VERSION}`,
    );
  }
  const { checksum, ...body } = m;
  if (typeof checksum !== 'string' || checksum !== `sha256:${sha256(JSON.stringify(body))}`) {
    throw invalid(`${where} does not match its own checksum: it was edited or damaged`);
  }
  const problem = shapeProblem(m);
  if (problem !== null) throw invalid(`${where} is inconsistent: ${problem}`);
  return m as Manifest;
}

/** Checks what the checksum cannot: that a manifest we wrote describes a possible backup. */
function shapeProblem(m: Partial<Manifest>): string | null {
  const archive = m.archive;
  if (typeof m.id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(m.id)) return 'bad id';
  if (archive === undefined || !Array.isArray(archive.blocks)) return 'no archive';
  let compressed = 0;
  for (const block of archive.blocks) {
    if (!Array.isArray(block) || !isCount(block[0]) || !isCount(block[1])) return 'bad block';
    if (block[1] > BLOCK_RAW_MAX) return 'a block larger than any backup writes';
    if (typeof block[2] !== 'string' || !HEX64.test(block[2])) return 'bad block checksum';
    compressed += block[0];
  }
  if (compressed !== archive.bytes) return 'blocks do not add up to the archive size';
  if (!Array.isArray(m.files) || !Array.isArray(m.logs)) return 'no file list';
  const seen = new Set<string>();
  for (const file of m.files) {
    if (typeof file.path !== 'string' || !isSafeRelativePath(file.path)) return 'unsafe path';
    if (seen.has(file.path)) return `duplicate path ${file.path}`;
    seen.add(file.path);
    if (!isCount(file.bytes) || typeof file.sha256 !== 'string' || !HEX64.test(file.sha256)) {
      return `bad entry for ${file.path}`;
    }
  }
  return null;
}
