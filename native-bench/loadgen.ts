// HTTP load: wrk (Debian's package, 4.1) when it is installed, else autocannon from npm (pinned
// in package.json). Both run as a separate process on loopback, share the machine's two cores
// with the server, and stop after a fixed duration.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
}

export interface Load {
  url: string;
  method: 'GET' | 'POST';
  body?: string;
  /** Sent with every request (credentials). */
  headers?: Record<string, string>;
  connections: number;
  durationSec: number;
}

export function haveWrk(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (error) {
    // wrk --version exits 1 after printing its version.
    return (error as { status?: number }).status === 1;
  }
}

/** Installs wrk from Debian's packages when it is missing and we run as root; false if not. */
export function ensureWrk(): boolean {
  if (haveWrk()) return true;
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('apt-get', ['install', '-y', '-q', 'wrk'], { stdio: 'ignore', timeout: 180_000 });
  } catch {
    try {
      execFileSync('apt-get', ['update', '-q'], { stdio: 'ignore', timeout: 180_000 });
      execFileSync('apt-get', ['install', '-y', '-q', 'wrk'], {
        stdio: 'ignore',
        timeout: 180_000,
      });
    } catch {
      return false;
    }
  }
  return haveWrk();
}

function wrkMs(text: string, label: string): number {
  const m = new RegExp(`^\\s*${label}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(text);
  if (m === null) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
}

async function runWrk(load: Load): Promise<LoadResult> {
  const script = path.join(os.tmpdir(), `allsource-wrk-${process.pid}.lua`);
  fs.writeFileSync(
    script,
    `wrk.method = "${load.method}"\n` +
      Object.entries(load.headers ?? {})
        .map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}\n`)
        .join('') +
      (load.body === undefined
        ? ''
        : `wrk.body = ${JSON.stringify(load.body)}\nwrk.headers["Content-Type"] = "application/json"\n`),
  );
  try {
    const args = [
      '-t1',
      `-c${load.connections}`,
      `-d${load.durationSec}s`,
      '--latency',
      '-s',
      script,
      load.url,
    ];
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      p.stdout.on('data', (d) => {
        text += d;
      });
      p.once('exit', (code) =>
        code === 0 ? resolve(text) : reject(new Error(`wrk exited ${code}`)),
      );
    });
    const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
    const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
    return {
      requestsPerSecond: rps === null ? 0 : Number(rps[1]),
      p50Ms: wrkMs(out, '50'),
      p99Ms: wrkMs(out, '99'),
      non2xx: non2xx === null ? 0 : Number(non2xx[1]),
    };
  } finally {
    fs.rmSync(script, { force: true });
  }
}

/** autocannon in a child process, so that it does not share an event loop with anything. */
async function runAutocannon(load: Load): Promise<LoadResult> {
  const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'autocannon_child.js');
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn(process.execPath, [child, JSON.stringify(load)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    p.stdout.on('data', (d) => {
      text += d;
    });
    p.once('exit', (code) =>
      code === 0 ? resolve(text) : reject(new Error(`autocannon exited ${code}`)),
    );
  });
  return JSON.parse(out) as LoadResult;
}

export function loadGenerator(): { name: string; run(load: Load): Promise<LoadResult> } {
  return haveWrk()
    ? { name: 'wrk 4.1 -t1', run: runWrk }
    : { name: 'autocannon 8', run: runAutocannon };
}
