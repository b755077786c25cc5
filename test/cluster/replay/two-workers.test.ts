import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { loadServicesConfig } from '../../../infra/config.js';
import { createClickHouse } from '../../../infra/clickhouse/clickhouse-client.js';
import { sqlIdentifier, sqlString } from '../../../infra/clickhouse/escape.js';
import { migrate } from '../../../infra/clickhouse/migrate.js';
import type { SqlClient } from '../../../infra/clickhouse/sql-client.js';
import { createRedis, type Redis } from '../../../infra/redis/redis-client.js';
import { ReplayQueue, type JobStatus } from '../../../pipelines/replay/replay-queue.js';
import { readReplayResults, type ReplayResultRow } from '../../../pipelines/replay/replay-results.js';
import { runReplay } from '../../../pipelines/replay/replay-run.js';
import { loadReplaySettings, type ReplaySettings } from '../../../pipelines/replay/replay-settings.js';
import { parseReplaySpec, type ReplaySpecInput } from '../../../pipelines/replay/replay-spec.js';
import { ModelRegistry } from '../../../pipelines/registry/model-registry.js';
import { randomName } from '../../helpers/names.js';
import { waitFor } from '../../helpers/wait-for.js';
import { HOUR, replayRegistry, writeLoggedTraffic, type LoggedWindow } from '../../integration/pipelines/replay/replay-fixtures.js';
import { CLUSTER as CH_CLUSTER, ENTRY, clusterConfig, requireCluster, dropClusterDatabase, migrateCluster, nodeUrl } from '../clickhouse/cluster-env.js';
import { deleteKeys } from '../../helpers/delete-keys.js';
import { CLUSTER, REPO_ROOT } from '../helpers/topology.js';

const withoutJob = (rows: ReplayResultRow[]) => rows.map(({ job_id: _, ...r }) => r);

/**
 * Replay jobs shared by two `recsys replay worker` processes on the cluster
 * topology: BullMQ on Redis Cluster (hash-tagged prefix), logged traffic in
 * the Distributed tables of a private database on the 2 × 2 ClickHouse
 * cluster, written there directly (the decision store's own row code, as the
 * single-node replay tests do) rather than through Kafka: what is under test
 * is the replay, and the cluster's brokers are another test's to kill. The
 * same traffic goes to a private database on the single server, where the
 * same replays run in this process as the reference.
 */
describe('cluster: two replay workers on Redis Cluster and the ClickHouse cluster', function () {
  this.timeout(600_000);
  const database = randomName('test_replaycl');
  const refDatabase = randomName('test_replaycl_ref');
  const prefix = `{${randomName('test_replaycl')}}:`;
  const trainedUntil = Date.now() - 4 * HOUR;
  let db: SqlClient;
  let refDb: SqlClient;
  let registry: string;
  let reports: string;
  let window: LoggedWindow;
  let big: LoggedWindow;
  let settings: ReplaySettings;
  let childEnv: NodeJS.ProcessEnv;
  let redis: Redis;
  let queue: ReplayQueue;
  const children: { child: ChildProcess; name: string; stderr: string }[] = [];

  before(async () => {
    await requireCluster();
    await migrateCluster(database);
    db = createClickHouse(clusterConfig(database));
    const single = { ...loadServicesConfig().clickhouse, database: refDatabase };
    const admin = createClickHouse(single, { database: null });
    refDb = createClickHouse(single);
    await migrate({ admin, db: refDb }, refDatabase);
    await admin.close();
    registry = await replayRegistry(trainedUntil);
    reports = path.join(registry, 'reports');
    // One `from` for both stores: the traffic is a function of it, and the reference must see the very same rows.
    const from = Date.now() - 2 * HOUR;
    for (const target of [db, refDb]) {
      window = await writeLoggedTraffic(target, { from, decisions: 300 });
      // Before the other window, after the cut-off: 3,000 decisions, seconds of scoring, a job long enough to be killed in.
      big = await writeLoggedTraffic(target, { from: trainedUntil + 600_000, decisions: 3000, seed: 12 });
    }
    childEnv = {
      ...process.env,
      REDIS_CLUSTER_NODES: CLUSTER.redisNodes.join(','),
      REDIS_KEY_PREFIX: prefix,
      CLICKHOUSE_URL: nodeUrl(ENTRY),
      CLICKHOUSE_DATABASE: database,
      CLICKHOUSE_CLUSTER: CH_CLUSTER,
      REPLAY_QUEUE: randomName('test-replaycl'),
      RECSYS_REGISTRY: registry,
      RECSYS_REPLAY_REPORTS: reports,
      // Long enough for a TF call that holds the event loop on a loaded machine, short enough for a quick takeover.
      REPLAY_LOCK_MS: '5000',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
    };
    const services = loadServicesConfig(childEnv);
    assert.ok(services.redis.clusterNodes.length === 6 && services.clickhouse.cluster === CH_CLUSTER, 'the workers are pointed at the cluster');
    settings = loadReplaySettings(services, childEnv);
    redis = createRedis(services.redis);
    queue = new ReplayQueue(redis, settings);
  });

  after(async () => {
    for (const { child } of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (queue) {
      await new Queue(settings.queueName, { connection: redis, prefix: settings.prefix }).obliterate({ force: true }).catch(() => {});
      await queue.close();
    }
    if (redis) {
      await deleteKeys(redis, `${prefix}*`).catch(() => {});
      redis.disconnect();
    }
    await db?.close();
    await refDb?.command(`DROP DATABASE IF EXISTS ${sqlIdentifier(refDatabase)}`).catch(() => {});
    await refDb?.close();
    await dropClusterDatabase(database).catch((error: unknown) => console.error(`cleanup: DROP DATABASE ${database} ON CLUSTER failed: ${String(error)}`));
    if (registry) rmSync(registry, { recursive: true, force: true });
  });

  const spec = (extra: Partial<ReplaySpecInput> = {}) => parseReplaySpec({ a: { model: 'syn-din', version: 1 }, b: { model: 'syn-din', version: 2 }, from: window.from, to: window.to, bootstrapSamples: 300, ...extra });
  const references = new Map<string, ReplayResultRow[]>();
  /** The same replay run in this process against the single server: its rows as stored there. */
  const reference = async (extra: Partial<ReplaySpecInput>) => {
    const key = JSON.stringify(extra);
    if (!references.has(key)) {
      const run = await runReplay(spec({ ...extra, tag: 'reference' }), { db: refDb, registry, reportsDir: reports });
      references.set(key, await readReplayResults(refDb, run.jobId));
    }
    return references.get(key)!;
  };
  const counts = async (jobId: string) => {
    const [raw] = await db.query<{ n: number }>(`SELECT count() AS n FROM replay_results WHERE job_id = ${sqlString(jobId)}`);
    const [final] = await db.query<{ n: number }>(`SELECT count() AS n FROM replay_results FINAL WHERE job_id = ${sqlString(jobId)}`);
    return { raw: Number(raw!.n), final: Number(final!.n) };
  };

  /** A `recsys replay worker` process on the cluster; resolves once it takes jobs (TensorFlow loaded). */
  const startWorker = async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/recsys.ts', 'replay', 'worker'], { cwd: REPO_ROOT, env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] });
    const entry = { child, name: '', stderr: '' };
    children.push(entry);
    child.stderr!.on('data', (d: Buffer) => { entry.stderr += d.toString(); });
    await waitFor(() => child.exitCode === null && /"msg":"taking jobs"/.test(entry.stderr), { timeoutMs: 180_000, intervalMs: 100, what: `worker ${child.pid} to take jobs` })
      .catch((error: unknown) => { throw new Error(`${String(error)}\nstderr: ${entry.stderr.slice(-3000)}`); });
    entry.name = /"msg":"taking jobs"/.test(entry.stderr) ? (JSON.parse(entry.stderr.split('\n').find((l) => l.includes('"taking jobs"'))!) as { name: string }).name : '';
    return entry;
  };
  /** Job ids a worker logged as completed, one entry per completion. */
  const completedBy = (stderr: string) => stderr.split('\n').filter((l) => l.includes('"msg":"job completed"')).map((l) => (JSON.parse(l) as { jobId: string }).jobId);
  const untilFinished = (id: string, timeoutMs: number) => waitFor(async () => {
    const s = await queue.status(id);
    return s && ((s.state === 'completed' && s.result !== null) || s.state === 'failed') ? s : undefined;
  }, { timeoutMs, intervalMs: 200, what: `job ${id} to finish` });

  it('a replay read through the Distributed tables equals the same replay on one server', async () => {
    const started = Date.now();
    const run = await runReplay(spec({ tag: 'in-process' }), { db, registry, reportsDir: reports });
    assert.equal(run.evaluation.decisions, 300);
    assert.deepEqual(withoutJob(await readReplayResults(db, run.jobId)), withoutJob(await reference({})));
    console.log(`      in-process replay on the cluster: ${run.rows.length} rows, ${run.evaluation.decisions} decisions, ${run.evaluation.impressions} impressions, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  it('a job run twice (a worker killed between its write and its completion): readers see each row once, all on one shard', async () => {
    const twice = spec({ tag: 'written-twice' });
    const first = await runReplay(twice, { db, registry, reportsDir: reports });
    // A second apart at least, so the rerun's rows (computed_at) are not a byte-identical block that replication would drop.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await runReplay(twice, { db, registry, reportsDir: reports });
    const n = first.rows.length;
    const { raw, final } = await counts(first.jobId);
    assert.equal(final, n, 'FINAL through the Distributed table collapses the rerun');
    assert.equal(raw, 2 * n, 'both runs stored (the table dedupes at read time)');
    assert.deepEqual(withoutJob(await readReplayResults(db, first.jobId)), withoutJob(await reference({})), 'read once each, equal to the single-server run');
    // FINAL collapses within a shard only: a job's rows must share one (sharded by job_id).
    const perShard = await Promise.all([ENTRY, 3 as const].map(async (node) => {
      const client = createClickHouse(clusterConfig(database, node));
      try {
        await client.command('SYSTEM SYNC REPLICA replay_results_local');
        const [row] = await client.query<{ n: number }>(`SELECT count() AS n FROM replay_results_local WHERE job_id = ${sqlString(first.jobId)}`);
        return Number(row!.n);
      } finally {
        await client.close();
      }
    }));
    assert.deepEqual([...perShard].sort((x, y) => x - y), [0, 2 * n], `rows per shard (node 1, node 3): ${perShard.join(', ')}`);
  });

  it('8 jobs, two worker processes: both take jobs, each job completes once, its rows are stored once and equal the single-server run', async () => {
    const started = Date.now();
    const workers = await Promise.all([startWorker(), startWorker()]);
    assert.notEqual(workers[0]!.name, workers[1]!.name);
    const seeds = [42, 43];
    const submitted: { jobId: string; seed: number }[] = [];
    for (let i = 0; i < 8; i++) {
      const seed = seeds[i % 2]!;
      const r = await queue.submit({ a: 'syn-din@1', b: 'syn-din@2', from: window.from, to: window.to, bootstrapSamples: 300, seed, tag: `job-${i}` }, db);
      assert.equal(r.created, true);
      submitted.push({ jobId: r.jobId, seed });
    }
    const submittedAt = Date.now();
    const statuses: JobStatus[] = [];
    for (const { jobId } of submitted) statuses.push(await untilFinished(jobId, 300_000));
    const seconds = (Date.now() - submittedAt) / 1000;
    const perWorker = new Map<string, number>();
    for (const [i, s] of statuses.entries()) {
      assert.equal(s.state, 'completed', `${s.id}: ${s.failedReason ?? ''}`);
      assert.equal(s.attemptsMade, 1, `${s.id} ran once`);
      const job = (await queue.queue.getJob(s.id))!;
      assert.ok(workers.some((w) => w.name === job.processedBy), `${s.id} processed by ${job.processedBy}`);
      perWorker.set(job.processedBy!, (perWorker.get(job.processedBy!) ?? 0) + 1);
      const rows = (s.result as { rows: number }).rows;
      assert.deepEqual(await counts(s.id), { raw: rows, final: rows }, `${s.id}: its rows once, raw and FINAL`);
      assert.deepEqual(withoutJob(await readReplayResults(db, s.id)), withoutJob(await reference({ seed: submitted[i]!.seed })), `${s.id} equals the single-server run`);
    }
    const completions = workers.flatMap((w) => completedBy(w.stderr)).filter((id) => submitted.some((j) => j.jobId === id));
    assert.deepEqual(completions.sort(), submitted.map((j) => j.jobId).sort(), 'every job completed exactly once over both workers');
    assert.equal(perWorker.size, 2, `both workers took jobs: ${JSON.stringify([...perWorker])}`);
    console.log(`      jobs in ${submitted.length}, completed ${statuses.length} (once each); per worker ${[...perWorker].map(([w, n]) => `${w}: ${n}`).join(', ')}; ${seconds.toFixed(1)} s from submit to the last, ${((Date.now() - started) / 1000).toFixed(1)} s with the workers' start`);
  });

  it('kill -9 of the worker running a job: the other takes it over, completes it once, its rows once and equal to the single-server run', async () => {
    const workers = children.filter((c) => c.child.exitCode === null);
    assert.equal(workers.length, 2, 'both workers of the previous test are running');
    const bigSpec = { from: big.from, to: big.to, bootstrapSamples: 10_000, seed: 42 };
    const r = await queue.submit({ a: 'syn-din@1', b: 'syn-din@2', ...bigSpec, tag: 'kill' }, db);
    const active = await waitFor(async () => {
      const s = await queue.status(r.jobId);
      return s?.state === 'active' && (s.progress as { phase?: string } | null)?.phase === 'scoring' ? s : undefined;
    }, { timeoutMs: 120_000, intervalMs: 50, what: 'a worker to start scoring the job' });
    const first = (await queue.queue.getJob(r.jobId))!.processedBy;
    const victim = workers.find((w) => w.name === first);
    assert.ok(victim, `the job is held by one of the workers (${first})`);
    const survivor = workers.find((w) => w !== victim)!;
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await new Promise((resolve) => (victim.child.exitCode === null && victim.child.signalCode === null ? victim.child.once('exit', resolve) : resolve(undefined)));
    assert.notEqual((await queue.status(r.jobId))!.state, 'completed', `killed mid-job (at ${JSON.stringify(active.progress)}), not after`);
    const takenOver = await waitFor(async () => {
      const job = await queue.queue.getJob(r.jobId);
      return job?.processedBy === survivor.name ? Date.now() : undefined;
    }, { timeoutMs: 120_000, intervalMs: 100, what: `${survivor.name} to take the job over` });
    const status = await untilFinished(r.jobId, 300_000);
    const done = Date.now();
    assert.equal(status.state, 'completed', status.failedReason ?? '');
    const job = (await queue.queue.getJob(r.jobId))!;
    assert.equal(job.processedBy, survivor.name);
    assert.equal(job.attemptsMade, 1, 'the stalled run used no attempt: the job failed never');
    const rows = (status.result as { rows: number }).rows;
    assert.deepEqual(await counts(r.jobId), { raw: rows, final: rows }, 'its rows once, raw and FINAL');
    assert.deepEqual(completedBy(survivor.stderr).filter((id) => id === r.jobId), [r.jobId], 'completed once, by the survivor');
    assert.deepEqual(completedBy(victim.stderr).filter((id) => id === r.jobId), [], 'never by the killed worker');
    assert.deepEqual(withoutJob(await readReplayResults(db, r.jobId)), withoutJob(await reference(bigSpec)), 'equal to the single-server run');
    console.log(`      killed ${victim.name} at ${JSON.stringify(active.progress)}; taken over by ${survivor.name} ${((takenOver - killedAt) / 1000).toFixed(1)} s later (lock ${settings.lockMs} ms), completed ${((done - killedAt) / 1000).toFixed(1)} s after the kill; ${rows} rows, raw = FINAL`);
  });

  it('a recurring replay (BullMQ job scheduler on Redis Cluster): the tick enqueues serving vs newest, the surviving worker completes it, equal to the single-server run', async () => {
    await new ModelRegistry(registry).promote('syn-din', 1, { actor: 'test' });
    await queue.schedule('syn-din', { every: 600_000 }, { bootstrapSamples: 50 });
    try {
      const tick = await waitFor(async () => (await queue.queue.getJobs(['completed', 'failed'])).find((j) => j.name === 'recurring'), { timeoutMs: 120_000, intervalMs: 200, what: 'the first recurring tick' });
      const enqueued = (tick.returnvalue as { enqueued?: string } | null)?.enqueued;
      assert.ok(enqueued, JSON.stringify(tick.returnvalue ?? tick.failedReason));
      const status = await untilFinished(enqueued, 300_000);
      assert.equal(status.state, 'completed', status.failedReason ?? '');
      const tickSpec = parseReplaySpec(status.data);
      assert.deepEqual([tickSpec.a.version, tickSpec.b.version, tickSpec.from], [1, 2, trainedUntil + 1]);
      const rows = (status.result as { rows: number }).rows;
      assert.deepEqual(await counts(enqueued), { raw: rows, final: rows });
      const ref = await runReplay(tickSpec, { db: refDb, registry, reportsDir: reports });
      assert.deepEqual(withoutJob(await readReplayResults(db, enqueued)), withoutJob(await readReplayResults(refDb, ref.jobId)), 'equal to the single-server run');
      console.log(`      recurring tick ${tick.id} → job ${enqueued}: ${(status.result as { evaluation: { decisions: number } }).evaluation.decisions} decisions, ${rows} rows`);
    } finally {
      await queue.unschedule('syn-din');
    }
  });
});
