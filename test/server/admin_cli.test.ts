// The admin CLI against a real server: tables for people, JSON for scripts, the server's
// message and a non-zero exit on failure.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { it } from 'node:test';
import { CLI_MAIN, startServerProcess, TEST_KEY } from '../helpers/server.js';
import { tmpDir } from '../helpers/tmp.js';

function cli(
  url: string,
  args: string[],
  key = TEST_KEY,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI_MAIN, ...args],
      { env: { ...process.env, ALLSOURCE_URL: url, ALLSOURCE_API_KEY: key } },
      (error, stdout, stderr) => {
        resolve({
          code: error === null ? 0 : ((error as { code?: number }).code ?? 1),
          stdout,
          stderr,
        });
      },
    );
  });
}

it('manages tenants and users and reads stats from the command line', async (t) => {
  const server = await startServerProcess(tmpDir());
  t.after(() => server.stop());
  const u = server.url;
  const created = await cli(u, [
    'tenant',
    'create',
    'cli-co',
    '--name',
    'CLI Co',
    '--preset',
    'free',
  ]);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /cli-co\s+CLI Co\s+true/);
  const list = await cli(u, ['tenant', 'list', '--json']);
  assert.ok(
    (JSON.parse(list.stdout) as { tenants: { id: string }[] }).tenants.some(
      (x) => x.id === 'cli-co',
    ),
  );
  const user = await cli(u, [
    'user',
    'create',
    '--username',
    'cli-user',
    '--email',
    'c@x',
    '--password',
    'password-1',
    '--tenant',
    'cli-co',
  ]);
  assert.equal(user.code, 0, user.stderr);
  const users = await cli(u, ['user', 'list']);
  assert.match(users.stdout, /cli-user\s+readonly\s+cli-co\s+true/);
  const stats = await cli(u, ['tenant', 'stats', 'cli-co']);
  assert.match(stats.stdout, /^tenant_id\s+active\s+events_today/m);
  assert.equal((await cli(u, ['tenant', 'deactivate', 'cli-co'])).code, 0);
  assert.match((await cli(u, ['stats', '--json'])).stdout, /"total_events"/);
  const refused = await cli(u, ['tenant', 'deactivate', 'default']);
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /error: the default tenant cannot be deactivated \(VALIDATION_ERROR\)/,
  );
  const badKey = await cli(u, ['stats'], `ask_${'z'.repeat(43)}`);
  assert.equal(badKey.code, 1);
  assert.match(badKey.stderr, /UNAUTHORIZED/);
  const down = await cli('http://127.0.0.1:1', ['stats']);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /cannot reach/);
});

it('answers --help on every command and refuses missing arguments before any request', async () => {
  const url = 'http://127.0.0.1:9'; // nothing listens: a request would fail with "cannot reach"
  for (const args of [
    ['--help'],
    ['serve', '--help'],
    ['config', 'validate', '--help'],
    ['user', 'create', '--help'],
    ['tenant', 'stats', '--help'],
    ['backup', 'restore', '--help'],
  ]) {
    const r = await cli(url, args);
    assert.equal(r.code, 0, args.join(' '));
    assert.match(r.stdout, /^Usage: allsource/m, args.join(' '));
  }
  const missing = await cli(url, ['user', 'create', '--username', 'x']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /required option '--email <address>'/);
  assert.doesNotMatch(missing.stderr, /cannot reach/);
  const noId = await cli(url, ['tenant', 'create']);
  assert.equal(noId.code, 1);
  assert.match(noId.stderr, /missing required argument 'id'/);
  const unknown = await cli(url, ['frobnicate']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
});
