// Whole-file work for backups and restores: streaming reads and writes of large files on the
// thread pool, directory listing and atomic replacement. The log's own I/O stays in io.ts.
import fs from 'node:fs';
import path from 'node:path';

/** Reads the first `bytes` bytes of a file in chunks; fails if the file is shorter. */
export async function* readChunks(
  file: string,
  bytes: number,
  chunkBytes: number,
): AsyncGenerator<Buffer> {
  const handle = await fs.promises.open(file, 'r');
  try {
    let done = 0;
    while (done < bytes) {
      const buf = Buffer.allocUnsafe(Math.min(chunkBytes, bytes - done));
      let filled = 0;
      while (filled < buf.length) {
        const { bytesRead } = await handle.read(buf, filled, buf.length - filled, done + filled);
        if (bytesRead === 0) throw new Error(`${file} ended at ${done + filled} of ${bytes} bytes`);
        filled += bytesRead;
      }
      done += filled;
      yield buf;
    }
  } finally {
    await handle.close();
  }
}

/** Reads exactly `length` bytes at `position` from an open file, or fewer at its end. */
export async function readRange(
  handle: fs.promises.FileHandle,
  position: number,
  length: number,
): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buf, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === length ? buf : buf.subarray(0, filled);
}

export function openForRead(file: string): Promise<fs.promises.FileHandle> {
  return fs.promises.open(file, 'r');
}

/** A new file written in order; `close(true)` makes it durable first. */
export class FileWriter {
  private constructor(
    private readonly handle: fs.promises.FileHandle,
    readonly file: string,
  ) {}

  bytes = 0;

  static async create(file: string, mode = 0o600): Promise<FileWriter> {
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    return new FileWriter(await fs.promises.open(file, 'wx', mode), file);
  }

  async write(data: Uint8Array): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.handle.write(data, done, data.length - done);
      done += bytesWritten;
    }
    this.bytes += data.length;
  }

  async truncate(length: number): Promise<void> {
    await this.handle.truncate(length);
    this.bytes = length;
  }

  async close(durable: boolean): Promise<void> {
    try {
      if (durable) await this.handle.datasync();
    } finally {
      await this.handle.close();
    }
  }
}

export async function fileSize(file: string): Promise<number | null> {
  try {
    return (await fs.promises.stat(file)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

export async function readText(file: string): Promise<string | null> {
  try {
    return await fs.promises.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Entries of a directory, or [] when it does not exist. */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return await fs.promises.readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Every regular file under `dir`, as paths relative to it with '/' separators. */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await fs.promises.readdir(path.join(dir, rel), { withFileTypes: true });
    for (const entry of entries) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) await walk(child);
      else if (entry.isFile()) out.push(child);
    }
  };
  await walk('');
  return out.sort();
}

export async function makeDir(dir: string): Promise<void> {
  await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
}

export async function removeTree(dir: string): Promise<void> {
  await fs.promises.rm(dir, { recursive: true, force: true });
}

export async function removeFile(file: string): Promise<void> {
  await fs.promises.rm(file, { force: true });
}

/** Cuts a file to `length` bytes and makes that durable. */
export async function truncateFile(file: string, length: number): Promise<void> {
  const handle = await fs.promises.open(file, 'r+');
  try {
    await handle.truncate(length);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

export async function rename(from: string, to: string): Promise<void> {
  await fs.promises.rename(from, to);
}

/** fsyncs a directory so that the names created or removed in it are durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsyncs every directory of a tree, deepest first. */
export async function syncTree(dir: string): Promise<void> {
  const entries = await fs.promises.readdir(dir, { withFileTypes: true });
  for (const entry of entries) if (entry.isDirectory()) await syncTree(path.join(dir, entry.name));
  await syncDir(dir);
}

/**
 * Writes a file through a temporary name, durable before it gets its real name. `data` may come
 * in pieces, each written before the next is asked for (so a producer may reuse its buffer).
 */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array | AsyncIterable<Uint8Array>,
): Promise<void> {
  const temp = `${file}.tmp`;
  const handle = await fs.promises.open(temp, 'w', 0o600);
  try {
    if (typeof data === 'string' || data instanceof Uint8Array) await handle.writeFile(data);
    else {
      for await (const piece of data) {
        for (let done = 0; done < piece.length; ) {
          done += (await handle.write(piece, done, piece.length - done)).bytesWritten;
        }
      }
    }
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await fs.promises.rename(temp, file);
  await syncDir(path.dirname(file));
}

/**
 * A new file written with blocking calls, for worker threads, where blocking costs no one else:
 * compaction writes its output with it, syncing every few MiB so that the device never holds a
 * large burst of dirty pages that the appenders' fsyncs would have to wait behind.
 */
export class SyncFileWriter {
  private readonly fd: number;
  bytes = 0;
  private unsynced = 0;

  constructor(
    readonly file: string,
    private readonly syncEveryBytes: number,
  ) {
    this.fd = fs.openSync(file, 'w', 0o644);
  }

  write(data: Buffer): void {
    let done = 0;
    while (done < data.length) {
      done += fs.writeSync(this.fd, data, done, data.length - done, this.bytes + done);
    }
    this.bytes += data.length;
    this.unsynced += data.length;
    if (this.unsynced >= this.syncEveryBytes) this.sync();
  }

  sync(): void {
    fs.fdatasyncSync(this.fd);
    this.unsynced = 0;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
