// Configuration: the TOML file, environment overrides, validation that lists every problem,
// and the `allsource config` commands.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import {
  ConfigError,
  defaultConfig,
  loadConfig,
  renderConfig,
  startupWarnings,
} from '../../server/config.js';
import { CLI_MAIN } from '../helpers/server.js';
import { tmpDir } from '../helpers/tmp.js';

it('reads back the generated file as the defaults, and takes an empty file', () => {
  assert.deepEqual(
    loadConfig({}, {}, { path: 'generated.toml', text: renderConfig() }),
    defaultConfig(),
  );
  assert.deepEqual(loadConfig({}, {}, { path: 'empty.toml', text: '' }), defaultConfig());
});

it('lists every problem of a bad file at once, with its key', () => {
  const text = [
    '[server]',
    'port = 70000',
    'host = 5',
    '[storage]',
    'fsync = "sometimes"',
    'segment_bytes_max = "big"',
    'colour = "blue"',
    '[nonsense]',
    'x = 1',
    '[auth]',
    'jwt_secret = "short"',
  ].join('\n');
  assert.throws(
    () => loadConfig({}, {}, { path: 'bad.toml', text }),
    (e) => {
      assert.ok(e instanceof ConfigError);
      for (const needle of [
        'server.port',
        'server.host',
        'storage.fsync',
        'storage.segment_bytes_max',
        'storage.colour',
        '[nonsense]',
        'jwt_secret',
      ]) {
        assert.ok(e.message.includes(needle), `${needle} missing from: ${e.message}`);
      }
      return true;
    },
  );
  assert.throws(
    () => loadConfig({}, {}, { path: 'broken.toml', text: '[server\nport =' }),
    ConfigError,
  );
});

it('applies the file, then the environment, then flags', () => {
  const file = {
    path: 'c.toml',
    text: '[server]\nport = 4000\n[storage]\nfsync = "interval"\n[rate_limit]\nenabled = false\n',
  };
  const fromFile = loadConfig({}, {}, file);
  assert.deepEqual(
    [fromFile.port, fromFile.fsync, fromFile.rateLimitEnabled],
    [4000, 'interval', false],
  );
  const fromEnv = loadConfig(
    { ALLSOURCE_PORT: '4100', ALLSOURCE_STORAGE_FSYNC: 'never' },
    {},
    file,
  );
  assert.deepEqual([fromEnv.port, fromEnv.fsync], [4100, 'never']);
  assert.equal(loadConfig({ ALLSOURCE_PORT: '4100' }, { port: '4200' }, file).port, 4200);
  assert.equal(loadConfig({ ALLSOURCE_SERVER_PORT: '4300' }, {}).port, 4300);
  assert.throws(
    () => loadConfig({ ALLSOURCE_AUTH_ENABLED: 'maybe' }, {}),
    /auth\.enabled must be true or false/,
  );
});

it('validates, shows and generates from the command line, exiting non-zero on problems', () => {
  const dir = tmpDir();
  const good = path.join(dir, 'good.toml');
  fs.writeFileSync(
    good,
    execFileSync(process.execPath, [CLI_MAIN, 'config', 'generate'], { encoding: 'utf8' }),
  );
  assert.match(
    execFileSync(process.execPath, [CLI_MAIN, 'config', 'validate', '--config', good], {
      encoding: 'utf8',
    }),
    /valid/,
  );
  const bad = path.join(dir, 'bad.toml');
  fs.writeFileSync(bad, '[server]\nport = -1\n');
  const failed = spawnSync(process.execPath, [CLI_MAIN, 'config', 'validate', '--config', bad], {
    encoding: 'utf8',
  });
  assert.notEqual(failed.status, 0);
  assert.match(failed.stderr, /server\.port/);
  const shown = execFileSync(process.execPath, [CLI_MAIN, 'config', 'show', '--config', good], {
    encoding: 'utf8',
    env: { ...process.env, ALLSOURCE_JWT_SECRET: 'x'.repeat(40) },
  });
  assert.match(shown, /jwt_secret = "<redacted>"/);
  assert.ok(!shown.includes('x'.repeat(40)), 'secrets are never shown');
});

it('warns at start about every setting that weakens a deployment, and about none by default', () => {
  assert.deepEqual(startupWarnings(defaultConfig()), []);
  const weak = {
    ...defaultConfig(),
    host: '0.0.0.0',
    authEnabled: false,
    fsync: 'never' as const,
    allowRegistration: true,
    rateLimitEnabled: false,
  };
  const warnings = startupWarnings(weak).join('\n');
  for (const expected of [
    /authentication is disabled/,
    /fsync = never/,
    /not loopback.*TLS-terminating proxy/,
    /\/metrics is public/,
    /allow_registration/,
    /rate limits are off/,
  ]) {
    assert.match(warnings, expected);
  }
});
