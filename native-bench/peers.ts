// Peers, measured in the same run on the same machine: Redis 7 Streams from Debian's packages,
// with the settings and load commands of LIMITS.md (AOF on, appendfsync always and everysec,
// redis-benchmark with 64 connections). The full bench installs Redis when it is missing and it
// runs as root; a peer that cannot run is skipped with the reason printed.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Params } from './engine.js';
import { payloadOf } from './engine.js';

export function have(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes `command` available from Debian's `pkg` when it is missing and this run may install
 * (full bench, as root); returns why it is not available, or null.
 */
export function ensureDebianPackage(command: string, pkg: string, install: boolean): string | null {
  if (have(command)) return null;
  if (!install) return `${command} is not installed (the full bench installs it)`;
  if (process.getuid?.() !== 0) return `${command} is not installed and we are not root`;
  try {
    execFileSync(
      'sh',
      ['-c', `apt-get install -y -q ${pkg} || (apt-get update -q && apt-get install -y -q ${pkg})`],
      { stdio: 'ignore', timeout: 300_000 },
    );
  } catch {
    return `apt-get could not install ${pkg}`;
  }
  return have(command) ? null : `${command} did not install`;
}

function ensureRedis(install: boolean): string | null {
  return (
    ensureDebianPackage('redis-server', 'redis-server', install) ??
    (have('redis-benchmark') ? null : 'redis-benchmark is missing')
  );
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function withRedis<T>(
  p: Params,
  fsync: 'always' | 'everysec',
  work: (port: number) => T,
): Promise<T> {
  const port = await freePort();
  const dir = path.join(p.dir, `redis-${fsync}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const proc = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      fsync,
      '--auto-aof-rewrite-percentage',
      '0',
    ],
    { stdio: 'ignore' },
  );
  try {
    for (let i = 0; i < 100; i++) {
      try {
        execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: 'ignore' });
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    return work(port);
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  }
}

/** redis-benchmark -q prints "<name>: <n> requests per second". */
function redisBench(port: number, args: string[]): number {
  const out = execFileSync('redis-benchmark', ['-p', String(port), '-q', ...args], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  const m = /([\d.]+) requests per second/.exec(out);
  if (m === null) throw new Error(`redis-benchmark printed: ${out}`);
  return Number(m[1]);
}

export interface PeerResults {
  skipped: string | null;
  /** XADD ops/s by appendfsync and pipelining. */
  xadd: Record<string, number[]>;
  /** XRANGE of one stream's 100 entries, requests/s. */
  xrange: number[];
}

export async function runPeers(p: Params): Promise<PeerResults> {
  const results: PeerResults = { skipped: null, xadd: {}, xrange: [] };
  results.skipped = ensureRedis(!p.smoke);
  if (results.skipped !== null) return results;
  const value = payloadOf(250).toString();
  const n = (pipeline: number) => String(p.smoke ? 20_000 : pipeline === 1 ? 200_000 : 500_000);
  for (let run = 0; run < p.runs; run++) {
    for (const fsync of ['always', 'everysec'] as const) {
      await withRedis(p, fsync, (port) => {
        for (const pipeline of [1, 16]) {
          execFileSync('redis-cli', ['-p', String(port), 'del', 's'], { stdio: 'ignore' });
          const ops = redisBench(port, [
            '-c',
            '64',
            '-P',
            String(pipeline),
            '-n',
            n(pipeline),
            'XADD',
            's',
            '*',
            'd',
            value,
          ]);
          const key = `${fsync} -P${pipeline}`;
          results.xadd[key] = [...(results.xadd[key] ?? []), ops];
        }
        if (fsync === 'always') {
          execFileSync('redis-cli', ['-p', String(port), 'del', 'r'], { stdio: 'ignore' });
          for (let i = 0; i < 100; i++)
            execFileSync('redis-cli', ['-p', String(port), 'xadd', 'r', '*', 'd', value], {
              stdio: 'ignore',
            });
          results.xrange.push(
            redisBench(port, [
              '-c',
              '64',
              '-n',
              p.smoke ? '5000' : '100000',
              'XRANGE',
              'r',
              '-',
              '+',
              'COUNT',
              '100',
            ]),
          );
        }
      });
    }
  }
  return results;
}
