#!/usr/bin/env node
// The `allsource` command: `serve`, `config ...`, the admin commands that talk to a running
// server (`stats`, `user ...`, `tenant ...`), and `backup ...`. Arguments are parsed by
// commander, which also writes `--help` for every command.
import { Command, Option } from 'commander';
import {
  ConfigError,
  loadConfig,
  readConfigFile,
  renderConfig,
  startupWarnings,
} from '../config.js';
import { startServer } from '../server.js';
import { TransportError } from '../uws.js';
import { SERVICE_VERSION } from '../version.js';
import { type AdminValues, admin } from './admin.js';
import { type BackupValues, backupCommand } from './backup.js';

const SERVE_NOTES = `
Settings come from defaults, then the TOML file (--config or ALLSOURCE_CONFIG), then the
environment (ALLSOURCE_<SECTION>_<KEY>; short forms ALLSOURCE_HOST, ALLSOURCE_PORT,
ALLSOURCE_DATA_DIR, ALLSOURCE_JWT_SECRET), then these flags. \`allsource config generate\`
prints every key with its default and meaning.

First start with no users creates user "admin": its password comes from
ALLSOURCE_BOOTSTRAP_ADMIN_PASSWORD, or is generated and written to
<data dir>/auth/bootstrap-admin-password. ALLSOURCE_BOOTSTRAP_API_KEY=ask_... registers an
admin API key of tenant "default" at start.
`;

interface ServeOptions {
  config?: string;
  host?: string;
  port?: string;
  dataDir?: string;
  fsync?: string;
  allowJsFallback?: boolean;
}

async function serve(values: ServeOptions): Promise<void> {
  const config = loadConfig(
    process.env,
    {
      host: values.host,
      port: values.port,
      dataDir: values.dataDir,
      fsync: values.fsync,
      allowJsFallback: values.allowJsFallback ? 'true' : undefined,
    },
    readConfigFile(values.config),
  );
  const server = await startServer(config);
  // Handlers first: a signal that comes as soon as the banner is out must still stop cleanly.
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: finishing in-flight requests and closing the store\n`);
    server.log.info({ signal }, 'stopping');
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.stdout.write(
    `AllSource listening on http://${config.host}:${server.port} (transport ${server.transport}, ` +
      `data ${config.dataDir}, fsync ${config.fsync})\n`,
  );
  const base = `http://${config.host}:${server.port}`;
  server.log.info(
    {
      url: base,
      transport: server.transport,
      data_dir: config.dataDir,
      fsync: config.fsync,
      auth: config.authEnabled,
    },
    'listening',
  );
  for (const warning of startupWarnings(config)) {
    process.stderr.write(`WARNING: ${warning}\n`);
    server.log.warn({ setting: true }, warning);
  }
  if (server.bootstrapPasswordFile !== null) {
    process.stdout.write(
      `First start: created user "admin" (role admin, tenant default). Its password is in\n` +
        `  ${server.bootstrapPasswordFile}\n` +
        'Read it once, then delete the file or change the password.\n',
    );
  } else if (server.adminCreated) {
    process.stdout.write(
      'First start: created user "admin" with ALLSOURCE_BOOTSTRAP_ADMIN_PASSWORD.\n',
    );
  }
  process.stdout.write(
    'Get a token:\n' +
      `  curl -X POST ${base}/api/v1/auth/login -H 'content-type: application/json' \\\n` +
      `    -d '{"username":"admin","password":"<password>"}'\n` +
      'then send it as "Authorization: Bearer <token>".\n',
  );
}

/** The admin options common to every command that talks to a server. */
function server(command: Command): Command {
  return command
    .option('--url <url>', 'server URL (ALLSOURCE_URL, default http://127.0.0.1:3900)')
    .option('--api-key <key>', 'admin API key (ALLSOURCE_API_KEY)')
    .option('--json', 'print JSON instead of a table');
}

/** Commander's camelCase options under the flag names the command modules use. */
function flags(o: Record<string, unknown>): AdminValues & BackupValues {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(o)) {
    out[key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)] = value;
  }
  return out as AdminValues & BackupValues;
}

function program(): Command {
  const root = new Command('allsource')
    .description('AllSource: a durable event store for Node.js')
    .version(SERVICE_VERSION)
    .showHelpAfterError();
  root
    .command('serve')
    .description('start the server')
    .option('--config <file>', 'TOML configuration file (ALLSOURCE_CONFIG)')
    .option('--host <addr>', 'address to bind (ALLSOURCE_HOST, default 127.0.0.1)')
    .option('--port <n>', 'port, 0 for any free one (ALLSOURCE_PORT, default 3900)')
    .option('--data-dir <dir>', 'data directory (ALLSOURCE_DATA_DIR, default ./data)')
    .addOption(
      new Option('--fsync <policy>', 'when appends are acknowledged (default always)').choices([
        'always',
        'interval',
        'never',
      ]),
    )
    .option('--allow-js-fallback', 'start even if the native uWebSockets.js binary does not load')
    .addHelpText('after', SERVE_NOTES)
    .action((o: ServeOptions) => serve(o));

  const config = root.command('config').description('print, check or show the configuration');
  config
    .command('generate')
    .description('print every key with its default and meaning (a valid example file)')
    .action(() => {
      process.stdout.write(renderConfig());
    });
  for (const [name, about] of [
    ['validate', 'check a configuration and the environment; exit 1 listing every problem'],
    ['show', 'print the configuration in effect, secrets hidden'],
  ] as const) {
    config
      .command(name)
      .description(about)
      .option('--config <file>', 'TOML configuration file (ALLSOURCE_CONFIG)')
      .action((o: { config?: string }) => {
        const loaded = loadConfig(process.env, {}, readConfigFile(o.config));
        process.stdout.write(
          name === 'validate' ? 'configuration is valid\n' : renderConfig(loaded),
        );
      });
  }

  server(root.command('stats').description("the caller's tenant's totals")).action((o) =>
    admin('stats', undefined, undefined, flags(o)),
  );
  const user = root.command('user').description('users (admin)');
  server(user.command('create').description('create a user'))
    .requiredOption('--username <name>', 'user name')
    .requiredOption('--email <address>', 'email')
    .requiredOption('--password <password>', 'password (at least auth.password_min_length)')
    .option('--role <role>', 'admin | developer | readonly | serviceaccount (default readonly)')
    .option('--tenant <id>', "tenant (default the caller's)")
    .action((o) => admin('user', 'create', undefined, flags(o)));
  server(user.command('list').description('list users')).action((o) =>
    admin('user', 'list', undefined, flags(o)),
  );
  server(user.command('delete').description('delete a user').argument('<user-id>')).action(
    (id: string, o) => admin('user', 'delete', id, flags(o)),
  );
  const tenant = root.command('tenant').description('tenants (admin)');
  server(tenant.command('create').description('create a tenant').argument('<id>'))
    .option('--name <name>', 'display name (default the id)')
    .option('--preset <preset>', 'free | professional | unlimited | standard')
    .action((id: string, o) => admin('tenant', 'create', id, flags(o)));
  server(tenant.command('list').description('list tenants')).action((o) =>
    admin('tenant', 'list', undefined, flags(o)),
  );
  for (const [name, about] of [
    ['stats', "a tenant's usage"],
    ['activate', 'let a tenant serve again'],
    ['deactivate', 'stop a tenant (its credentials get 403)'],
  ] as const) {
    server(tenant.command(name).description(about).argument('<id>')).action((id: string, o) =>
      admin('tenant', name, id, flags(o)),
    );
  }

  const backup = root
    .command('backup')
    .description('backups: create online, list, verify, restore offline, prune (BACKUPS.md)');
  const dirs = (command: Command) =>
    command
      .option('--backup-dir <dir>', 'work on this backup directory instead of asking the server')
      .option('--config <file>', 'TOML file for [backup] settings (ALLSOURCE_CONFIG)');
  dirs(server(backup.command('create').description('take a backup')))
    .option('--data-dir <dir>', 'back up a stopped store directly instead of asking the server')
    .action((o) => backupCommand('create', undefined, flags(o)));
  dirs(server(backup.command('list').description('list backups, newest first'))).action((o) =>
    backupCommand('list', undefined, flags(o)),
  );
  dirs(server(backup.command('verify').description('recompute every checksum; exit 1 if damaged')))
    .argument('<id>')
    .action((id: string, o) => backupCommand('verify', id, flags(o)));
  dirs(backup.command('restore').description('restore into an empty directory (offline)'))
    .argument('<id>')
    .requiredOption('--data-dir <dir>', 'target data directory (must be empty unless --force)')
    .option('--to-position <n>', "keep each tenant's events up to this position")
    .option('--to-time <time>', 'keep events committed at or before this RFC 3339 time')
    .option('--force', 'replace a target that holds files (never one in use)')
    .option('--open-check', 'also open the restored store and compare it with the manifest')
    .option('--json', 'print JSON instead of a table')
    .action((id: string, o) => backupCommand('restore', id, flags(o)));
  dirs(backup.command('prune').description('keep the newest backups, remove the others'))
    .option('--keep <n>', 'backups to keep (default [backup] retention)')
    .option('--json', 'print JSON instead of a table')
    .action((o) => backupCommand('prune', undefined, flags(o)));
  return root;
}

try {
  await program().parseAsync(process.argv);
} catch (error) {
  if (error instanceof ConfigError || error instanceof TransportError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
