import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
// RECSYS_CLUSTER_CHECKOUT: the checkout whose scripts started the running topology. A git worktree sharing its var/
// must restart nodes through those scripts: its own would not recognise the running processes (they match on path).
const CLUSTER_SCRIPTS = path.join(process.env.RECSYS_CLUSTER_CHECKOUT ?? REPO_ROOT, 'infra/scripts/services/cluster');
const RUN_DIR = path.join(REPO_ROOT, 'var/cluster/run');

/** The cluster topology's endpoints, as services.sh --topology cluster starts them. */
export const CLUSTER = {
  kafkaBrokers: ['127.0.0.1:19092', '127.0.0.1:19093', '127.0.0.1:19094'],
  redisNodes: ['127.0.0.1:17001', '127.0.0.1:17002', '127.0.0.1:17003', '127.0.0.1:17004', '127.0.0.1:17005', '127.0.0.1:17006'],
  balancer: 'http://127.0.0.1:18080',
  balancerStats: 'http://127.0.0.1:18089/stats;csv',
} as const;

/** The balancer's own view of its serving members ('serve-1' → 'UP' | 'DOWN' | ...), from haproxy's CSV stats. */
export async function balancerMembers(): Promise<Map<string, string>> {
  const csv = await (await fetch(CLUSTER.balancerStats, { signal: AbortSignal.timeout(2000) })).text();
  const members = new Map<string, string>();
  for (const line of csv.split('\n')) {
    const [proxy, server, , , , , , , , , , , , , , , , status] = line.split(',');
    if (proxy === 'serving' && server?.startsWith('serve-') && status !== undefined) members.set(server, status);
  }
  return members;
}

/** Runs one of the cluster scripts (`kafka`, `redis`, `haproxy`, `serve-replicas`) with a verb; rejects on a non-zero exit. */
export async function clusterScript(name: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 300_000): Promise<string> {
  const { stdout, stderr } = await run('bash', [path.join(CLUSTER_SCRIPTS, `${name}.sh`), ...args], { env: { ...process.env, ...env }, timeout: timeoutMs, cwd: REPO_ROOT });
  return stdout + stderr;
}

/** The pid a cluster script recorded for one of its processes (`kafka-2`, `redis-17001`, `serve-1`). */
export function recordedPid(name: string): number {
  const pid = Number(readFileSync(path.join(RUN_DIR, `${name}.pid`), 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no pid recorded for ${name}`);
  return pid;
}

/** Kill -9 of a recorded process; resolves once it is gone (deadline 10 s). */
export async function killNine(name: string): Promise<number> {
  const pid = recordedPid(name);
  process.kill(pid, 'SIGKILL');
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
      // A zombie still answers kill 0; its state says it is dead.
      if (/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return pid;
    } catch {
      return pid;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`pid ${pid} (${name}) still alive 10 s after SIGKILL`);
}
