// The archive is a series of independent gzip members, one per block of raw bytes. A series of
// members is still one valid gzip file (any gzip tool reads it), and independent members let
// several blocks compress or inflate at once on the thread pool, so a backup is not bound to one
// core the way a single gzip stream is. The manifest lists each member's sizes and SHA-256, so
// damage is located to one block, and a reader needs no deflate parsing to find the members.
import { createHash, type Hash } from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { StoreError } from '../errors.js';
import { type FileWriter, openForRead, readRange } from '../io/files.js';
import type { ManifestBlock } from './manifest.js';

const gzip = promisify(zlib.gzip);
/** Raw bytes of one block at most, whatever a manifest says (ours use limits.backupBlockBytes). */
export const BLOCK_RAW_MAX = 64 * 1024 * 1024;
const gunzip = promisify(zlib.gunzip);

/** Buffers raw bytes into blocks and writes them gzipped, in order, several in flight. */
export class BlockWriter {
  readonly blocks: ManifestBlock[] = [];
  private readonly whole: Hash = createHash('sha256');
  private block: Buffer;
  private fill = 0;
  private readonly inFlight: Promise<{ raw: number; packed: Buffer }>[] = [];
  rawBytes = 0;

  constructor(
    private readonly out: FileWriter,
    private readonly level: number,
    private readonly blockBytes: number,
    private readonly concurrency: number,
  ) {
    this.block = Buffer.allocUnsafe(blockBytes);
  }

  async write(data: Buffer): Promise<void> {
    let at = 0;
    while (at < data.length) {
      const n = Math.min(this.blockBytes - this.fill, data.length - at);
      data.copy(this.block, this.fill, at, at + n);
      this.fill += n;
      at += n;
      if (this.fill === this.blockBytes) await this.flushBlock();
    }
  }

  private async flushBlock(): Promise<void> {
    if (this.fill === 0) return;
    const raw = this.block.subarray(0, this.fill);
    const size = this.fill;
    this.rawBytes += size;
    // One output chunk per block: zlib's default 16 KiB chunks cost a main-thread callback
    // and a copy each.
    const packing = gzip(raw, { level: this.level, chunkSize: this.blockBytes }).then((packed) => ({
      raw: size,
      packed,
    }));
    packing.catch(() => {});
    this.inFlight.push(packing);
    this.block = Buffer.allocUnsafe(this.blockBytes);
    this.fill = 0;
    while (this.inFlight.length >= this.concurrency) await this.writeOldest();
  }

  private async writeOldest(): Promise<void> {
    const { raw, packed } = await this.inFlight.shift()!;
    this.whole.update(packed);
    this.blocks.push([packed.length, raw, createHash('sha256').update(packed).digest('hex')]);
    await this.out.write(packed);
  }

  /** Writes what is buffered and waits for every block; returns the archive's SHA-256. */
  async finish(): Promise<string> {
    await this.flushBlock();
    while (this.inFlight.length > 0) await this.writeOldest();
    return this.whole.digest('hex');
  }
}

function corrupt(message: string, details: Record<string, unknown>): StoreError {
  return new StoreError('BACKUP_CORRUPT', message, details);
}

/**
 * Reads the archive block by block, checks each against the manifest before inflating it, and
 * hands the raw bytes to `consume` in order. Inflating runs ahead by `concurrency` blocks.
 */
export async function readBlocks(
  file: string,
  label: string,
  blocks: readonly ManifestBlock[],
  archiveBytes: number,
  concurrency: number,
  consume: (raw: Buffer, block: number) => void | Promise<void>,
): Promise<void> {
  const handle = await openForRead(file).catch((error: unknown) => {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw corrupt(`cannot open ${label}: ${reason}`, { file: label });
  });
  try {
    const { size } = await handle.stat();
    if (size !== archiveBytes) {
      throw corrupt(
        `${label} is ${size} bytes; the manifest says ${archiveBytes} (${size < archiveBytes ? 'truncated' : 'extra bytes'})`,
        { file: label, bytes: size, expected: archiveBytes },
      );
    }
    const ahead: Promise<Buffer>[] = [];
    let next = 0;
    let offset = 0;
    const start = async (): Promise<void> => {
      const b = next++;
      const [bytes, rawBytes, sha] = blocks[b]!;
      const at = offset;
      offset += bytes;
      const packed = await readRange(handle, at, bytes);
      const where = { file: label, block: b, offset: at, bytes };
      if (packed.length !== bytes || createHash('sha256').update(packed).digest('hex') !== sha) {
        throw corrupt(
          `block ${b} of ${label} (bytes ${at}..${at + bytes}) does not match its checksum`,
          where,
        );
      }
      // One output chunk per block, and never more output than the block should give: a block
      // that inflates past its size (a bomb) fails at that size instead of filling memory.
      const inflated = gunzip(packed, {
        chunkSize: Math.min(Math.max(rawBytes, 64 * 1024), BLOCK_RAW_MAX),
        maxOutputLength: Math.max(rawBytes, 1),
      }).then(
        (raw) => {
          if (raw.length !== rawBytes) {
            throw corrupt(`block ${b} of ${label} inflates to the wrong size`, where);
          }
          return raw;
        },
        (error: unknown) => {
          throw corrupt(`block ${b} of ${label} does not inflate: ${String(error)}`, where);
        },
      );
      // Awaited in order below; this keeps a failure behind an earlier one from going unhandled.
      inflated.catch(() => {});
      ahead.push(inflated);
    };
    for (let done = 0; done < blocks.length; done++) {
      while (next < blocks.length && ahead.length < concurrency) await start();
      await consume(await ahead.shift()!, done);
    }
  } finally {
    await handle.close();
  }
}
