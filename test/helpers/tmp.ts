import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';

/** A fresh directory; the caller removes it (see tmpDir for a test-scoped one). */
export function newTmpDir(prefix = 'allsource-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** A fresh directory removed when the test ends. */
export function tmpDir(t: TestContext, prefix = 'allsource-'): string {
  const dir = newTmpDir(prefix);
  t.after(() => removeDir(dir));
  return dir;
}
