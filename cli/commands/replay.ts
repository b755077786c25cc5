import type { Command } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import { loadServicesConfig } from '../../infra/config.js';
import { createClickHouse } from '../../infra/clickhouse/clickhouse-client.js';
import type { SqlClient } from '../../infra/clickhouse/sql-client.js';
import { NonRetriableError, ValidationError } from '../../infra/errors.js';
import { createRedis, type Redis } from '../../infra/redis/redis-client.js';
import { onShutdown } from '../../infra/shutdown.js';
import { ESTIMATORS, type Estimator } from '../../pipelines/replay/estimators/policy-stats.js';
import { ReplayQueue, type JobStatus } from '../../pipelines/replay/replay-queue.js';
import { readReplayResults } from '../../pipelines/replay/replay-results.js';
import { loadReplaySettings, type ReplaySettings } from '../../pipelines/replay/replay-settings.js';
import { startReplayWorker } from '../../pipelines/replay/replay-worker.js';
import { formatTable } from '../output/format-table.js';
import { nonNegative, oneOf, positiveInt, timestamp } from '../options.js';

/** `recsys replay submit|worker|status|result|schedule|unschedule`: offline A/B replay jobs on BullMQ (pipelines/replay). */
interface Clients {
  settings: ReplaySettings;
  redis: Redis;
  db: SqlClient;
  close(): Promise<void>;
}

function clients(registry: string | undefined): Clients {
  const services = loadServicesConfig();
  const settings = loadReplaySettings(services, process.env, registry ? { registry } : {});
  const redis = createRedis(services.redis);
  const db = createClickHouse(services.clickhouse);
  return { settings, redis, db, close: async () => { await db.close(); redis.disconnect(); } };
}

async function withQueue<T>(registry: string | undefined, fn: (queue: ReplayQueue, c: Clients) => Promise<T>): Promise<T> {
  const c = clients(registry);
  const queue = new ReplayQueue(c.redis, c.settings);
  try {
    return await fn(queue, c);
  } finally {
    await queue.close();
    await c.close();
  }
}

const estimatorList = (value: string): Estimator[] => {
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const e of list) if (!(ESTIMATORS as readonly string[]).includes(e)) throw new ValidationError(`--estimators takes a comma-separated list of ${ESTIMATORS.join(', ')}, got ${JSON.stringify(e)}`);
  return list as Estimator[];
};

interface SubmitFlags {
  a: string; b: string; from: number; to: number; estimators?: Estimator[]; policy: 'greedy' | 'softmax'; temperature?: number;
  positions?: number; maxWeight?: number; bootstrap?: number; seed?: number; historyDays?: number; tag?: string; registry?: string; json?: boolean;
}

function specOptions(f: Omit<SubmitFlags, 'a' | 'b' | 'from' | 'to' | 'registry' | 'json'>) {
  if (f.policy === 'softmax' && f.temperature === undefined) throw new ValidationError('--policy softmax needs --temperature <t>');
  return {
    ...(f.estimators ? { estimators: f.estimators } : {}),
    policy: f.policy === 'softmax' ? { kind: 'softmax' as const, temperature: f.temperature! } : { kind: 'greedy' as const },
    ...(f.positions !== undefined ? { positions: f.positions } : {}),
    ...(f.maxWeight !== undefined ? { maxWeight: f.maxWeight } : {}),
    ...(f.bootstrap !== undefined ? { bootstrapSamples: f.bootstrap } : {}),
    ...(f.seed !== undefined ? { seed: f.seed } : {}),
    ...(f.historyDays !== undefined ? { historyMs: Math.round(f.historyDays * 86_400_000) } : {}),
    ...(f.tag !== undefined ? { tag: f.tag } : {}),
  };
}

function estimationFlags(cmd: Command): Command {
  return cmd
    .option('--estimators <list>', `policy-value estimators, comma-separated (default all: ${ESTIMATORS.join(',')})`, estimatorList)
    .option('--policy <kind>', 'how a model ranks the logged candidates: greedy or softmax', oneOf('policy', ['greedy', 'softmax'] as const), 'greedy')
    .option('--temperature <t>', 'softmax temperature (--policy softmax)', nonNegative('temperature'))
    .option('--positions <n>', 'positions of a ranking that count towards its value (default 10)', positiveInt('positions'))
    .option('--max-weight <w>', 'clip importance weights above this (default 1000)', nonNegative('max-weight'))
    .option('--bootstrap <n>', 'bootstrap resamples of users (default 200)', positiveInt('bootstrap'))
    .option('--seed <n>', 'bootstrap seed (default 42)', positiveInt('seed'))
    .option('--history-days <d>', 'days of events before the window that rebuild user histories (default 7)', nonNegative('history-days'))
    .option('--tag <text>', 'a label: the same replay under another tag is another job')
    .option('--registry <dir>', 'model registry folder (env RECSYS_REGISTRY)');
}

const percent = (s: JobStatus) => (typeof s.progress === 'object' && s.progress !== null ? Number((s.progress as { percent?: number }).percent ?? 0) : Number(s.progress) || 0);

function describe(s: JobStatus): string {
  const lines = [`job ${s.id} (${s.name}): ${s.state}, ${percent(s)}%, attempts ${s.attemptsMade}`];
  if (s.failedReason) lines.push(`reason: ${s.failedReason}`);
  if (s.result) lines.push(`result: ${JSON.stringify(s.result)}`);
  return lines.join('\n');
}

/** How long a job may wait before --follow says a worker is needed: a queue with no worker otherwise looks like a frozen bar. */
const NO_WORKER_HINT_MS = 10_000;

/** The phase --follow shows: the job's own, or a hint once it has waited longer than a worker would take to pick it up. */
export function followPhase(state: string, phase: string | undefined, waitedMs: number): string {
  if (phase !== undefined) return phase;
  if ((state === 'waiting' || state === 'prioritized') && waitedMs >= NO_WORKER_HINT_MS) return `${state} for a worker (is \`recsys replay worker\` running?)`;
  return state;
}

async function follow(queue: ReplayQueue, id: string): Promise<JobStatus> {
  const bar = new SingleBar({ format: `replay ${id} [{bar}] {percentage}% | {phase} {decisions}/{total} decisions | ETA {eta_formatted}`, stream: process.stderr, hideCursor: process.stderr.isTTY === true }, Presets.shades_classic);
  bar.start(100, 0, { phase: 'waiting', decisions: 0, total: '?' });
  const started = Date.now();
  try {
    for (;;) {
      const s = await queue.status(id);
      if (!s) throw new ValidationError(`no replay job ${id}`);
      const p = (typeof s.progress === 'object' && s.progress !== null ? s.progress : {}) as { phase?: string; decisions?: number; total?: number };
      bar.update(percent(s), { phase: followPhase(s.state, p.phase, Date.now() - started), decisions: p.decisions ?? 0, total: p.total ?? '?' });
      if (s.state === 'completed' || s.state === 'failed') return s;
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    bar.stop();
  }
}

export function registerReplay(program: Command): void {
  const replay = program.command('replay').description('offline A/B replay of logged decisions: queue jobs, run workers, read results');

  estimationFlags(replay.command('submit')
    .description('check and queue a replay of model A against model B over logged decisions in [--from, --to)')
    .requiredOption('--a <model@version>', 'model A (name@N, name@latest or name@serving; pinned at submit)')
    .requiredOption('--b <model@version>', 'model B')
    .requiredOption('--from <time>', 'window start, epoch milliseconds (not seconds) or ISO date (after both training cut-offs)', timestamp('from'))
    .requiredOption('--to <time>', 'window end, exclusive; at most 92 days after --from and not in the future', timestamp('to')))
    .option('--json', 'print the result as one JSON line')
    .action(async (f: SubmitFlags) => {
      const r = await withQueue(f.registry, (queue, c) => queue.submit({ a: f.a, b: f.b, from: f.from, to: f.to, ...specOptions(f) }, c.db));
      if (f.json) console.log(JSON.stringify({ jobId: r.jobId, created: r.created, state: r.state, decisions: r.decisions, impressions: r.impressions }));
      else console.log(`${r.created ? 'queued' : 'already queued'}: ${r.jobId} (${r.state}) — ${r.spec.a.model}@${r.spec.a.version} vs ${r.spec.b.model}@${r.spec.b.version}, ${r.decisions} decisions, ${r.impressions} impressions\nfollow it: recsys replay status ${r.jobId} --follow`);
    });

  replay.command('worker')
    .description('process replay jobs until stopped; SIGTERM/SIGINT take no new job and let the current one finish, or after --drain-seconds stop it at a checkpoint and hand it back to the queue (a second signal exits at once); several processes may share the queue')
    .option('--concurrency <n>', 'jobs at once in this process', positiveInt('concurrency'), 1)
    .option('--drain-seconds <s>', 'on SIGTERM/SIGINT, how long the current job may run on (env REPLAY_DRAIN_MS in ms, default 600 s)', nonNegative('drain-seconds'))
    .option('--registry <dir>', 'model registry folder (env RECSYS_REGISTRY)')
    .action(async (f: { concurrency: number; registry?: string; drainSeconds?: number }) => {
      const c = clients(f.registry);
      const settings = f.drainSeconds === undefined ? c.settings : { ...c.settings, drainMs: Math.round(f.drainSeconds * 1000) };
      const queueConnection = createRedis(loadServicesConfig().redis);
      const { close } = startReplayWorker({ connection: c.redis, queueConnection, settings, db: c.db, concurrency: f.concurrency });
      // The drain, then the time a job takes from its checkpoint to the queue.
      onShutdown('replay-worker', async () => {
        await close();
        queueConnection.disconnect();
        await c.close();
      }, { timeoutMs: settings.drainMs + 30_000 });
      console.error(`replay worker: queue ${c.settings.queueName} (prefix ${c.settings.prefix}), concurrency ${f.concurrency}, registry ${c.settings.registry}, drain ${settings.drainMs / 1000} s`);
      await new Promise<never>(() => {});
    });

  replay.command('status <id>')
    .description("a job's state, progress, attempts and, for a failed job, the reason")
    .option('--follow', 'show a progress bar until the job completes or fails')
    .option('--json', 'print the status as one JSON line')
    .action(async (id: string, f: { follow?: boolean; json?: boolean }) => {
      const s = await withQueue(undefined, async (queue) => (f.follow ? follow(queue, id) : queue.status(id)));
      if (!s) throw new ValidationError(`no replay job ${id}`);
      console.log(f.json ? JSON.stringify(s) : describe(s));
      if (f.follow && s.state === 'failed') throw new NonRetriableError(`replay ${id} failed: ${s.failedReason ?? 'unknown reason'}`);
    });

  replay.command('result <id>')
    .description("a finished job's results from ClickHouse as a table (one row per model × metric)")
    .option('--json', 'print the rows as JSON lines')
    .action(async (id: string, f: { json?: boolean }) => {
      await withQueue(undefined, async (queue, c) => {
        const rows = await readReplayResults(c.db, id);
        if (rows.length === 0) {
          const s = await queue.status(id);
          throw new ValidationError(s ? `replay ${id} has no results yet: ${s.state}${s.failedReason ? ` (${s.failedReason})` : ''}` : `no replay job or results ${id}`);
        }
        if (f.json) {
          for (const r of rows) console.log(JSON.stringify(r));
          return;
        }
        const cell = (v: number | null) => (v === null ? '–' : v);
        console.log(formatTable(['arm', 'model', 'metric', 'value', '95% lo', '95% hi', 'ESS', 'max w', 'clip'],
          rows.map((r) => [r.arm, r.model, r.metric, cell(r.value), cell(r.lo), cell(r.hi), cell(r.ess), cell(r.max_weight), cell(r.clip_rate)])));
        const s = await queue.status(id);
        const report = (s?.result as { report?: string } | null)?.report;
        if (report) console.log(`report: ${report}`);
      });
    });

  estimationFlags(replay.command('schedule')
    .description("recurring replay of a model: each tick replays the latest day after both cut-offs, serving version (A) vs newest non-serving version (B)")
    .requiredOption('--model <name>', 'the model whose versions are compared')
    .option('--pattern <cron>', 'cron pattern of the ticks (default daily at 03:00: "0 3 * * *")')
    .option('--every <ms>', 'a tick every N milliseconds instead of a cron pattern', positiveInt('every')))
    .action(async (f: Omit<SubmitFlags, 'a' | 'b' | 'from' | 'to'> & { model: string; pattern?: string; every?: number }) => {
      if (f.pattern && f.every) throw new ValidationError('give --pattern or --every, not both');
      const repeat = f.every ? { every: f.every } : { pattern: f.pattern ?? '0 3 * * *' };
      const id = await withQueue(f.registry, (queue) => queue.schedule(f.model, repeat, specOptions(f)));
      console.log(`scheduled ${id}: ${JSON.stringify(repeat)}`);
    });

  replay.command('unschedule')
    .description('remove the recurring replay of a model')
    .requiredOption('--model <name>', 'the model')
    .action(async (f: { model: string }) => {
      const removed = await withQueue(undefined, (queue) => queue.unschedule(f.model));
      console.log(removed ? `removed recurring-${f.model}` : `no recurring replay for ${f.model}`);
    });
}
