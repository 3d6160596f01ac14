// Backups through the server and the CLI: taken while events arrive, listed, verified, damage
// reported, restored offline into a directory a new server then serves with the same events,
// users and keys.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { promisify } from 'node:util';
import { CLI_MAIN, get, post, startServerProcess, TEST_KEY } from '../helpers/server.js';
import { flipBit } from '../helpers/store.js';
import { tmpDir } from '../helpers/tmp.js';

const run = promisify(execFile);

async function cli(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI_MAIN, ...args], {
      env: { ...process.env, ALLSOURCE_API_KEY: TEST_KEY, ...env },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function allEvents(url: string): Promise<unknown[]> {
  const r = await get(`${url}/api/v1/events/query?limit=10000`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.events as unknown[];
}

it('backs up a live server, verifies, and restores into a new one', async (t) => {
  const dir = tmpDir();
  const data = path.join(dir, 'data');
  const backups = path.join(dir, 'backups');
  const server = await startServerProcess(data, { ALLSOURCE_BACKUP_DIR: backups });
  t.after(() => server.kill());
  const append = (i: number) =>
    post(`${server.url}/api/v1/events`, {
      event_type: 'cart.item_added',
      entity_id: `cart-${i % 5}`,
      payload: { i },
    });
  for (let i = 0; i < 50; i++) assert.equal((await append(i)).status, 200);
  // Appends race the backup; each one is in the backup or after it, never half.
  const racing = Promise.all(Array.from({ length: 30 }, (_, i) => append(50 + i)));
  const created = await post(`${server.url}/api/v1/backups`, undefined);
  await racing;
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const backup = created.body as { id: string; events: number; verified: boolean };
  assert.ok(backup.events >= 50 && backup.events <= 80, `${backup.events} events`);
  assert.equal(backup.verified, true);

  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /^allsource_backups_total\{result="ok"\} 1$/m);
  const listed = (await get(`${server.url}/api/v1/backups`)).body as {
    backups: { id: string }[];
  };
  assert.deepEqual(
    listed.backups.map((b) => b.id),
    [backup.id],
  );
  const verified = await post(`${server.url}/api/v1/backups/${backup.id}/verify`, undefined);
  assert.equal(verified.body.valid, true);
  const missing = await post(`${server.url}/api/v1/backups/no-such/verify`, undefined);
  assert.equal(missing.status, 404);
  assert.equal(missing.body.code, 'NOT_FOUND');

  // The CLI asks the same server, and reads the directory itself with --backup-dir.
  const viaCli = await cli(['backup', 'list', '--url', server.url, '--json']);
  assert.equal(viaCli.code, 0, viaCli.stderr);
  assert.equal(JSON.parse(viaCli.stdout).backups[0].id, backup.id);
  const offline = await cli(['backup', 'verify', backup.id, '--backup-dir', backups]);
  assert.equal(offline.code, 0, offline.stderr);
  assert.match(offline.stdout, /true/);

  const before = (await allEvents(server.url)).slice(0, backup.events);
  await server.stop();

  // Restore refuses the live directory, then fills a new one.
  const refused = await cli([
    'backup',
    'restore',
    backup.id,
    '--data-dir',
    data,
    '--backup-dir',
    backups,
  ]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /not empty.*TARGET_NOT_EMPTY/);
  const target = path.join(dir, 'restored');
  const restored = await cli([
    'backup',
    'restore',
    backup.id,
    '--data-dir',
    target,
    '--backup-dir',
    backups,
    '--json',
  ]);
  assert.equal(restored.code, 0, restored.stderr);
  assert.equal(JSON.parse(restored.stdout).tenants[0].events, backup.events);

  // The bootstrap key comes from the restored accounts, not from the environment.
  const again = await startServerProcess(target, { ALLSOURCE_BOOTSTRAP_API_KEY: '' });
  t.after(() => again.kill());
  assert.deepEqual(await allEvents(again.url), before);
  await again.stop();

  // Damage is reported by verify (exit 1) and refused by restore.
  const archive = path.join(backups, backup.id, 'data.tar.gz');
  flipBit(archive, Math.floor(fs.statSync(archive).size / 3));
  const damaged = await cli(['backup', 'verify', backup.id, '--backup-dir', backups]);
  assert.equal(damaged.code, 1);
  assert.match(damaged.stdout, /does not match its checksum/);
  const noRestore = await cli([
    'backup',
    'restore',
    backup.id,
    '--data-dir',
    path.join(dir, 'second'),
    '--backup-dir',
    backups,
  ]);
  assert.equal(noRestore.code, 1);
  assert.match(noRestore.stderr, /BACKUP_CORRUPT/);
  assert.ok(!fs.existsSync(path.join(dir, 'second')));
});

it('backs up a stopped store from the CLI and prunes to the retention count', async (t) => {
  const dir = tmpDir();
  const data = path.join(dir, 'data');
  const backups = path.join(dir, 'backups');
  const server = await startServerProcess(data);
  t.after(() => server.kill());
  await post(`${server.url}/api/v1/events`, { event_type: 'a.b', entity_id: 'e', payload: {} });
  await server.stop();
  const env = { ALLSOURCE_BACKUP_DIR: backups, ALLSOURCE_BACKUP_RETENTION: '2' };
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await cli(['backup', 'create', '--data-dir', data, '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { id: string; events: number; pruned: string[] };
    assert.equal(out.events, 1);
    ids.push(out.id);
  }
  // Each backup prunes to two: the first is gone.
  const listed = await cli(['backup', 'list', '--backup-dir', backups, '--json'], env);
  assert.deepEqual(
    JSON.parse(listed.stdout).backups.map((b: { id: string }) => b.id),
    ids.slice(1).reverse(),
  );
  const pruned = await cli(
    ['backup', 'prune', '--keep', '1', '--backup-dir', backups, '--json'],
    env,
  );
  assert.deepEqual(JSON.parse(pruned.stdout).removed, [ids[1]]);
});
