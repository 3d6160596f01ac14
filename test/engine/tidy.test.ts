// Layering and style rules that the code must keep, checked on the sources.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { errorCodes } from '../../engine/index.js';
import { errorTable } from '../../server/errors.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

function sources(dir: string): string[] {
  return fs
    .readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(dir, f));
}

const engine = sources('engine').map((file) => ({
  file,
  text: fs.readFileSync(path.join(root, file), 'utf8'),
}));
const imports = (text: string) => [...text.matchAll(/from '([^']+)'/g)].map((m) => m[1]!);

it('keeps the engine free of the server, HTTP and auth', () => {
  for (const { file, text } of engine) {
    for (const spec of imports(text)) {
      assert.ok(!/server|uWebSockets|node:http|jose|argon2/.test(spec), `${file} imports ${spec}`);
    }
  }
});

it('touches node:fs only in engine/io/', () => {
  for (const { file, text } of engine) {
    if (path.dirname(file) === path.join('engine', 'io')) continue;
    assert.ok(!imports(text).some((s) => s === 'node:fs' || s === 'fs'), `${file} imports node:fs`);
  }
});

it('never imports the public surface from inside the engine', () => {
  for (const { file, text } of engine) {
    if (file === path.join('engine', 'index.ts')) continue;
    assert.ok(!imports(text).some((s) => /(^|\/)index\.js$/.test(s)), `${file} imports index.js`);
  }
});

it('keeps engine files under 400 lines', () => {
  for (const { file, text } of engine) {
    assert.ok(text.split('\n').length <= 400, `${file} has ${text.split('\n').length} lines`);
  }
});

it('documents every error code in docs/ERRORS.md and maps each engine code to a status', () => {
  const doc = fs.readFileSync(path.join(root, 'docs', 'ERRORS.md'), 'utf8');
  for (const code of [...Object.keys(errorCodes), ...Object.keys(errorTable)]) {
    assert.ok(doc.includes(`\`${code}\``), `${code} is undocumented`);
  }
  for (const code of Object.keys(errorCodes))
    assert.ok(code in errorTable, `${code} has no HTTP status`);
});

it('keeps the server reaching the engine only through engine/index.ts', () => {
  for (const file of sources('server')) {
    for (const spec of imports(fs.readFileSync(path.join(root, file), 'utf8'))) {
      if (spec.includes('engine/'))
        assert.match(spec, /engine\/index\.js$/, `${file} imports ${spec}`);
    }
  }
});
