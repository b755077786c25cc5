import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { syntheticEvents } from '../../../../features/datasets/synthetic.js';
import { loadGraphEmbeddings } from '../../../../models/graph/graph-artifact.js';
import { EventProducer } from '../../../../pipelines/ingest/event-producer.js';
import { eventKey } from '../../../../pipelines/ingest/events-kind.js';
import { countInteractions } from '../../../../pipelines/ingest/offline-store.js';
import { MemoryDecisionSink } from '../../../../pipelines/decisions/decision-sink.js';
import { ModelRegistry } from '../../../../pipelines/registry/model-registry.js';
import { loadServeSettings } from '../../../../serving/serve-config.js';
import { startServer } from '../../../../serving/server.js';
import { createRedis } from '../../../../infra/redis/redis-client.js';
import { RetrainQueue, loadRetrainSettings } from '../../../../pipelines/training/retrain-queue.js';
import { startRetrainWorker } from '../../../../pipelines/training/retrain-worker.js';
import { randomName } from '../../../helpers/names.js';
import { waitFor } from '../../../helpers/wait-for.js';
import { spawnTs, type Child } from '../ingest/child.js';
import { createIngestEnv, type IngestEnv } from '../ingest/ingest-env.js';

const CLI = 'cli/recsys.ts';
const STREAM_CONFIG = path.resolve('configs/models/synthetic-din-stream.json');

/**
 * Retrieval from the event stream, on the real services: events → Kafka →
 * `recsys ingest` → ClickHouse → `recsys train-cf --source clickhouse
 * --production` (the graph model) and `recsys train-stream` (the ranker) →
 * serving → `/v1/recommend` without candidates answers with items the graph
 * model retrieved, in the stream's own item ids.
 */
describe('retrieval trained from the event stream (real services)', function () {
  this.timeout(600_000);
  const SYNTHETIC = { events: 12_000, users: 200, items: 300, categories: 6, seed: 11 };
  let env: IngestEnv;
  let dir: string;
  let registry: string;
  const children: Child[] = [];

  before(async () => {
    env = await createIngestEnv({ partitions: 2 });
    dir = mkdtempSync(path.join(tmpdir(), 'retrieval-loop-'));
    registry = path.join(dir, 'registry');
    const producer = new EventProducer(env.services.kafka, env.topic, { batchSize: 2000 });
    await producer.connect();
    for (const e of syntheticEvents(SYNTHETIC)) await producer.send({ key: eventKey(e), value: JSON.stringify(e) });
    await producer.close();
  });

  after(async () => {
    for (const c of children) if (c.process.exitCode === null) c.process.kill('SIGKILL');
    await env?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ingests, trains both models from the stream, and /v1/recommend retrieves with the graph model', async () => {
    const interactions = [...syntheticEvents(SYNTHETIC)].filter((e) => e.type !== 'item_update' && e.type !== 'user_update').length;
    const ingest = spawnTs(CLI, ['ingest'], { ...env.env, LOG_LEVEL: 'warn' });
    children.push(ingest);
    await waitFor(async () => (await countInteractions(env.db)) >= interactions, { timeoutMs: 180_000, intervalMs: 500, what: `${interactions} interactions in ClickHouse` });
    ingest.process.kill('SIGTERM');
    await ingest.exited;

    const cf = spawnTs(CLI, ['train-cf', '--model', 'mf-bpr', '--source', 'clickhouse', '--production', '--name', 'stream-mf', '--epochs', '6', '--registry', registry, '--no-progress'], { ...env.env, LOG_LEVEL: 'warn' });
    children.push(cf);
    const cfExit = await cf.exited;
    assert.equal(cfExit.code, 0, cf.stderr.slice(-10).join('\n'));
    const summary = cf.lines.at(-1) as { source: string; positives: number; users: number; test: unknown; version: number };
    assert.equal(summary.source, 'clickhouse');
    assert.ok(summary.positives > 100, `positives: ${summary.positives}`);
    assert.equal(summary.test, null, 'a production run has no test split');
    const graph = await loadGraphEmbeddings(path.join(registry, 'stream-mf', 'v000001'));
    assert.ok(graph.itemIds.every((id) => id.startsWith('i')), `the stream's own item ids, e.g. ${graph.itemIds[0]}`);
    assert.equal(graph.manifest.trainedUntil, Math.max(...[...syntheticEvents(SYNTHETIC)].filter((e) => e.type === 'click' || (e.type === 'impression' && e.label === 1)).map((e) => e.ts)), 'the served model has seen the newest positive');

    const streamConfig = path.join(dir, 'stream.json');
    const base = JSON.parse(readFileSync(STREAM_CONFIG, 'utf8'));
    writeFileSync(streamConfig, JSON.stringify({ ...base, features: path.resolve(path.dirname(STREAM_CONFIG), base.features) }));
    const ranker = spawnTs(CLI, ['train-stream', '--config', streamConfig, '--registry', registry, '--topic', env.topic, '--group', randomName('test_loop_ranker'),
      '--checkpoint-dir', path.join(dir, 'checkpoints'), '--idle-exit-seconds', '5', '--json'], { ...env.env, LOG_LEVEL: 'warn' });
    children.push(ranker);
    const rankerExit = await ranker.exited;
    assert.equal(rankerExit.code, 0, ranker.stderr.slice(-10).join('\n'));

    const server = await startServer({
      settings: loadServeSettings({}, {
        registry, ranker: base.name, retrieval: 'stream-mf', allowLatest: true, onlineStore: 'redis', decisions: 'memory',
        modelsChannel: '', pollSeconds: 0, numCandidates: 50, ann: 'exact',
      }),
      services: env.services,
      registry: new ModelRegistry(registry),
      decisions: new MemoryDecisionSink(),
      listen: false,
    });
    try {
      const items = new Set(graph.itemIds);
      for (const user of graph.userIds.slice(0, 5)) {
        const res = await request(server.app).post('/v1/recommend').send({ user_id: user, k: 10 });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.retrieval, 'index');
        assert.equal(res.body.models.retrieval.model, 'stream-mf');
        assert.equal(res.body.items.length, 10);
        for (const item of res.body.items as { item_id: string }[]) assert.ok(items.has(item.item_id), `${item.item_id} comes from the graph model`);
      }
    } finally {
      await server.close();
    }
  });

  it('a scheduled retrain publishes and promotes a new version, and the running server swaps to it', async () => {
    const services = env.services;
    const settings = loadRetrainSettings(services, env.env, { registry, queueName: randomName('test-retrain') });
    const redis = createRedis(services.redis);
    const queue = new RetrainQueue(redis, settings);
    const registryObject = new ModelRegistry(registry);
    await registryObject.promote('stream-mf', 1, { actor: 'test' });
    const server = await startServer({
      settings: loadServeSettings({}, {
        registry, ranker: 'synthetic-din-stream', retrieval: 'stream-mf', allowLatest: true, onlineStore: 'redis', decisions: 'memory',
        modelsChannel: '', pollSeconds: 1, numCandidates: 50, ann: 'exact',
      }),
      services, registry: registryObject, decisions: new MemoryDecisionSink(), listen: false,
    });
    const workerConnection = createRedis(services.redis);
    const worker = startRetrainWorker({ connection: workerConnection, settings, env: { ...env.env, LOG_LEVEL: 'warn' } });
    try {
      assert.equal(server.models.current!.retrieval!.served.version, 1);
      const oldest = Math.min(...[...syntheticEvents(SYNTHETIC)].map((e) => e.ts));
      await queue.schedule({ model: 'mf-bpr', name: 'stream-mf', windowMs: Date.now() - oldest + 86_400_000, epochs: 3, promote: true }, 1000);
      // Requests keep coming while the tick trains and the server swaps: none may fail.
      const statuses: number[] = [];
      let swapped = false;
      const traffic = (async () => {
        while (!swapped) statuses.push((await request(server.app).post('/v1/recommend').send({ user_id: `u${statuses.length % 50}`, k: 5 })).status);
      })();
      const served = await waitFor(() => (server.models.current?.retrieval?.served.version ?? 0) >= 2 && server.models.current!.retrieval!.served, { timeoutMs: 240_000, intervalMs: 500, what: 'the server serving the retrained version' }).finally(() => { swapped = true; });
      await traffic;
      assert.equal(served.via, 'serving');
      assert.ok(statuses.length > 10, `${statuses.length} requests during the retrain`);
      assert.deepEqual(statuses.filter((s) => s !== 200), [], 'every request during the retrain and the swap answered 200');
      const runs = await queue.runs();
      const done = runs.find((r) => r.state === 'completed');
      assert.ok(done, JSON.stringify(runs));
      assert.equal((done.result as { promoted: boolean }).promoted, true);
      const res = await request(server.app).post('/v1/recommend').send({ user_id: 'u1', k: 5 });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.ok(res.body.models.retrieval.version >= 2);
      assert.deepEqual((await queue.schedules()).map((s) => [s.name, s.everyMs]), [['stream-mf', 1000]]);
      assert.equal(await queue.unschedule('stream-mf'), true);
      assert.deepEqual(await queue.schedules(), []);
    } finally {
      await worker.close();
      // BullMQ leaves a connection it was given open; an open socket would keep mocha from exiting.
      workerConnection.disconnect();
      await server.close();
      await queue.queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
      redis.disconnect();
    }
  });

  it('fold-in: an item first clicked after training becomes retrievable within 60 s, and leaves retrieval when the catalog drops it', async () => {
    const channel = randomName('test_fold_in');
    const graph = await loadGraphEmbeddings(path.join(registry, 'stream-mf', 'v000001'));
    const fresh = randomName('inew');
    const clickers = graph.userIds.slice(0, 15);
    const other = graph.userIds.at(-1)!;
    const foldIn = spawnTs(CLI, ['fold-in', '--retrieval', 'stream-mf', '--registry', registry, '--topic', env.topic, '--group', randomName('test_fold_in'), '--channel', channel, '--poll-seconds', '1'], { ...env.env, LOG_LEVEL: 'warn' });
    children.push(foldIn);
    const server = await startServer({
      settings: loadServeSettings({}, {
        registry, ranker: 'synthetic-din-stream', retrieval: 'stream-mf', allowLatest: true, onlineStore: 'redis', decisions: 'memory',
        modelsChannel: '', pollSeconds: 1, numCandidates: 1000, ann: 'hnsw', foldInChannel: channel,
      }),
      services: env.services, registry: new ModelRegistry(registry), decisions: new MemoryDecisionSink(), listen: false,
    });
    const recommended = async (user: string): Promise<string[]> => {
      const res = await request(server.app).post('/v1/recommend').send({ user_id: user, k: 1000 });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return (res.body.items as { item_id: string }[]).map((i) => i.item_id);
    };
    const producer = new EventProducer(env.services.kafka, env.topic, { batchSize: 100 });
    await producer.connect();
    try {
      assert.equal((await request(server.app).get(`/v1/embeddings/items/${fresh}`)).status, 404, 'unknown before its clicks');
      const before = await recommended(other);
      assert.ok(!before.includes(fresh));
      const started = Date.now();
      for (const [k, user] of clickers.entries()) {
        const e = { schema_version: 1 as const, event_id: `${fresh}-c${k}`, type: 'click' as const, user_id: user, item_id: fresh, ts: started + k };
        await producer.send({ key: eventKey(e), value: JSON.stringify(e) });
      }
      await producer.flush();
      await waitFor(async () => (await request(server.app).get(`/v1/embeddings/items/${fresh}`)).status === 200, { timeoutMs: 60_000, intervalMs: 200, what: `${fresh} placed by fold-in and served` });
      const seconds = (Date.now() - started) / 1000;
      console.log(`      fold-in: ${fresh} retrievable ${seconds.toFixed(1)} s after its first click was produced`);
      assert.ok((await recommended(other)).includes(fresh), 'retrieved for a user who never clicked it');
      const retrieval = server.models.current!.retrieval!;
      assert.equal(retrieval.foldedItems, 1);
      // Placed from its clickers (MF-BPR's user-mean rule): over them it scores above every trained item of no larger norm.
      const dot = (a: Float32Array, b: Float32Array): number => a.reduce((t, x, d) => t + x * b[d]!, 0);
      const clickerScore = (v: Float32Array): number => clickers.reduce((t, u) => t + dot(retrieval.userVector(u)!, v), 0);
      const placed = retrieval.itemVector(fresh)!;
      const beaten = graph.itemIds.filter((id) => dot(retrieval.itemVector(id)!, retrieval.itemVector(id)!) <= dot(placed, placed));
      assert.ok(beaten.length > 0);
      for (const id of beaten) assert.ok(clickerScore(placed) >= clickerScore(retrieval.itemVector(id)!) - 1e-4, `${fresh} scores below ${id} over its own clickers`);
      const trained = before[0]!;
      for (const item of [fresh, trained]) {
        const e = { schema_version: 1 as const, event_id: `${item}-gone`, type: 'item_update' as const, item_id: item, ts: Date.now(), attributes: { in_catalog: false } };
        await producer.send({ key: eventKey(e), value: JSON.stringify(e) });
      }
      await producer.flush();
      await waitFor(async () => { const items = await recommended(other); return !items.includes(fresh) && !items.includes(trained); }, { timeoutMs: 60_000, intervalMs: 200, what: 'removed items out of retrieval' });
      assert.equal((await request(server.app).get(`/v1/embeddings/items/${fresh}`)).status, 404);
    } finally {
      await producer.close();
      await server.close();
      foldIn.process.kill('SIGTERM');
    }
    const exit = await foldIn.exited;
    assert.equal(exit.code, 0, foldIn.stderr.slice(-10).join('\n'));
    const stats = (foldIn.lines.at(-1) as { foldIn: { folded: number; invalid: number } }).foldIn;
    assert.ok(stats.folded >= 1, JSON.stringify(stats));
  });
});
