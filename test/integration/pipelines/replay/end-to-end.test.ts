import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import type { Producer } from 'kafkajs';
import { ensureTopics } from '../../../../infra/kafka/kafka-client.js';
import { createRedis, type Redis } from '../../../../infra/redis/redis-client.js';
import { readDecisions } from '../../../../pipelines/decisions/decision-store.js';
import { ReplayQueue, type JobStatus } from '../../../../pipelines/replay/replay-queue.js';
import { readReplayResults } from '../../../../pipelines/replay/replay-results.js';
import { loadReplaySettings, type ReplaySettings } from '../../../../pipelines/replay/replay-settings.js';
import { startReplayWorker } from '../../../../pipelines/replay/replay-worker.js';
import { loadServeSettings } from '../../../../serving/serve-config.js';
import { startServer, type RunningServer } from '../../../../serving/server.js';
import { randomName } from '../../../helpers/names.js';
import { TINY, publishRandomGraph, publishTinyDin } from '../../../helpers/serving-fixtures.js';
import { waitFor } from '../../../helpers/wait-for.js';
import { createIngestEnv, type IngestEnv } from '../ingest/ingest-env.js';
import { replayRegistry, simulateUsersCli } from './replay-fixtures.js';

/**
 * The whole loop on the real stack: `recsys`'s server (tiny DIN ranker, tiny
 * graph retrieval, epsilon-greedy exploration by default, decision records to
 * Kafka) → `recsys simulate-users --serve-url … --kafka` (a child process:
 * users of the synthetic world the ranker was trained on ask for
 * recommendations and click with the world's true probabilities; click events
 * with the request id to the events topic) → `recsys ingest` (a child
 * process) writes decisions, candidates and outcomes to ClickHouse → a replay
 * job of two other DINs (trained before the window) submitted to BullMQ and
 * run by a worker → result rows in ClickHouse and an HTML report.
 */
describe('A/B replay end to end: serve with exploration → simulated clicks → ingest → replay job (real services)', function () {
  this.timeout(300_000);
  const K = 5;
  const EPSILON = 0.3;
  let env: IngestEnv;
  let decisionsTopic: string;
  let serveRegistry: string;
  let registry: string;
  let settings: ReplaySettings;
  let server: RunningServer | undefined;
  let producer: Producer | undefined;
  let ingest: ChildProcess | undefined;
  let ingestLog = '';
  let queue: ReplayQueue | undefined;
  const connections: Redis[] = [];
  const redis = () => {
    const c = createRedis(env.services.redis);
    connections.push(c);
    return c;
  };
  let trainedUntil: number;
  let childEnv: NodeJS.ProcessEnv;

  const simulateUsers = (args: string[]) => simulateUsersCli(childEnv, args);

  before(async () => {
    env = await createIngestEnv({ partitions: 2 });
    decisionsTopic = randomName('test_decisions');
    await ensureTopics(env.admin, [{ topic: decisionsTopic, numPartitions: 2 }]);
    serveRegistry = mkdtempSync(path.join(tmpdir(), 'replay-e2e-serve-'));
    await publishTinyDin(serveRegistry, 'syn-din');
    await publishRandomGraph(serveRegistry, 'syn-graph');
    // The replayed models: two other DINs whose training data ends before the window.
    trainedUntil = Date.now() - 1000;
    registry = await replayRegistry(trainedUntil, 'cand-din');
    childEnv = {
      ...env.env, KAFKA_DECISIONS_TOPIC: decisionsTopic, KAFKA_DECISIONS_PARTITIONS: '2', LOG_LEVEL: 'warn',
      RECSYS_REGISTRY: registry, RECSYS_REPLAY_REPORTS: path.join(registry, 'reports'), REPLAY_QUEUE: randomName('test-replay-e2e'),
    };
    settings = loadReplaySettings(env.services, childEnv);
    queue = new ReplayQueue(redis(), settings);
    ingest = spawn(process.execPath, ['--import', 'tsx', 'cli/recsys.ts', 'ingest', '--max-batch', '500'], { env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] });
    ingest.stderr!.on('data', (d: Buffer) => { ingestLog = (ingestLog + d.toString()).slice(-4000); });
    producer = env.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    server = await startServer({
      settings: loadServeSettings({}, {
        registry: serveRegistry, ranker: 'syn-din', retrieval: 'syn-graph', itemIdPrefix: 'i', userIdPrefix: 'u', port: 0,
        onlineStore: 'redis', decisions: 'kafka', exploration: 'epsilon-greedy', epsilon: EPSILON,
        modelsChannel: randomName('test_models'), pollSeconds: 0, numCandidates: 30, allowLatest: true,
      }),
      services: env.services,
      env: { KAFKA_DECISIONS_TOPIC: decisionsTopic },
    });
  });

  after(async () => {
    await server?.close();
    await producer?.disconnect();
    if (ingest && ingest.exitCode === null) {
      ingest.kill('SIGTERM');
      await new Promise((resolve) => ingest!.once('exit', resolve));
    }
    if (settings) await new Queue(settings.queueName, { connection: redis(), prefix: settings.prefix }).obliterate({ force: true }).catch(() => {});
    await queue?.close();
    for (const c of connections) c.disconnect();
    await env?.admin.deleteTopics({ topics: [decisionsTopic] }).catch(() => {});
    await env?.cleanup();
    for (const dir of [serveRegistry, registry]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('decisions logged with propensities and the clicks they drew become a replay job\'s result rows and report', async () => {
    const from = Date.now();
    assert.ok(from > trainedUntil);
    const sim = await simulateUsers(['--serve-url', server!.url, '--kafka', '--users', '30', '--requests', '120', '--rate', '0', '--concurrency', '4',
      '--seed', String(TINY.seed), '--items', String(TINY.items), '--k', String(K), '--run-id', randomName('e2e')]);
    const to = Date.now() + 1;
    assert.equal(sim.failed, 0, sim.errors.join('; '));
    assert.equal(sim.requests, 120);
    assert.equal(sim.shown, 120 * K);
    assert.ok(sim.clicks > 0, 'the simulated users clicked');

    // Ingestion: every decision with its candidates, every click joined by request id.
    const countOf = async (sql: string) => Number((await env.db.query<{ n: number }>(sql))[0]!.n);
    await waitFor(async () => {
      if (ingest!.exitCode !== null) throw new Error(`recsys ingest exited (${ingest!.exitCode}): ${ingestLog}`);
      const [decisions, outcomes] = [
        await countOf(`SELECT count() AS n FROM decisions FINAL WHERE ts >= ${from} AND ts < ${to}`),
        await countOf('SELECT count() AS n FROM outcomes FINAL'),
      ];
      return decisions === sim.requests && outcomes === sim.clicks;
    }, { timeoutMs: 120_000, intervalMs: 500, what: `recsys ingest to store ${sim.requests} decisions and ${sim.clicks} outcomes` });
    const stored = await readDecisions(env.db, { from, to });
    assert.equal(stored.length, sim.requests);
    for (const d of stored) {
      assert.deepEqual([d.exploration, d.epsilon, d.k, d.shown, d.ranker_model, d.retrieval_model], ['epsilon-greedy', EPSILON, K, K, 'syn-din', 'syn-graph']);
      const shown = d.items.filter((i) => i.position >= 0);
      assert.equal(shown.length, K);
      assert.ok(shown.every((i) => i.propensity > 0 && i.propensity <= 1), 'logged propensities are probabilities');
    }

    // The replay job: submit (checks, pins versions) → a worker → rows and a report.
    const submitted = await queue!.submit({ a: 'cand-din@1', b: 'cand-din@2', from, to, bootstrapSamples: 50 }, env.db);
    assert.equal(submitted.decisions, sim.requests);
    const worker = startReplayWorker({ connection: redis(), queueConnection: redis(), settings, db: env.db });
    let status: JobStatus;
    try {
      status = await waitFor(async () => {
        const s = await queue!.status(submitted.jobId);
        // ReplayQueue.status reads the job before its state: a job that completes in
        // between reads as completed without its return value; poll again then.
        return s && ((s.state === 'completed' && s.result !== null) || s.state === 'failed') ? s : undefined;
      }, { timeoutMs: 180_000, intervalMs: 200, what: `replay job ${submitted.jobId}` });
    } finally {
      await worker.close();
    }
    assert.equal(status.state, 'completed', status.failedReason ?? '');

    const rows = await readReplayResults(env.db, submitted.jobId);
    const get = (arm: string, metric: string) => {
      const row = rows.find((r) => r.arm === arm && r.metric === metric);
      assert.ok(row, `a row for ${arm} ${metric}`);
      return row;
    };
    assert.equal(get('window', 'decisions').value, sim.requests);
    assert.equal(get('window', 'impressions').value, sim.shown);
    assert.equal(get('window', 'clicks').value, sim.clicks);
    assert.ok(get('window', 'users').value! <= 30);
    // The logging policy's value is the observed clicks per request (K ≤ the 10 evaluated positions).
    assert.ok(Math.abs(get('logging', 'value').value! - sim.clicks / sim.requests) < 1e-9);
    for (const arm of ['a', 'b', 'b-a']) {
      for (const metric of ['auc', 'gauc', 'logloss', 'ece', 'calibration_ratio', 'replay', 'ips', 'snips', 'dr']) get(arm, metric);
    }
    for (const arm of ['a', 'b']) {
      assert.equal(get(arm, 'auc').model, `cand-din@${arm === 'a' ? 1 : 2}`);
      for (const metric of ['ips', 'snips', 'dr']) {
        const r = get(arm, metric);
        assert.ok(Number.isFinite(r.value), `${arm} ${metric} is a number`);
        assert.ok(r.lo! <= r.value! && r.value! <= r.hi!, `${arm} ${metric}: the interval holds the estimate`);
        assert.ok(r.ess! > 0 && r.max_weight! >= 1 && r.clip_rate! >= 0 && r.clip_rate! <= 1);
      }
    }
    assert.ok(rows.every((r) => r.window_from === from && r.window_to === to));
    const report = (status.result as { report: string }).report;
    assert.equal(path.dirname(report), settings.reportsDir);
    assert.match(readFileSync(report, 'utf8'), /<svg[\s\S]*Calibration/);
  });
});
