// NATS JetStream, measured in the same run: nats-server from Debian's packages with a
// file-storage stream of one replica, loaded by a minimal client of the NATS text protocol
// (the npm client, not the server, is the limit, per LIMITS.md): publishes with an ack, 256 in
// flight. Debian's 2.9 acknowledges before any fsync and cannot be told otherwise, so its
// figure compares with fsync = interval or Redis everysec, not with fsync-before-ack.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Params } from './engine.js';
import { payloadOf } from './engine.js';
import { ensureDebianPackage, freePort } from './peers.js';

const IN_FLIGHT = 256;
const INBOX = '_INBOX.bench';

/** The client side of the NATS protocol this bench needs: CONNECT, SUB, PUB, MSG, PING/PONG. */
class Connection {
  private pending: Buffer = Buffer.alloc(0);
  private out: Buffer[] = [];
  private flushing = false;
  onMessage: (subject: string, payload: Buffer) => void = () => {};

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
  }

  static connect(port: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        const c = new Connection(socket);
        c.send('CONNECT {"verbose":false,"pedantic":false,"headers":false}\r\nPING\r\n');
        resolve(c);
      });
      socket.once('error', reject);
    });
  }

  send(text: string | Buffer): void {
    this.out.push(typeof text === 'string' ? Buffer.from(text) : text);
    if (this.flushing) return;
    this.flushing = true;
    // Everything sent in one turn of the event loop leaves in one write.
    setImmediate(() => {
      this.flushing = false;
      const batch = Buffer.concat(this.out);
      this.out = [];
      this.socket.write(batch);
    });
  }

  publish(subject: string, reply: string, payload: Buffer): void {
    this.send(
      Buffer.concat([Buffer.from(`PUB ${subject} ${reply} ${payload.length}\r\n`), payload, CRLF]),
    );
  }

  private receive(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let at = 0;
    for (;;) {
      const eol = this.pending.indexOf('\r\n', at);
      if (eol === -1) break;
      const line = this.pending.toString('latin1', at, eol);
      if (line.startsWith('MSG ')) {
        const parts = line.split(' ');
        const size = Number(parts[parts.length - 1]);
        if (eol + 2 + size + 2 > this.pending.length) break;
        this.onMessage(parts[1]!, this.pending.subarray(eol + 2, eol + 2 + size));
        at = eol + 2 + size + 2;
        continue;
      }
      if (line === 'PING') this.send('PONG\r\n');
      else if (line.startsWith('-ERR')) throw new Error(`nats: ${line}`);
      at = eol + 2;
    }
    this.pending = this.pending.subarray(at);
  }

  close(): void {
    this.socket.destroy();
  }
}

const CRLF = Buffer.from('\r\n');

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('nats-server did not start');
}

/** Publishes with ack for `ms`, IN_FLIGHT outstanding; returns acks per second. */
async function publishWithAck(port: number, ms: number): Promise<number> {
  const c = await Connection.connect(port);
  try {
    const created = new Promise<void>((resolve, reject) => {
      c.onMessage = (_subject, payload) => {
        const answer = JSON.parse(payload.toString()) as { error?: { description: string } };
        if (answer.error !== undefined) reject(new Error(answer.error.description));
        else resolve();
      };
    });
    c.send(`SUB ${INBOX}.* 1\r\n`);
    const config = JSON.stringify({
      name: 'BENCH',
      subjects: ['bench.>'],
      storage: 'file',
      num_replicas: 1,
    });
    c.send(`PUB $JS.API.STREAM.CREATE.BENCH ${INBOX}.create ${config.length}\r\n${config}\r\n`);
    await created;
    const payload = payloadOf(250);
    let acks = 0;
    let sent = 0;
    const deadline = performance.now() + ms;
    const started = performance.now();
    await new Promise<void>((resolve) => {
      c.onMessage = () => {
        acks++;
        if (performance.now() < deadline) c.publish('bench.e', `${INBOX}.${sent++}`, payload);
        else if (acks === sent) resolve();
      };
      for (let i = 0; i < IN_FLIGHT; i++) c.publish('bench.e', `${INBOX}.${sent++}`, payload);
    });
    return acks / ((performance.now() - started) / 1000);
  } finally {
    c.close();
  }
}

export interface NatsResults {
  skipped: string | null;
  acks: number[];
}

export async function runNats(p: Params): Promise<NatsResults> {
  const skipped = ensureDebianPackage('nats-server', 'nats-server', !p.smoke);
  if (skipped !== null) return { skipped, acks: [] };
  const acks: number[] = [];
  for (let run = 0; run < p.runs; run++) {
    const port = await freePort();
    const dir = path.join(p.dir, `nats-${run}`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const proc = spawn('nats-server', ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port)], {
      stdio: 'ignore',
    });
    try {
      await waitForPort(port);
      acks.push(await publishWithAck(port, p.smoke ? 300 : 4000));
    } finally {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return { skipped: null, acks };
}
