// The archive inside a backup is a plain POSIX ustar stream (then gzip), so that an operator can
// list or unpack a backup with standard tools when AllSource itself is not at hand. Only what a
// backup needs is written and accepted: regular files, relative paths, sizes under 8 GiB.
//
// Header (512 bytes, numbers in octal ASCII): name 0..100, mode 100, uid 108, gid 116,
// size 124 (12), mtime 136 (12), checksum 148 (8), type 156, magic "ustar\0" 257, version "00"
// 263, prefix 345..500. The checksum is the byte sum of the header with its own field as spaces.

export const TAR_BLOCK = 512;
const NAME_BYTES = 100;
const PREFIX_BYTES = 155;
const SIZE_MAX = 8 ** 11 - 1;

function writeOctal(header: Buffer, offset: number, width: number, value: number): void {
  header.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, width, 'ascii');
}

function headerSum(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
  return sum;
}

/** Splits a path into ustar's prefix and name at a '/', or returns null when it cannot fit. */
function splitPath(file: string): { prefix: string; name: string } | null {
  if (Buffer.byteLength(file) <= NAME_BYTES) return { prefix: '', name: file };
  for (let cut = file.indexOf('/'); cut !== -1; cut = file.indexOf('/', cut + 1)) {
    const prefix = file.slice(0, cut);
    const name = file.slice(cut + 1);
    if (Buffer.byteLength(prefix) <= PREFIX_BYTES && Buffer.byteLength(name) <= NAME_BYTES) {
      return { prefix, name };
    }
  }
  return null;
}

/** The 512-byte header of a regular file. */
export function tarHeader(file: string, size: number, mtimeSec: number): Buffer {
  const parts = splitPath(file);
  if (parts === null) throw new Error(`path too long for the archive: ${file}`);
  if (!Number.isSafeInteger(size) || size < 0 || size > SIZE_MAX) {
    throw new Error(`file too large for the archive: ${file}`);
  }
  const header = Buffer.alloc(TAR_BLOCK);
  header.write(parts.name, 0, NAME_BYTES, 'utf8');
  writeOctal(header, 100, 8, 0o600);
  writeOctal(header, 108, 8, 0);
  writeOctal(header, 116, 8, 0);
  writeOctal(header, 124, 12, size);
  writeOctal(header, 136, 12, Math.max(0, Math.floor(mtimeSec)));
  header.write('0', 156, 1, 'ascii');
  header.write('ustar\0', 257, 6, 'ascii');
  header.write('00', 263, 2, 'ascii');
  header.write(parts.prefix, 345, PREFIX_BYTES, 'utf8');
  header.write(`${headerSum(header).toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return header;
}

/** Zero bytes that pad a file's data to a whole block. */
export function tarPadding(size: number): number {
  return (TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK;
}

/** Two zero blocks close the archive. */
export const TAR_END = Buffer.alloc(2 * TAR_BLOCK);

function readString(header: Buffer, offset: number, width: number): string {
  const field = header.subarray(offset, offset + width);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? width : end).toString('utf8');
}

function readOctal(header: Buffer, offset: number, width: number): number {
  const text = readString(header, offset, width).trim();
  return /^[0-7]+$/.test(text) ? Number.parseInt(text, 8) : Number.NaN;
}

export interface TarEntry {
  path: string;
  size: number;
}

/** Parses a header block: an entry, null for a zero (end) block, or a reason it is invalid. */
export function parseTarHeader(header: Buffer): TarEntry | null | string {
  if (header.every((b) => b === 0)) return null;
  if (header.toString('ascii', 257, 262) !== 'ustar') return 'not a ustar header';
  const sum = readOctal(header, 148, 8);
  if (sum !== headerSum(header)) return 'header checksum mismatch';
  const type = header.toString('ascii', 156, 157);
  if (type !== '0' && type !== '\0') return `unsupported entry type ${JSON.stringify(type)}`;
  const size = readOctal(header, 124, 12);
  if (!Number.isSafeInteger(size)) return 'invalid size field';
  const name = readString(header, 0, NAME_BYTES);
  const prefix = readString(header, 345, PREFIX_BYTES);
  return { path: prefix === '' ? name : `${prefix}/${name}`, size };
}

export interface TarSink {
  /** A new entry begins; its data follows in `data` calls totalling `entry.size` bytes. */
  entry(entry: TarEntry): void;
  data(chunk: Buffer): void;
  /** The entry's last byte has arrived. */
  end(entry: TarEntry): void;
}

/**
 * A push parser: feed it the archive's bytes in pieces of any size. It calls the sink in order
 * and throws an Error naming the archive offset at the first structural problem.
 */
export class TarReader {
  private header = Buffer.alloc(TAR_BLOCK);
  private headerFill = 0;
  private current: TarEntry | null = null;
  private dataLeft = 0;
  private padLeft = 0;
  private offset = 0;
  private entryStart = 0;
  ended = false;

  constructor(private readonly sink: TarSink) {}

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.ended) {
        // Past the end blocks only zero padding may follow.
        for (; at < chunk.length; at++, this.offset++) {
          if (chunk[at] !== 0)
            throw new Error(`data after the end of the archive at ${this.offset}`);
        }
        return;
      }
      if (this.current !== null && this.dataLeft > 0) {
        const n = Math.min(this.dataLeft, chunk.length - at);
        this.sink.data(chunk.subarray(at, at + n));
        this.dataLeft -= n;
        at += n;
        this.offset += n;
        if (this.dataLeft === 0) {
          this.sink.end(this.current);
          this.padLeft = tarPadding(this.current.size);
          this.current = null;
        }
        continue;
      }
      if (this.padLeft > 0) {
        const n = Math.min(this.padLeft, chunk.length - at);
        this.padLeft -= n;
        at += n;
        this.offset += n;
        continue;
      }
      const n = Math.min(TAR_BLOCK - this.headerFill, chunk.length - at);
      if (this.headerFill === 0) this.entryStart = this.offset;
      chunk.copy(this.header, this.headerFill, at, at + n);
      this.headerFill += n;
      at += n;
      this.offset += n;
      if (this.headerFill < TAR_BLOCK) continue;
      this.headerFill = 0;
      const parsed = parseTarHeader(this.header);
      if (typeof parsed === 'string') {
        throw new Error(`${parsed} at archive offset ${this.entryStart}`);
      }
      if (parsed === null) {
        this.ended = true;
        continue;
      }
      this.sink.entry(parsed);
      if (parsed.size === 0) {
        this.sink.end(parsed);
      } else {
        this.current = parsed;
        this.dataLeft = parsed.size;
      }
    }
  }

  /** The archive is complete: no entry is cut short and the end blocks were seen. */
  finish(): void {
    if (this.current !== null || this.headerFill > 0 || this.padLeft > 0 || !this.ended) {
      throw new Error(`archive ends early at offset ${this.offset}`);
    }
  }
}
