/**
 * Runs the streaming loop of docs/getting-started.md ("## 3. The streaming
 * loop") command by command, as the page writes them, so the walkthrough
 * cannot rot:
 *
 *   node --import tsx scripts/check-getting-started.ts        (npm test runs it last; DOCS_WALKTHROUGH=0 skips it)
 *
 * It needs the local services (`recsys services up`) and takes a few minutes.
 * So that it can run beside anything else on the same services, every name the
 * page leaves at its default is made private through the environment (topics,
 * database, Redis prefix, consumer group, queue, registry, port), and is
 * removed at the end. The only edits to the page's commands: `npx recsys` runs
 * as `node bin/recsys.js` (the same entry point, with a process id to stop),
 * `services up|down` become `doctor` (the services are shared: this checks they answer, and stops nothing),
 * `train-stream` gets a private `--group` and `--checkpoint-dir` (their
 * defaults are fixed names), the port 8080 becomes the private one, and
 * `<job id>` is the id `replay submit` printed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadServicesConfig } from '../infra/config.js';
import { createClickHouse } from '../infra/clickhouse/clickhouse-client.js';
import { createKafka } from '../infra/kafka/kafka-client.js';
import { createRedis } from '../infra/redis/redis-client.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PAGE = path.join(ROOT, 'docs/getting-started.md');
const COMMAND_SECONDS = 600;
const READY_SECONDS = 180;

/** The page's shell lines of the streaming loop, comments dropped; `background` for those marked "own terminal". */
export function walkthroughLines(markdown: string): { line: string; background: boolean }[] {
  const start = markdown.indexOf('## 3. The streaming loop');
  const end = markdown.indexOf('\n## ', start + 1);
  if (start < 0) throw new Error(`${PAGE} has no "## 3. The streaming loop" section`);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  const lines: { line: string; background: boolean }[] = [];
  for (const block of section.matchAll(/```bash\n([\s\S]*?)```/g)) {
    for (const raw of block[1]!.split('\n')) {
      const trimmed = raw.trim();
      if (trimmed === '' || trimmed.startsWith('#')) continue;
      lines.push({ line: trimmed.replace(/\s+#\s.*$/, ''), background: /#\s*own terminal/.test(trimmed) });
    }
  }
  return lines;
}

const run = randomBytes(4).toString('hex');
const work = mkdtempSync(path.join(tmpdir(), `getting-started-${run}-`));
const port = 20000 + Math.floor(Math.random() * 20000);
// As a user runs them: without the test suite's NODE_ENV=test (quieter logs, shorter retries).
const { NODE_ENV: _testEnv, ...userEnv } = process.env;
const env: NodeJS.ProcessEnv = {
  ...userEnv,
  RECSYS_REGISTRY: path.join(work, 'registry'),
  RECSYS_REPLAY_REPORTS: path.join(work, 'replay'),
  RECSYS_SERVE_PORT: String(port),
  CLICKHOUSE_DATABASE: `docs_walk_${run}`,
  KAFKA_EVENTS_TOPIC: `docs-walk-${run}.events`,
  KAFKA_DEAD_LETTER_TOPIC: `docs-walk-${run}.dead-letters`,
  KAFKA_DECISIONS_TOPIC: `docs-walk-${run}.decisions`,
  REDIS_KEY_PREFIX: `docs-walk-${run}:`,
  RECSYS_MODELS_CHANNEL: `docs-walk-${run}:models`,
  RECSYS_FOLD_IN_CHANNEL: `docs-walk-${run}:fold-in`,
  INGEST_GROUP: `docs-walk-${run}-ingest`,
  REPLAY_QUEUE: `docs-walk-${run}`,
};
const vars: Record<string, string> = {};
const background: { line: string; child: ChildProcess; log: string[] }[] = [];

function adapt(line: string, jobId: string | undefined): string {
  let out = line
    .replaceAll('npx recsys', 'node bin/recsys.js')
    .replace(/^node bin\/recsys.js services (up|down)\b.*/, 'node bin/recsys.js doctor')
    .replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`);
  if (out.includes(' train-stream ')) out += ` --group docs-walk-${run}-train --checkpoint-dir ${path.join(work, 'checkpoints')}`;
  if (out.includes('<job id>')) {
    if (!jobId) throw new Error(`"${line}" needs the job id, but no earlier command printed one`);
    out = out.replaceAll('<job id>', jobId);
  }
  return out;
}

/** One line through bash; `NAME=$(…)` assignments are kept for the later lines. */
function exec(line: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const assignment = /^([A-Z_]+)=(.*)$/.exec(line);
  const script = assignment ? `printf '%s' "${assignment[2]!.replaceAll('"', '\\"')}"` : line;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { cwd: ROOT, env: { ...env, ...vars }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-8000); });
    const timer = setTimeout(() => child.kill('SIGKILL'), COMMAND_SECONDS * 1000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (assignment && code === 0) vars[assignment[1]!] = stdout.trim();
      resolve({ code, stdout, stderr });
    });
  });
}

async function waitReady(): Promise<void> {
  const deadline = Date.now() + READY_SECONDS * 1000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the server on port ${port} was not ready after ${READY_SECONDS} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function stopBackground(): Promise<void> {
  await Promise.all(background.map(({ child }) => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', () => { clearTimeout(kill); resolve(); });
    child.kill('SIGTERM');
  })));
}

async function cleanUp(): Promise<void> {
  const services = loadServicesConfig(env);
  const admin = createKafka(services.kafka).admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(`docs-walk-${run}.`));
  if (topics.length > 0) await admin.deleteTopics({ topics });
  await admin.disconnect();
  const redis = createRedis(services.redis);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `docs-walk-${run}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();
  const clickhouse = createClickHouse(services.clickhouse, { database: null });
  await clickhouse.command(`DROP DATABASE IF EXISTS docs_walk_${run}`);
  await clickhouse.close();
  rmSync(work, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const lines = walkthroughLines(readFileSync(PAGE, 'utf8'));
  if (lines.length === 0) throw new Error(`no commands found in ${PAGE}'s streaming loop`);
  let jobId: string | undefined;
  for (const { line, background: inBackground } of lines) {
    const command = adapt(line, jobId);
    const t0 = Date.now();
    if (inBackground) {
      const child = spawn('bash', ['-c', `exec ${command}`], { cwd: ROOT, env: { ...env, ...vars }, stdio: ['ignore', 'pipe', 'pipe'] });
      const log: string[] = [];
      child.stderr.on('data', (d: Buffer) => { log.push(d.toString()); if (log.length > 200) log.shift(); });
      child.stdout.on('data', () => {});
      background.push({ line, child, log });
      console.error(`started  ${line}`);
      if (/ serve\b/.test(command)) await waitReady();
      continue;
    }
    const result = await exec(command);
    const seconds = ((Date.now() - t0) / 1000).toFixed(1);
    if (result.code !== 0) throw new Error(`"${line}" exited ${result.code} after ${seconds} s:\n${result.stderr}${result.stdout}`);
    console.error(`ok ${seconds.padStart(6)} s  ${line}`);
    const queued = /queued: (\S+)/.exec(result.stdout);
    if (queued) jobId = queued[1];
    const last = result.stdout.trim().split('\n').at(-1) ?? '';
    if (line.includes('simulate-users') && last.startsWith('{')) {
      const summary = JSON.parse(last) as { failed: number; requests: number };
      if (summary.failed > 0) throw new Error(`simulate-users: ${summary.failed} of ${summary.requests} requests failed: ${last}`);
    }
    const dead = background.find(({ child }) => child.exitCode !== null);
    if (dead) throw new Error(`"${dead.line}" exited ${dead.child.exitCode} while the walkthrough ran:\n${dead.log.join('').slice(-4000)}`);
  }
  if (!jobId) throw new Error('the walkthrough never queued a replay job');
}

try {
  await main();
  console.error(`docs/getting-started.md: the streaming loop ran as written (private run ${run})`);
} catch (error) {
  console.error(`docs/getting-started.md: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await stopBackground();
  await cleanUp().catch((error: unknown) => console.error(`clean-up of run ${run} failed: ${(error as Error).message}`));
}
