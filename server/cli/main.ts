#!/usr/bin/env node
// The `allsource` command. `allsource serve` starts the server; the admin commands (users,
// tenants, backups, config) come with the operations work.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, readConfigFile, renderConfig } from '../config.js';
import { startServer } from '../server.js';
import { TransportError } from '../uws.js';
import { ADMIN_HELP, admin } from './admin.js';
import { BACKUP_HELP, backupCommand } from './backup.js';

const HELP = `Usage: allsource serve [options]
       allsource config generate | validate [--config <file>] | show [--config <file>]

Settings come from defaults, then the TOML file (--config or ALLSOURCE_CONFIG), then the
environment (ALLSOURCE_<SECTION>_<KEY>), then these flags. \`allsource config generate\` prints
every key with its default and meaning.

Options (each also read from the environment variable shown):
  --config <file>        TOML configuration file     ALLSOURCE_CONFIG
  --host <addr>          address to bind             ALLSOURCE_HOST (127.0.0.1)
  --port <n>             port, 0 for any free one    ALLSOURCE_PORT (3900)
  --data-dir <dir>       data directory              ALLSOURCE_DATA_DIR (./data)
  --fsync <policy>       always | interval | never   ALLSOURCE_STORAGE_FSYNC (always)
  --allow-js-fallback    start even if the native uWebSockets.js binary does not load
  -h, --help             this text

First start with no users creates user "admin": its password comes from
ALLSOURCE_BOOTSTRAP_ADMIN_PASSWORD, or is generated and written to
<data dir>/auth/bootstrap-admin-password. ALLSOURCE_BOOTSTRAP_API_KEY=ask_... registers an
admin API key of tenant "default" at start.
`;

function configCommand(argv: string[]): void {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { config: { type: 'string' } },
  });
  const action = positionals[0];
  if (action === 'generate') {
    process.stdout.write(renderConfig());
    return;
  }
  if (action !== 'validate' && action !== 'show') {
    process.stdout.write(HELP);
    process.exitCode = 2;
    return;
  }
  const config = loadConfig(process.env, {}, readConfigFile(values.config));
  if (action === 'validate') process.stdout.write('configuration is valid\n');
  else process.stdout.write(renderConfig(config));
}

async function serve(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      fsync: { type: 'string' },
      'allow-js-fallback': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const config = loadConfig(
    process.env,
    {
      host: values.host,
      port: values.port,
      dataDir: values['data-dir'],
      fsync: values.fsync,
      allowJsFallback: values['allow-js-fallback'] ? 'true' : undefined,
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
  if (!config.authEnabled) {
    process.stderr.write(
      'WARNING: authentication is disabled (ALLSOURCE_AUTH_ENABLED=0): every request acts as admin of tenant default.\n',
    );
  }
  if (config.fsync === 'never') {
    process.stderr.write('WARNING: fsync = never: a crash can lose acknowledged events.\n');
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

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === 'serve') await serve(rest);
  else if (command === 'config') configCommand(rest);
  else if (command === 'backup') await backupCommand(rest);
  else if (command === 'stats' || command === 'user' || command === 'tenant')
    await admin(command, rest);
  else {
    process.stdout.write(`${HELP}\n${ADMIN_HELP}\n${BACKUP_HELP}`);
    if (command !== undefined && command !== '--help' && command !== '-h') process.exitCode = 2;
  }
} catch (error) {
  if (error instanceof ConfigError || error instanceof TransportError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
