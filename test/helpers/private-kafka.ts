import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, killProcess } from './private-process.js';
import { waitFor } from './wait-for.js';

const INFRA = fileURLToPath(new URL('../../infra/kafka/', import.meta.url));
// Keep in step with KAFKA_VERSION in infra/scripts/services/kafka.sh (which fills this cache).
const LIBS = path.join(process.env.RECSYS_CACHE ?? path.join(homedir(), '.cache', 'recsys'), 'kafka-3.9.1', 'libs');

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => { socket.destroy(); resolve(ok); };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => done(true));
  });
}

/** The Java 11–23 that runs the shared broker (services.sh prefers KAFKA_JAVA, JAVA_HOME, then PATH). */
function findJava(): string {
  for (const candidate of [process.env.KAFKA_JAVA, process.env.JAVA_HOME && path.join(process.env.JAVA_HOME, 'bin', 'java'), 'java']) {
    if (candidate && spawnSync(candidate, ['-version'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  throw new Error('no java found for the private Kafka broker (set KAFKA_JAVA)');
}

/**
 * A Kafka broker of the test's own: Kafka 3.9.1 in KRaft combined mode from
 * the jars `infra/scripts/services.sh up` cached, the shared broker's
 * server.properties template with the test's own ports and data directory.
 * stop() kills it abruptly (an outage, as a crashed broker or a partition
 * looks to clients); start() brings it back on the same ports with the same
 * data, so what was acknowledged before the outage is still there.
 */
export class PrivateKafka {
  private proc: ChildProcess | undefined;
  private readonly java = findJava();

  private constructor(readonly dir: string, readonly port: number, readonly controllerPort: number) {}

  get broker(): string {
    return `127.0.0.1:${this.port}`;
  }

  private get props(): string {
    return path.join(this.dir, 'server.properties');
  }

  private get logFile(): string {
    return path.join(this.dir, 'kafka.log');
  }

  static async create(): Promise<PrivateKafka> {
    if (!existsSync(path.join(LIBS, 'kafka_2.13-3.9.1.jar'))) throw new Error(`no Kafka jars in ${LIBS}: run \`bash infra/scripts/services.sh up\` once to fetch them`);
    const kafka = new PrivateKafka(mkdtempSync(path.join(tmpdir(), 'recsys-kafka-')), await freePort(), await freePort());
    const data = path.join(kafka.dir, 'data');
    mkdirSync(data);
    const props = readFileSync(path.join(INFRA, 'server.properties.in'), 'utf8')
      .replaceAll('@PORT@', String(kafka.port)).replaceAll('@CONTROLLER_PORT@', String(kafka.controllerPort)).replaceAll('@DATA_DIR@', data);
    writeFileSync(kafka.props, props);
    // Kafka's cluster-id format: 16 random bytes, URL-safe base64, not starting with '-'.
    let clusterId: string;
    do clusterId = randomBytes(16).toString('base64url'); while (clusterId.startsWith('-'));
    const format = spawnSync(kafka.java, [
      '-Xmx256m', `-Dlog4j.configuration=file:${path.join(INFRA, 'tools-log4j.properties')}`, '-cp', `${LIBS}/*`,
      'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', kafka.props,
    ], { encoding: 'utf8', timeout: 120_000 });
    if (format.status !== 0) throw new Error(`kafka-storage format failed: ${format.stderr || format.stdout}`);
    await kafka.start();
    return kafka;
  }

  /** Launches the broker and waits until it logged its start and accepts connections. */
  async start(): Promise<void> {
    const from = existsSync(this.logFile) ? statSync(this.logFile).size : 0;
    const out = openSync(this.logFile, 'a');
    try {
      this.proc = spawn(this.java, [
        '-Xms128m', '-Xmx512m', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-XX:+ExitOnOutOfMemoryError', '-Djava.awt.headless=true',
        `-Dlog4j.configuration=file:${path.join(INFRA, 'log4j.properties')}`, '-cp', `${LIBS}/*`, 'kafka.Kafka', this.props,
      ], { stdio: ['ignore', out, out] });
    } finally {
      closeSync(out);
    }
    const proc = this.proc;
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`the private broker exited with ${proc.exitCode}; see ${this.logFile}`);
      return readFileSync(this.logFile, 'utf8').slice(from).includes('Kafka Server started') && (await portOpen(this.port));
    }, { timeoutMs: 120_000, intervalMs: 200, what: `the private Kafka broker on ${this.broker}` });
  }

  /** Kills the broker (SIGKILL) and waits until it is gone and its port is closed. */
  async stop(): Promise<void> {
    await killProcess(this.proc);
    this.proc = undefined;
    await waitFor(async () => !(await portOpen(this.port)), { timeoutMs: 10_000, what: 'the private broker port to close' });
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
