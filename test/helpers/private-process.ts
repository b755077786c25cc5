import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** What the private test servers (Redis, ClickHouse, Kafka) share: a free port to start on, and an abrupt stop. */

/** A TCP port free on 127.0.0.1 right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** SIGKILL, as a crash would, and wait until the process is gone; nothing to do when it is not running. */
export async function killProcess(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGKILL');
  await exited;
}
