import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, killProcess } from './private-process.js';
import { waitFor } from './wait-for.js';

/** PING over a raw socket: true when the server answers +PONG (not while it is loading its data). */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => { socket.destroy(); resolve(ok); };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

/**
 * A Redis server of the test's own (Debian's redis-server on a free port, its
 * own directory), so a test can kill it without touching the shared one.
 * Unlike the shared dev server it persists every write before answering
 * (AOF, fsync always): a Redis outage means the server is away and comes
 * back with its data, as a production Redis with persistence or a replica
 * does; what was acknowledged survives a kill -9.
 */
export class PrivateRedis {
  private proc: ChildProcess | undefined;

  private constructor(readonly dir: string, readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async create(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(mkdtempSync(path.join(tmpdir(), 'recsys-redis-')), await freePort());
    await redis.start();
    return redis;
  }

  async start(): Promise<void> {
    this.proc = spawn('redis-server', [
      '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '',
      '--appendonly', 'yes', '--appendfsync', 'always', '--daemonize', 'no', '--logfile', path.join(this.dir, 'redis.log'),
    ], { stdio: 'ignore' });
    await waitFor(() => ping(this.port), { timeoutMs: 30_000, intervalMs: 50, what: 'private Redis to answer PING' });
  }

  /** Stops the server abruptly (SIGKILL) and waits until it is gone. */
  async stop(): Promise<void> {
    await killProcess(this.proc);
    this.proc = undefined;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
