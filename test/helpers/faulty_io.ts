// An Io that fails on command: a full disk, a failing fsync, a failing truncate. Tests flip the
// switches between operations and check what the store promises in each case.
import { createNodeIo, type Io } from '../../engine/index.js';

export interface Faults {
  diskFull: boolean;
  fsyncFails: boolean;
  truncateFails: boolean;
  /** Bytes of each write that reach the file before a failure (a short write), when diskFull. */
  partialWriteBytes: number;
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
  };
  const io: Io = {
    ...inner,
    async writeAt(fd, data, position) {
      if (faults.diskFull) {
        if (faults.partialWriteBytes > 0) {
          await inner.writeAt(
            fd,
            data.subarray(0, Math.min(faults.partialWriteBytes, data.length)),
            position,
          );
        }
        throw errno('ENOSPC');
      }
      return inner.writeAt(fd, data, position);
    },
    async fdatasync(fd) {
      if (faults.fsyncFails) throw errno('EIO');
      return inner.fdatasync(fd);
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
