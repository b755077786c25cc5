import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, killProcess } from './private-process.js';
import { waitFor } from './wait-for.js';

const INFRA = fileURLToPath(new URL('../../infra/clickhouse/', import.meta.url));

/**
 * A ClickHouse server of the test's own (same binary and config template as
 * the shared one, its own ports and data directory), so a test can stop it
 * without touching the server other engineers use.
 */
export class PrivateClickHouse {
  private proc: ChildProcess | undefined;

  private constructor(readonly dir: string, readonly httpPort: number, private readonly config: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  static async create(): Promise<PrivateClickHouse> {
    const dir = mkdtempSync(path.join(tmpdir(), 'recsys-ch-'));
    const [httpPort, tcpPort] = [await freePort(), await freePort()];
    const data = path.join(dir, 'data');
    mkdirSync(data, { recursive: true });
    const config = readFileSync(path.join(INFRA, 'config.xml.in'), 'utf8')
      .replaceAll('@LOG_DIR@', dir).replaceAll('@DATA_DIR@', data).replaceAll('@CONF_DIR@', dir)
      .replaceAll('@HTTP_PORT@', String(httpPort)).replaceAll('@TCP_PORT@', String(tcpPort));
    writeFileSync(path.join(dir, 'config.xml'), config);
    copyFileSync(path.join(INFRA, 'users.xml'), path.join(dir, 'users.xml'));
    const ch = new PrivateClickHouse(dir, httpPort, path.join(dir, 'config.xml'));
    await ch.start();
    return ch;
  }

  async start(): Promise<void> {
    this.proc = spawn('/usr/sbin/clickhouse-server', [`--config-file=${this.config}`], { stdio: 'ignore' });
    await waitFor(async () => (await fetch(`${this.url}/ping`).then((r) => r.text(), () => '')).startsWith('Ok'), { timeoutMs: 30_000, intervalMs: 100, what: 'private ClickHouse to answer /ping' });
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
