import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadServicesConfig } from '../../../infra/config.js';
import { createRedis, isCluster, type Redis } from '../../../infra/redis/redis-client.js';
import { FoldInStore } from '../../../pipelines/fold-in/fold-in-store.js';
import { ModelRegistry } from '../../../pipelines/registry/model-registry.js';
import { createServicesNotifier } from '../../../pipelines/registry/services-notifier.js';
import { loadServeSettings } from '../../../serving/serve-config.js';
import { startServer, type RunningServer } from '../../../serving/server.js';
import { randomName } from '../../helpers/names.js';
import { publishRandomGraph, publishTinyDin } from '../../helpers/serving-fixtures.js';
import { waitFor } from '../../helpers/wait-for.js';
import { deleteKeys } from '../../helpers/delete-keys.js';
import { CLUSTER } from '../helpers/topology.js';

/**
 * Serving's hot reload by registry events on Redis Cluster: the server
 * subscribes through an ioredis Cluster client, the registry publishes
 * through another, and nothing polls the folder (--poll-seconds 0), so only
 * the event can bring the new version in.
 */
describe('cluster: serving hot-reloads on registry events published on Redis Cluster (no polling)', function () {
  this.timeout(300_000);
  const prefix = `{${randomName('test_pubsub')}}:`;
  const channel = randomName('test_models');
  const foldInChannel = randomName('test_fold_in');
  const env: NodeJS.ProcessEnv = { ...process.env, REDIS_CLUSTER_NODES: CLUSTER.redisNodes.join(','), REDIS_KEY_PREFIX: prefix };
  const services = loadServicesConfig(env);
  const logs: { msg: string; channel?: string; reason?: string }[] = [];
  let registry: string;
  let server: RunningServer | undefined;
  let redis: Redis;

  before(async () => {
    redis = createRedis(services.redis);
    assert.ok(isCluster(redis), 'REDIS_CLUSTER_NODES makes a Cluster client');
    assert.equal(await redis.ping(), 'PONG', 'Redis Cluster answers (bash infra/scripts/services.sh up --topology cluster)');
    registry = mkdtempSync(path.join(tmpdir(), 'cluster-pubsub-'));
    await publishTinyDin(registry, 'syn-din');
    await publishTinyDin(registry, 'syn-din', { seed: 2 });
    await publishRandomGraph(registry, 'syn-graph');
    await new ModelRegistry(registry).promote('syn-din', 1, { actor: 'test' });
    await new ModelRegistry(registry).promote('syn-graph', 1, { actor: 'test' });
    const sink = new Writable({ write(chunk: Buffer, _e, done) { for (const l of chunk.toString().split('\n')) if (l) logs.push(JSON.parse(l) as (typeof logs)[number]); done(); } });
    server = await startServer({
      settings: loadServeSettings({}, {
        registry, ranker: 'syn-din', retrieval: 'syn-graph', itemIdPrefix: 'i', userIdPrefix: 'u', numCandidates: 40, port: 0,
        onlineStore: 'redis', decisions: 'memory', modelsChannel: channel, foldInChannel, pollSeconds: 0,
      }),
      services,
      log: pino({ level: 'info' }, sink),
    });
  });
  after(async () => {
    await server?.close();
    if (redis) {
      await deleteKeys(redis, `${prefix}*`).catch(() => {});
      redis.disconnect();
    }
    if (registry) rmSync(registry, { recursive: true, force: true });
  });

  it('subscribed, not fallen back to nothing: promotes and a rollback each swap the ranker within 10 s', async () => {
    assert.ok(logs.some((l) => l.msg === 'hot reload: subscribed to registry events' && l.channel === channel), JSON.stringify(logs.filter((l) => /subscri/.test(l.msg))));
    assert.equal(server!.models.current!.ranker.served.version, 1);
    const notifier = createServicesNotifier(services, { channel, clickhouse: null });
    try {
      const reg = new ModelRegistry(registry, { notifier });
      const timings: string[] = [];
      const details: string[] = [];
      for (const [what, change, version] of [
        ['promote v2', () => reg.promote('syn-din', 2, { reason: 'test' }), 2],
        ['rollback to v1', () => reg.rollback('syn-din', { reason: 'test' }), 1],
        ['promote v2 again', () => reg.promote('syn-din', 2, { reason: 'test' }), 2],
        ['promote v1', () => reg.promote('syn-din', 1, { reason: 'test' }), 1],
      ] as const) {
        const started = Date.now();
        const outcome = await change();
        const redisOutcome = outcome.notified.find((n) => n.sink === 'redis');
        assert.equal(redisOutcome?.status, 'sent', `${what}: ${JSON.stringify(outcome.notified)}`);
        // PUBLISH lands on a random node: four events would rarely all find the server's own.
        assert.match(redisOutcome.detail, /\(1 subscriber\)/, `${what}: the notifier counts the server's subscription wherever it lives (${redisOutcome.detail})`);
        details.push(redisOutcome.detail);
        await waitFor(() => server!.models.current!.ranker.served.version === version, { timeoutMs: 10_000, intervalMs: 20, what: `${what}: the server to serve v${version}` });
        timings.push(`${what} ${Date.now() - started} ms`);
        const res = await fetch(`${server!.url}/v1/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: 'u1', candidates: ['i1', 'i2'] }), signal: AbortSignal.timeout(10_000) });
        assert.equal(res.status, 200);
        assert.equal(((await res.json()) as { models: { ranker: { version: number } } }).models.ranker.version, version);
      }
      console.log(`      reloaded on events from Redis Cluster: ${timings.join(', ')} (notifier: ${details.join('; ')})`);
    } finally {
      await notifier.close();
    }
  });

  it('fold-in announcements on Redis Cluster reach the server: an item taken out of the catalog leaves its recommendations, and comes back when restored', async () => {
    assert.ok(logs.some((l) => l.msg === 'fold-in: subscribed' && l.channel === foldInChannel), JSON.stringify(logs.filter((l) => /fold-in/.test(l.msg))));
    const recommended = async () => {
      const res = await fetch(`${server!.url}/v1/recommend`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: 'u3', k: 10, exploration: { scheme: 'none' } }), signal: AbortSignal.timeout(10_000) });
      assert.equal(res.status, 200);
      return ((await res.json()) as { items: { item_id: string }[] }).items.map((i) => i.item_id);
    };
    const before = await recommended();
    const victim = before[0]!;
    // Announcements name the model's own ids; the server serves them under itemIdPrefix 'i'.
    const modelId = victim.slice(1);
    const publisher = createRedis(services.redis);
    try {
      const store = new FoldInStore(publisher, services.redis.keyPrefix, foldInChannel);
      const started = Date.now();
      await store.publish({ model: 'syn-graph', version: 1, items: [], removed: [modelId], restored: [] });
      await waitFor(async () => !(await recommended()).includes(victim), { timeoutMs: 10_000, intervalMs: 50, what: `${victim} to leave u3's recommendations` });
      const removedMs = Date.now() - started;
      await store.publish({ model: 'syn-graph', version: 1, items: [], removed: [], restored: [modelId] });
      await waitFor(async () => (await recommended()).includes(victim), { timeoutMs: 10_000, intervalMs: 50, what: `${victim} to come back` });
      console.log(`      fold-in on Redis Cluster: ${victim} removed from recommendations ${removedMs} ms after its announcement, restored ${Date.now() - started - removedMs} ms after its own`);
    } finally {
      publisher.disconnect();
    }
  });
});
