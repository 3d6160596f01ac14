// Backups: taken while appends go on, restored event for event; damage of any kind refused with
// the first mismatch named; point-in-time restores keep whole batches; a failed restore leaves
// nothing behind; pruning keeps the newest.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { sealManifest } from '../../engine/backup/manifest.js';
import {
  createBackup,
  eventJson,
  isStoreError,
  listBackups,
  pruneBackups,
  restoreBackup,
  type Store,
  verifyBackup,
} from '../../engine/index.js';
import { ev } from '../helpers/events.js';
import { flipBit, openTiny } from '../helpers/store.js';
import { tmpDir } from '../helpers/tmp.js';

/** Every event of a tenant as its wire JSON, in position order. */
function dump(store: Store, tenant: string): string[] {
  const out: string[] = [];
  let after = 0;
  for (;;) {
    const page = store.read(tenant, { afterPosition: after, limit: 10_000 });
    for (const e of page.events) out.push(eventJson(e, JSON.stringify(tenant)).toString());
    if (!page.hasMore || page.nextPosition === null) return out;
    after = page.nextPosition;
  }
}

async function fill(store: Store, tenant: string, batches: number, size = 3): Promise<void> {
  for (let b = 0; b < batches; b++) {
    const events = Array.from({ length: size }, (_, i) =>
      ev('order.placed', `order-${b % 7}`, { b, i, pad: 'x'.repeat(40) }),
    );
    await store.append(tenant, events);
  }
}

function archivePath(backupDir: string, id: string): string {
  return path.join(backupDir, id, 'data.tar.gz');
}

describe('backups', () => {
  it('takes a consistent backup during ingestion and restores it event for event', async (t) => {
    const dir = tmpDir();
    const data = path.join(dir, 'data');
    const backups = path.join(dir, 'backups');
    const store = await openTiny(data);
    await fill(store, 'default', 40);
    await fill(store, 'acme', 10, 5);
    await store.putSnapshot('acme', {
      entityId: 'order-1',
      state: Buffer.from('{"n":1}'),
      asOfPosition: 5,
      eventCount: 5,
      snapshotType: 'manual',
    });
    fs.mkdirSync(path.join(data, 'auth'));
    fs.writeFileSync(path.join(data, 'auth', 'accounts.json'), '{"users":[]}');
    // Appends keep arriving while the backup runs; the backup holds a prefix of them.
    let writing = true;
    const writer = (async () => {
      while (writing) await fill(store, 'default', 1);
    })();
    const capture = store.captureForBackup(['auth/accounts.json', 'auth/missing.json']);
    const captured = new Map(capture.logs.map((l) => [`${l.tenant}/${l.log}`, l]));
    const summary = await createBackup(capture, { backupDir: backups });
    writing = false;
    await writer;
    const expectedDefault = dump(store, 'default').slice(0, captured.get('default/events')!.events);
    const expectedAcme = dump(store, 'acme');
    await store.close();

    assert.equal(summary.events, captured.get('default/events')!.events + 50);
    assert.ok(summary.bytes > 0 && summary.rawBytes > summary.bytes, 'the archive is compressed');
    const report = await verifyBackup(backups, summary.id);
    assert.equal(report.valid, true, report.problem);

    const target = path.join(dir, 'restored');
    const restored = await restoreBackup({ backupDir: backups, id: summary.id, dataDir: target });
    assert.equal(restored.cut, false);
    assert.equal(
      fs.readFileSync(path.join(target, 'auth', 'accounts.json'), 'utf8'),
      '{"users":[]}',
    );
    assert.ok(!fs.existsSync(path.join(target, 'LOCK')));
    const reopened = await openTiny(target);
    t.after(() => reopened.close());
    assert.deepEqual(dump(reopened, 'default'), expectedDefault);
    assert.deepEqual(dump(reopened, 'acme'), expectedAcme);
    assert.equal(reopened.listSnapshots('acme', 'order-1').length, 1);
    assert.equal(reopened.entityVersion('acme', 'order-1'), 10);
    // The restored store takes appends where the backup left off.
    const [next] = await reopened.append('default', [ev('order.placed', 'order-1')]);
    assert.equal(next!.position, captured.get('default/events')!.lastPosition + 1);
    assert.deepEqual(reopened.warnings, []);
  });

  it('writes an archive that standard tar reads', async (t) => {
    try {
      execFileSync('tar', ['--version'], { stdio: 'ignore' });
    } catch {
      t.skip('no tar on this machine');
      return;
    }
    const dir = tmpDir();
    const store = await openTiny(path.join(dir, 'data'));
    await fill(store, 'default', 30);
    const summary = await createBackup(store.captureForBackup([]), {
      backupDir: path.join(dir, 'b'),
    });
    await store.close();
    const out = path.join(dir, 'x');
    fs.mkdirSync(out);
    execFileSync('tar', ['-xzf', archivePath(path.join(dir, 'b'), summary.id), '-C', out]);
    for (const name of fs.readdirSync(path.join(dir, 'data', 'tenants', 'default', 'events'))) {
      if (!name.endsWith('.log')) continue;
      assert.deepEqual(
        fs.readFileSync(path.join(out, 'tenants', 'default', 'events', name)),
        fs.readFileSync(path.join(dir, 'data', 'tenants', 'default', 'events', name)),
        name,
      );
    }
  });

  it('finds damage anywhere and names the first mismatch', async (t) => {
    const dir = tmpDir();
    const backups = path.join(dir, 'b');
    const store = await openTiny(path.join(dir, 'data'));
    await fill(store, 'default', 400);
    const take = () => createBackup(store.captureForBackup([]), { backupDir: backups });
    t.after(() => store.close());

    const flipped = await take();
    const archive = archivePath(backups, flipped.id);
    const size = fs.statSync(archive).size;
    flipBit(archive, Math.floor(size / 2), 3);
    const r1 = await verifyBackup(backups, flipped.id);
    assert.equal(r1.valid, false);
    assert.equal(r1.code, 'BACKUP_CORRUPT');
    assert.match(r1.problem!, /block \d+ of .* does not match its checksum/);

    const truncated = await take();
    fs.truncateSync(archivePath(backups, truncated.id), size - 100);
    const r2 = await verifyBackup(backups, truncated.id);
    assert.equal(r2.code, 'BACKUP_CORRUPT');
    assert.match(r2.problem!, /truncated/);

    const edited = await take();
    const manifestFile = path.join(backups, edited.id, 'manifest.json');
    const text = fs.readFileSync(manifestFile, 'utf8');
    fs.writeFileSync(manifestFile, text.replace(/"events": \d+/, '"events": 1'));
    const r3 = await verifyBackup(backups, edited.id);
    assert.equal(r3.code, 'BACKUP_INVALID');
    assert.match(r3.problem!, /edited or damaged/);

    // Re-sealed after an edit, the manifest passes its own check; the file checksums do not.
    const resealed = await take();
    const resealedFile = path.join(backups, resealed.id, 'manifest.json');
    const { checksum: _, ...body } = JSON.parse(fs.readFileSync(resealedFile, 'utf8'));
    body.files[0].sha256 = '0'.repeat(64);
    fs.writeFileSync(resealedFile, sealManifest(body));
    const r4 = await verifyBackup(backups, resealed.id);
    assert.equal(r4.code, 'BACKUP_CORRUPT');
    assert.match(r4.problem!, new RegExp(`${body.files[0].path} does not match its SHA-256`));

    // A block that inflates past the size its manifest gives is stopped at that size.
    const bomb = await take();
    const bombFile = path.join(backups, bomb.id, 'manifest.json');
    const { checksum: __, ...bombBody } = JSON.parse(fs.readFileSync(bombFile, 'utf8'));
    bombBody.archive.blocks[0][1] = 100;
    bombBody.totals.raw_bytes -= 1;
    fs.writeFileSync(bombFile, sealManifest(bombBody));
    const r6 = await verifyBackup(backups, bomb.id);
    assert.equal(r6.code, 'BACKUP_CORRUPT');
    assert.match(r6.problem!, /block 0 of .* does not inflate/);

    fs.mkdirSync(path.join(backups, 'foreign'));
    fs.writeFileSync(path.join(backups, 'foreign', 'manifest.json'), '{"format":"other"}');
    const r5 = await verifyBackup(backups, 'foreign');
    assert.equal(r5.code, 'BACKUP_INVALID');
    assert.match(r5.problem!, /not an AllSource backup/);
    await assert.rejects(verifyBackup(backups, 'nope'), (e) => isStoreError(e, 'NOT_FOUND'));
    await assert.rejects(verifyBackup(backups, '../etc'), (e) => isStoreError(e, 'NOT_FOUND'));

    // A damaged backup is never restored, and leaves neither the target nor a staging dir.
    const target = path.join(dir, 'target');
    await assert.rejects(
      restoreBackup({ backupDir: backups, id: flipped.id, dataDir: target }),
      (e) => isStoreError(e, 'BACKUP_CORRUPT'),
    );
    assert.deepEqual(
      fs.readdirSync(dir).filter((n) => n.startsWith('target')),
      [],
    );
    const listed = await listBackups(backups);
    assert.equal(listed.manifests.length, 4);
    assert.deepEqual(
      listed.invalid.map((i) => i.id),
      [edited.id, 'foreign'].sort(),
    );
  });

  it('refuses a non-empty target unless forced, and never one in use', async (t) => {
    const dir = tmpDir();
    const backups = path.join(dir, 'b');
    const store = await openTiny(path.join(dir, 'data'));
    await fill(store, 'default', 5);
    const { id } = await createBackup(store.captureForBackup([]), { backupDir: backups });
    const busy = path.join(dir, 'data');
    await assert.rejects(restoreBackup({ backupDir: backups, id, dataDir: busy }), (e) =>
      isStoreError(e, 'TARGET_NOT_EMPTY'),
    );
    await fill(store, 'default', 5);
    await store.close();
    // A live process (here, our parent) holds the directory: even --force must not replace it.
    fs.writeFileSync(path.join(busy, 'LOCK'), String(process.ppid));
    await assert.rejects(
      restoreBackup({ backupDir: backups, id, dataDir: busy, force: true }),
      (e) => isStoreError(e, 'LOG_UNAVAILABLE'),
    );
    fs.rmSync(path.join(busy, 'LOCK'));
    await restoreBackup({ backupDir: backups, id, dataDir: busy, force: true, openCheck: true });
    const reopened = await openTiny(busy);
    t.after(() => reopened.close());
    assert.equal(reopened.stats('default').totalEvents, 15);
    assert.deepEqual(
      fs.readdirSync(dir).sort(),
      ['b', 'data'],
      'no staging or replaced directory is left',
    );
    // What a restore killed mid-way left is cleared by the next restore into the same target,
    // unless its process still runs.
    const dead = path.join(dir, 'empty.restoring-999999999-abcdef');
    const live = path.join(dir, `empty.restoring-${process.pid}-abcdef`);
    fs.mkdirSync(dead);
    fs.mkdirSync(live);
    // An empty directory is a fine target.
    fs.mkdirSync(path.join(dir, 'empty'));
    await restoreBackup({ backupDir: backups, id, dataDir: path.join(dir, 'empty') });
    assert.ok(!fs.existsSync(dead), 'a dead restore is cleared');
    assert.ok(fs.existsSync(live), 'a running one is left alone');
  });

  it('restores to a position or a time, keeping whole batches', async (t) => {
    const dir = tmpDir();
    const backups = path.join(dir, 'b');
    const store = await openTiny(path.join(dir, 'data'));
    await fill(store, 'default', 60, 4);
    const times: number[] = [];
    for (let p = 4; p <= 240; p += 4)
      times.push(store.read('default', { afterPosition: p - 1, limit: 1 }).events[0]!.timestampUs);
    const snapAt = times[29]!;
    await store.putSnapshot('default', {
      entityId: 'order-1',
      state: Buffer.from('{}'),
      asOfPosition: 240,
      eventCount: 240,
      snapshotType: 'manual',
    });
    const all = dump(store, 'default');
    const { id } = await createBackup(store.captureForBackup([]), { backupDir: backups });
    await store.close();

    // Position 102 falls inside the batch 101..104: that batch is left out whole.
    const byPosition = await restoreBackup({
      backupDir: backups,
      id,
      dataDir: path.join(dir, 'p'),
      toPosition: 102,
    });
    assert.equal(byPosition.cut, true);
    assert.deepEqual(byPosition.logs, [{ tenant: 'default', last_position: 100, events: 100 }]);
    const p = await openTiny(path.join(dir, 'p'));
    assert.deepEqual(dump(p, 'default'), all.slice(0, 100));
    assert.equal(p.listSnapshots('default', 'order-1').length, 0, 'a later snapshot is dropped');
    const [next] = await p.append('default', [ev('order.placed', 'order-1')]);
    assert.equal(next!.position, 101);
    await p.close();

    const byTime = await restoreBackup({
      backupDir: backups,
      id,
      dataDir: path.join(dir, 't'),
      toTimeUs: snapAt,
    });
    const restored = await openTiny(path.join(dir, 't'));
    t.after(() => restored.close());
    const kept = dump(restored, 'default');
    const batchesByThen = times.filter((time) => time <= snapAt).length;
    assert.ok(batchesByThen >= 30);
    assert.equal(kept.length, 4 * batchesByThen, 'every batch committed by then, whole');
    assert.deepEqual(kept, all.slice(0, kept.length));
    assert.equal(byTime.logs[0]!.events, kept.length);
  });

  it('prunes to the newest backups', async (t) => {
    const dir = tmpDir();
    const backups = path.join(dir, 'b');
    const store = await openTiny(path.join(dir, 'data'));
    t.after(() => store.close());
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      await fill(store, 'default', 1);
      ids.push((await createBackup(store.captureForBackup([]), { backupDir: backups })).id);
    }
    fs.mkdirSync(path.join(backups, 'notes'));
    assert.deepEqual(await pruneBackups(backups, 2), ids.slice(0, 2));
    const left = await listBackups(backups);
    assert.deepEqual(
      left.manifests.map((m) => m.id),
      ids.slice(2),
    );
    assert.ok(fs.existsSync(path.join(backups, 'notes')), 'other directories are left alone');
  });
});
