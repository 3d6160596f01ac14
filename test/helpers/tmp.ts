import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A fresh directory; the caller removes it (see tmpDir for a test-scoped one). */
export function newTmpDir(prefix = 'allsource-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

const scoped = new Set<string>();

// node:test runs a test's after hooks in the order they were registered, and a
// test registers its directory before the store or server that lives in it, so
// removing the directory in its own hook would race that store's close. The
// directories are removed when the test process exits instead, after every hook.
process.once('exit', () => {
  for (const dir of scoped) removeDir(dir);
});

/** A fresh directory removed when the test process exits, after every store in it is closed. */
export function tmpDir(prefix = 'allsource-'): string {
  const dir = newTmpDir(prefix);
  scoped.add(dir);
  return dir;
}
