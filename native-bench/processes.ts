// Servers under test run as child processes on loopback and are stopped by pid.
import { type ChildProcess, spawn } from 'node:child_process';

/** The admin key every server the benchmarks start is given. */
export const BENCH_KEY = `ask_${'b'.repeat(43)}`;
export const BENCH_HEADERS = { 'x-api-key': BENCH_KEY };

export interface Child {
  port: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `node <script> ...args` and waits for a line that `portPattern` finds a port in. */
export async function startChild(
  script: string,
  args: string[],
  portPattern: RegExp,
  env: Record<string, string> = {},
): Promise<Child> {
  const proc = spawn(process.execPath, [script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ALLSOURCE_BOOTSTRAP_API_KEY: BENCH_KEY, ...env },
  });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start: ${out}`)), 15_000);
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = portPattern.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.once('exit', (code) => reject(new Error(`${script} exited ${code}: ${out}`)));
  });
  proc.stdout!.resume();
  return {
    port,
    proc,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}
