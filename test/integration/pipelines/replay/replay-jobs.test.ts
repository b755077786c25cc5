import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { ValidationError } from '../../../../infra/errors.js';
import { createRedis, type Redis } from '../../../../infra/redis/redis-client.js';
import { ModelRegistry } from '../../../../pipelines/registry/model-registry.js';
import { recurringSpec } from '../../../../pipelines/replay/recurring-replay.js';
import { ReplayQueue, type JobStatus } from '../../../../pipelines/replay/replay-queue.js';
import { readReplayResults, type ReplayResultRow } from '../../../../pipelines/replay/replay-results.js';
import { loadReplaySettings, type ReplaySettings } from '../../../../pipelines/replay/replay-settings.js';
import { parseReplaySpec } from '../../../../pipelines/replay/replay-spec.js';
import { startReplayWorker } from '../../../../pipelines/replay/replay-worker.js';
import { randomName } from '../../../helpers/names.js';
import { waitFor } from '../../../helpers/wait-for.js';
import { createIngestEnv, type IngestEnv } from '../ingest/ingest-env.js';
import { HOUR, replayRegistry, writeLoggedTraffic, type LoggedWindow } from './replay-fixtures.js';

const withoutJob = (rows: ReplayResultRow[]) => rows.map(({ job_id: _, ...r }) => r);

describe('replay jobs on BullMQ, ClickHouse and Redis (real services)', function () {
  this.timeout(300_000);
  let env: IngestEnv;
  let registry: string;
  let reports: string;
  let window: LoggedWindow;
  let settings: ReplaySettings;
  let childEnv: NodeJS.ProcessEnv;
  const connections: Redis[] = [];
  let queue: ReplayQueue;
  const redis = () => {
    const c = createRedis(env.services.redis);
    connections.push(c);
    return c;
  };
  const untilFinished = (id: string, timeoutMs = 180_000) => waitFor(async () => {
    const s = await queue.status(id);
    return s && (s.state === 'completed' || s.state === 'failed') ? s : undefined;
  }, { timeoutMs, intervalMs: 200, what: `job ${id} to finish` });
  const trainedUntil = Date.now() - 4 * HOUR;

  before(async () => {
    env = await createIngestEnv({ partitions: 1 });
    registry = await replayRegistry(trainedUntil);
    reports = path.join(registry, 'reports');
    window = await writeLoggedTraffic(env.db, { from: Date.now() - 2 * HOUR, decisions: 300 });
    const queueName = randomName('test-replay');
    childEnv = { ...env.env, REPLAY_QUEUE: queueName, RECSYS_REGISTRY: registry, RECSYS_REPLAY_REPORTS: reports, REPLAY_LOCK_MS: '2000', LOG_LEVEL: 'warn' };
    settings = loadReplaySettings(env.services, childEnv);
    queue = new ReplayQueue(redis(), settings);
  });

  after(async () => {
    await new Queue(settings.queueName, { connection: redis(), prefix: settings.prefix }).obliterate({ force: true }).catch(() => {});
    await queue?.close();
    for (const c of connections) c.disconnect();
    await env?.cleanup();
    rmSync(registry, { recursive: true, force: true });
  });

  const submit = (extra: Record<string, unknown> = {}) => queue.submit({ a: 'syn-din@1', b: 'syn-din@2', from: window.from, to: window.to, bootstrapSamples: 50, ...extra }, env.db);

  it('refuses bad submits with a clear message: unknown model, A = B, empty window, window before a cut-off', async () => {
    await assert.rejects(submit({ a: 'no-such-model@1' }), (e: Error) => e instanceof ValidationError && /model A \(no-such-model@1\): no model 'no-such-model'/.test(e.message));
    await assert.rejects(submit({ b: 'syn-din@7' }), /model B \(syn-din@7\): model 'syn-din' has no version 7/);
    await assert.rejects(submit({ b: 'syn-din@1' }), /A and B are the same model version \(syn-din@1\)/);
    await assert.rejects(submit({ from: window.to + HOUR, to: window.to + 2 * HOUR }), /no logged decisions between/);
    await assert.rejects(submit({ from: trainedUntil - HOUR }), /overlaps model A's training data/);
    await assert.rejects(submit({ to: window.from }), /the window is empty/);
    assert.equal(await queue.queue.count(), 0, 'nothing was queued');
  });

  let uninterrupted: ReplayResultRow[];

  it('submit → worker → result rows in ClickHouse and a report; resubmitting returns the same job', async () => {
    const first = await submit();
    assert.equal(first.created, true);
    assert.equal(first.decisions, window.decisions);
    const again = await submit();
    assert.deepEqual([again.jobId, again.created], [first.jobId, false]);
    const progress: unknown[] = [];
    const worker = startReplayWorker({ connection: redis(), queueConnection: redis(), settings, db: env.db });
    worker.worker.on('progress', (_job, p) => progress.push(p));
    let status: JobStatus;
    try {
      status = await untilFinished(first.jobId);
    } finally {
      await worker.close();
    }
    assert.equal(status.state, 'completed', status.failedReason ?? '');
    const rows = await readReplayResults(env.db, first.jobId);
    const get = (arm: string, metric: string) => rows.find((r) => r.arm === arm && r.metric === metric);
    assert.equal(get('window', 'decisions')!.value, 300);
    assert.equal(get('window', 'impressions')!.value, 1500);
    for (const arm of ['a', 'b', 'b-a']) for (const metric of ['auc', 'gauc', 'logloss', 'ece', 'calibration_ratio', 'ips', 'snips', 'dr', 'replay']) assert.ok(get(arm, metric), `${arm} ${metric}`);
    const ips = get('a', 'ips')!;
    assert.ok(ips.lo! <= ips.value! && ips.value! <= ips.hi!, 'the interval holds the estimate');
    assert.ok(ips.ess! > 0 && ips.max_weight! >= 1 && ips.clip_rate! >= 0);
    const logloss = get('b-a', 'logloss')!;
    assert.ok(Math.abs(logloss.value! - (get('b', 'logloss')!.value! - get('a', 'logloss')!.value!)) < 1e-9);
    const result = status.result as { report: string; rows: number };
    assert.equal(result.rows, rows.length);
    assert.match(readFileSync(result.report, 'utf8'), /<svg[\s\S]*Calibration/);
    assert.ok(progress.some((p) => (p as { phase: string }).phase === 'scoring'));
    uninterrupted = rows;
  });

  it('a worker killed with SIGKILL mid-job: the job is retried and its result equals the uninterrupted run', async () => {
    const job = await submit({ tag: 'kill' });
    const start = (): ChildProcess => spawn(process.execPath, ['--import', 'tsx', 'cli/recsys.ts', 'replay', 'worker'], { env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] });
    const first = start();
    let stderr = '';
    first.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    await waitFor(async () => {
      const s = await queue.status(job.jobId);
      return s?.state === 'active' && typeof s.progress === 'object' && s.progress !== null ? s : undefined;
    }, { timeoutMs: 120_000, intervalMs: 50, what: `the first worker to start the job (stderr: ${stderr})` });
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    assert.notEqual((await queue.status(job.jobId))!.state, 'completed', 'killed mid-job, not after');
    const second = start();
    try {
      const status = await untilFinished(job.jobId);
      assert.equal(status.state, 'completed', status.failedReason ?? '');
    } finally {
      second.kill('SIGTERM');
      await new Promise((r) => second.once('exit', r));
    }
    assert.deepEqual(withoutJob(await readReplayResults(env.db, job.jobId)), withoutJob(uninterrupted));
  });

  it('a job that cannot run fails at once with its reason', async () => {
    const { job } = await queue.enqueue(parseReplaySpec({ a: { model: 'syn-din', version: 1 }, b: { model: 'syn-din', version: 9 }, from: window.from, to: window.to }));
    const worker = startReplayWorker({ connection: redis(), queueConnection: redis(), settings, db: env.db });
    try {
      const status = await untilFinished(job.id!, 60_000);
      assert.equal(status.state, 'failed');
      assert.equal(status.attemptsMade, 1, 'not retried');
      assert.match(status.failedReason!, /model B \(syn-din@9\)/);
    } finally {
      await worker.close();
    }
  });

  it('recurring replay: a job scheduler tick replays serving vs newest non-serving over the latest day after both cut-offs', async () => {
    const reg = new ModelRegistry(registry);
    await reg.promote('syn-din', 1);
    const now = window.to + HOUR;
    const tick = await recurringSpec(registry, env.db, { model: 'syn-din', options: { bootstrapSamples: 50 } }, now);
    assert.ok('spec' in tick);
    assert.deepEqual([tick.spec.a.version, tick.spec.b.version, tick.spec.from, tick.spec.to], [1, 2, trainedUntil + 1, now]);

    await queue.schedule('syn-din', { every: 600_000 }, { bootstrapSamples: 50 });
    const worker = startReplayWorker({ connection: redis(), queueConnection: redis(), settings, db: env.db });
    try {
      const recurring = await waitFor(async () => {
        const jobs = await queue.queue.getJobs(['completed', 'failed']);
        return jobs.find((j) => j.name === 'recurring');
      }, { timeoutMs: 60_000, what: 'the first recurring tick' });
      const enqueued = (recurring.returnvalue as { enqueued: string }).enqueued;
      assert.ok(enqueued, JSON.stringify(recurring.returnvalue ?? recurring.failedReason));
      const status = await untilFinished(enqueued);
      assert.equal(status.state, 'completed', status.failedReason ?? '');
      const spec = parseReplaySpec(status.data);
      assert.deepEqual([spec.a.version, spec.b.version, spec.from], [1, 2, trainedUntil + 1]);
    } finally {
      await queue.unschedule('syn-din');
      await worker.close();
    }
  });

  it('recsys replay result prints the table; status names a failure', async () => {
    const run = (args: string[]) => new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'cli/recsys.ts', 'replay', ...args], { env: childEnv });
      let out = '', err = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      child.on('exit', (code) => resolve({ code, out, err }));
    });
    const id = uninterrupted[0]!.job_id;
    const result = await run(['result', id]);
    assert.equal(result.code, 0, result.err);
    assert.match(result.out, /b-a\s+syn-din@2 - syn-din@1\s+auc/);
    const refused = await run(['submit', '--a', 'syn-din@1', '--b', 'syn-din@1', '--from', String(window.from), '--to', String(window.to)]);
    assert.equal(refused.code, 2);
    assert.match(refused.err, /A and B are the same model version/);
    assert.ok(existsSync(path.join(reports, `${id}.html`)));
  });
});
