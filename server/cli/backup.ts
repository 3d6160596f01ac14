// `allsource backup ...`. create asks the running server (or, with --data-dir, works on a
// stopped store); list and verify ask the server, or read the backup directory with
// --backup-dir; restore and prune always work offline on directories.
import cliProgress from 'cli-progress';
import {
  createBackup,
  isStoreError,
  listBackups,
  openStore,
  parseTimestampUs,
  pruneBackups,
  removePartials,
  restoreBackup,
  summarize,
  verifyBackup,
} from '../../engine/index.js';
import { backupJson, METADATA_FILES } from '../backups.js';
import { loadConfig, readConfigFile } from '../config.js';
import {
  type AdminValues,
  CliError,
  type Context,
  contextOf,
  need,
  print,
  request,
} from './admin.js';

const MiB = 1024 * 1024;

/** A progress bar on stderr for people; nothing when stderr is not a terminal or with --json. */
function progress(label: string, json: boolean) {
  if (json || !process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% {done}/{total} MiB eta {eta_formatted}`,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done: number, total: number) {
      const payload = { done: (done / MiB).toFixed(1), total: (total / MiB).toFixed(1) };
      if (!started) {
        bar.start(Math.max(total, 1), done, payload);
        started = true;
      } else bar.update(done, payload);
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

function wholeNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new CliError(`${flag} must be a whole number`);
  return Number(value);
}

/** Options of the backup commands, by their flag names. */
export interface BackupValues extends AdminValues {
  config?: string | undefined;
  'backup-dir'?: string | undefined;
  'data-dir'?: string | undefined;
  'to-position'?: string | undefined;
  'to-time'?: string | undefined;
  keep?: string | undefined;
  force?: boolean | undefined;
  'open-check'?: boolean | undefined;
}

export async function backupCommand(
  action: string,
  id: string | undefined,
  values: BackupValues,
): Promise<void> {
  const ctx: Context = contextOf(values);
  const offline = values['backup-dir'] !== undefined;
  const config = () =>
    loadConfig(process.env, { backupDir: values['backup-dir'] }, readConfigFile(values.config));
  const online = () => {
    if (ctx.key === '') {
      throw new CliError('an admin API key is required: --api-key or ALLSOURCE_API_KEY');
    }
    return ctx;
  };
  const columns = ['id', 'created_at', 'size_bytes', 'events', 'files'];
  try {
    if (action === 'create' && values['data-dir'] !== undefined) {
      const c = config();
      const store = await openStore({ dataDir: values['data-dir'] });
      const bar = progress('backup', ctx.json);
      try {
        await removePartials(c.backupDir);
        const summary = await createBackup(store.captureForBackup(METADATA_FILES), {
          backupDir: c.backupDir,
          gzipLevel: c.backupGzipLevel,
          onProgress: bar.update,
        });
        bar.stop();
        const report = c.backupVerifyAfter ? await verifyBackup(c.backupDir, summary.id) : null;
        if (report !== null && !report.valid) throw new CliError(`check failed: ${report.problem}`);
        const pruned = await pruneBackups(c.backupDir, c.backupRetention);
        const out = {
          ...backupJson(summary),
          duration_ms: summary.durationMs,
          verified: report !== null,
          pruned,
        };
        print(ctx, out, [out], [...columns, 'duration_ms']);
      } finally {
        bar.stop();
        await store.close();
      }
    } else if (action === 'create') {
      const out = (await request(online(), 'POST', '/api/v1/backups')) as Record<string, unknown>;
      print(ctx, out, [out], [...columns, 'duration_ms']);
    } else if (action === 'list' && !offline) {
      const r = (await request(online(), 'GET', '/api/v1/backups')) as {
        backups: Record<string, unknown>[];
      };
      print(ctx, r, r.backups, columns);
    } else if (action === 'list') {
      const { manifests, invalid } = await listBackups(config().backupDir);
      const backups = manifests.reverse().map((m) => backupJson(summarize(m)));
      print(ctx, { backups, invalid }, backups, columns);
      for (const bad of invalid) process.stderr.write(`unreadable: ${bad.id}: ${bad.error}\n`);
    } else if (action === 'verify') {
      const target = need(id, 'a backup id');
      let report: Record<string, unknown>;
      if (offline) {
        const bar = progress('verify', ctx.json);
        const r = await verifyBackup(config().backupDir, target, bar.update);
        bar.stop();
        report = {
          id: r.id,
          valid: r.valid,
          files: r.files,
          raw_bytes: r.rawBytes,
          events: r.events,
          ...(r.valid ? {} : { code: r.code, problem: r.problem }),
        };
      } else {
        report = (await request(
          online(),
          'POST',
          `/api/v1/backups/${encodeURIComponent(target)}/verify`,
        )) as Record<string, unknown>;
      }
      print(ctx, report, [report], ['id', 'valid', 'files', 'events', 'problem']);
      if (report.valid !== true) process.exitCode = 1;
    } else if (action === 'restore') {
      const target = need(id, 'a backup id');
      const dataDir = need(values['data-dir'], '--data-dir');
      const toTime = values['to-time'];
      const toTimeUs = toTime === undefined ? undefined : parseTimestampUs(toTime);
      if (toTimeUs === null) throw new CliError('--to-time must be an RFC 3339 timestamp');
      const toPosition = wholeNumber(values['to-position'], '--to-position');
      const bar = progress('restore', ctx.json);
      const r = await restoreBackup({
        backupDir: config().backupDir,
        id: target,
        dataDir,
        force: values.force === true,
        openCheck: values['open-check'] === true,
        ...(toPosition === undefined ? {} : { toPosition }),
        ...(toTimeUs === undefined ? {} : { toTimeUs }),
        onProgress: bar.update,
      });
      bar.stop();
      const rows = r.logs.map((l) => ({
        tenant_id: l.tenant,
        last_position: l.last_position,
        events: l.events,
      }));
      print(
        ctx,
        { id: r.id, data_dir: r.dataDir, cut: r.cut, duration_ms: r.durationMs, tenants: rows },
        rows,
        ['tenant_id', 'last_position', 'events'],
      );
    } else if (action === 'prune') {
      const c = config();
      const keep = wholeNumber(values.keep, '--keep') ?? c.backupRetention;
      const removed = await pruneBackups(c.backupDir, keep);
      print(
        ctx,
        { removed, kept: keep },
        removed.map((r) => ({ removed: r })),
        ['removed'],
      );
    } else {
      throw new CliError(`unknown command backup ${action}`);
    }
  } catch (error) {
    if (isStoreError(error)) {
      process.stderr.write(`error: ${error.message} (${error.code})\n`);
      process.exitCode = 1;
      return;
    }
    if (!(error instanceof CliError)) throw error;
    process.stderr.write(`error: ${error.message}\n`);
    process.exitCode = 1;
  }
}
