// An Io that fails on command: a full disk, a failing or slow fsync, a failing truncate. Tests
// flip the switches between operations and check what the store promises in each case.
import { createNodeIo, type Io } from '../../engine/index.js';

export interface Faults {
  diskFull: boolean;
  fsyncFails: boolean;
  truncateFails: boolean;
  /** Bytes of each write that reach the file before a failure (a short write), when diskFull. */
  partialWriteBytes: number;
  /** Fail this many of the next fsyncs, then succeed again. */
  failFsyncs: number;
  /** Milliseconds every fsync takes, so that rounds pile up behind it. */
  fsyncDelayMs: number;
  /** 'write', 'sync' and 'synced' in the order they happened. */
  trace: string[];
}

function errno(code: string): NodeJS.ErrnoException {
  const error = new Error(`${code}: injected`) as NodeJS.ErrnoException;
  error.code = code;
  return error;
}

export function createFaultyIo(): { io: Io; faults: Faults } {
  const inner = createNodeIo();
  const faults: Faults = {
    diskFull: false,
    fsyncFails: false,
    truncateFails: false,
    partialWriteBytes: 0,
    failFsyncs: 0,
    fsyncDelayMs: 0,
    trace: [],
  };
  async function sync(fd: number): Promise<void> {
    if (faults.fsyncDelayMs > 0) await new Promise((r) => setTimeout(r, faults.fsyncDelayMs));
    if (faults.failFsyncs > 0) {
      faults.failFsyncs--;
      throw errno('EIO');
    }
    if (faults.fsyncFails) throw errno('EIO');
    return inner.fdatasync(fd);
  }
  const io: Io = {
    ...inner,
    async writeAt(fd, data, position) {
      faults.trace.push('write');
      if (faults.diskFull) {
        const partial = Math.min(faults.partialWriteBytes, data.length);
        if (partial > 0) await inner.writeAt(fd, data.subarray(0, partial), position);
        throw errno('ENOSPC');
      }
      return inner.writeAt(fd, data, position);
    },
    async fdatasync(fd) {
      faults.trace.push('sync');
      try {
        return await sync(fd);
      } finally {
        faults.trace.push('synced');
      }
    },
    async truncate(fd, length) {
      if (faults.truncateFails) throw errno('EIO');
      return inner.truncate(fd, length);
    },
    async writeFileAtomic(file, data) {
      if (faults.diskFull) throw errno('ENOSPC');
      return inner.writeFileAtomic(file, data);
    },
  };
  // mkdirp recurses through `this`; keep it bound to the wrapper.
  io.mkdirp = inner.mkdirp.bind(io);
  return { io, faults };
}
