import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { Cluster } from 'ioredis';
import { syntheticEvents } from '../../../features/datasets/synthetic.js';
import type { Event } from '../../../features/events/event-schema.js';
import { loadFeatureSpec } from '../../../features/spec/feature-spec.js';
import { EventProducer } from '../../../pipelines/ingest/event-producer.js';
import { eventKey } from '../../../pipelines/ingest/events-kind.js';
import { DEFAULT_FEATURES_FILE } from '../../../pipelines/ingest/ingest-config.js';
import { MemoryOnlineStore } from '../../../pipelines/online-store/memory-online-store.js';
import { onlineSpecFrom } from '../../../pipelines/online-store/online-ops.js';
import { RedisOnlineStore, RedisOnlineWriter, storedBuckets } from '../../../pipelines/online-store/redis-online-store.js';
import { DEFAULT_CLUSTER_BUCKETS, redisKeys } from '../../../pipelines/online-store/redis-keys.js';
import { waitFor } from '../../helpers/wait-for.js';
import { assertOnlineStoreMatches } from '../../helpers/conformance/online-store.js';
import { spawnTs, type Child } from '../../integration/pipelines/ingest/child.js';
import { waitForDrained } from '../../integration/pipelines/ingest/ingest-env.js';
import { assertStoresHoldExactly } from '../../integration/pipelines/ingest/online-store-assert.js';
import { createClusterIngestEnv, type ClusterIngestEnv } from '../helpers/cluster-ingest-env.js';
import { clusterScript, killNine } from '../helpers/topology.js';

const CLI = fileURLToPath(new URL('../../integration/pipelines/ingest/fixtures/recsys-cli.ts', import.meta.url));

async function metricValue(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(name)).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

/** Per primary (host:port), how many of the store's keys it holds. */
async function storeKeysPerPrimary(cluster: Cluster, prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const node of cluster.nodes('master')) {
    let n = 0;
    for (let cursor = '0'; ;) {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix.slice(0, prefix.indexOf('}'))}*`, 'COUNT', 1000);
      n += keys.length;
      if ((cursor = next) === '0') break;
    }
    out.set(`${node.options.host}:${node.options.port}`, n);
  }
  return out;
}

describe('cluster: kill -9 of a Redis primary holding part of the online store during ingestion', function () {
  this.timeout(600_000);
  const spec = onlineSpecFrom(loadFeatureSpec(DEFAULT_FEATURES_FILE));
  const events: Event[] = [...syntheticEvents({ events: 30_000, users: 800, items: 1500, seed: 42 })];
  let env: ClusterIngestEnv;
  const children: Child[] = [];

  before(async () => {
    await clusterScript('kafka', ['up']);
    await clusterScript('redis', ['up']);
    env = await createClusterIngestEnv({ partitions: 4 });
    const producer = new EventProducer(env.services.kafka, env.topic, { batchSize: 2000 });
    await producer.connect();
    for (const e of events) await producer.send({ key: eventKey(e), value: JSON.stringify(e) });
    await producer.close();
  });
  after(async () => {
    for (const c of children) if (c.process.exitCode === null) c.process.kill('SIGKILL');
    // The killed node rejoins (as a replica of the promoted one) for the next test.
    await clusterScript('redis', ['up']).catch(() => {});
    await env?.cleanup();
  });

  it('fails over, ingestion resumes, the store is checked against the reference and rebuilt from ClickHouse', async () => {
    const cluster = env.redis as Cluster;
    // The store in DEFAULT_CLUSTER_BUCKETS buckets, each a slot of its own: the primary serving bucket 0 is killed.
    const keys = redisKeys(env.prefix, DEFAULT_CLUSTER_BUCKETS);
    const slot = Number(await cluster.call('CLUSTER', 'KEYSLOT', `${keys.bucketPrefix(0)}x`));
    await waitFor(() => cluster.slots[slot]?.[0], { timeoutMs: 10_000, what: 'the slot map' });
    const primary = cluster.slots[slot]![0]!;
    const port = Number(primary.split(':')[1]);

    const ingest = spawnTs(CLI, ['ingest', '--metrics-port', '0', '--max-batch', '2000'], { ...env.env, LOG_LEVEL: 'info' });
    children.push(ingest);
    await waitFor(() => ingest.stderr.some((l) => l.startsWith('metrics on')), { timeoutMs: 90_000, what: 'metrics endpoint' });
    const metricsPort = Number(/:(\d+)\/metrics/.exec(ingest.stderr.find((l) => l.startsWith('metrics on'))!)![1]);
    await waitFor(async () => (await metricValue(metricsPort, 'ingest_events_valid_total')) >= events.length / 3, { timeoutMs: 180_000, intervalMs: 100, what: 'a third ingested' });
    const t0 = Date.now();
    const killedPid = await killNine(`redis-${port}`);
    // Draining needs the replica to have taken the slot over (cluster-node-timeout 3 s) and ingestion to resume.
    await waitForDrained(env.admin, env.groupId, env.topic, 300_000);
    const resumedSeconds = (Date.now() - t0) / 1000;
    ingest.process.kill('SIGTERM');
    const exit = await ingest.exited;

    // Before the rebuild: what the failover kept, against a reference store fed every event.
    const reference = new MemoryOnlineStore(spec);
    reference.applyEvents(events);
    const behind = await new RedisOnlineWriter(env.redis, env.prefix, spec.behaviour.maxLength, 0, DEFAULT_CLUSTER_BUCKETS).behind(env.topic);
    let matchedBeforeRebuild = true;
    try {
      await assertOnlineStoreMatches(new RedisOnlineStore(env.redis, env.prefix, spec.behaviour.maxLength), reference, events);
    } catch {
      matchedBeforeRebuild = false;
    }

    const rebuild = spawnTs(CLI, ['ingest', '--rebuild-online-store'], env.env);
    children.push(rebuild);
    const rebuildExit = await rebuild.exited;
    assert.equal(rebuildExit.code, 0, rebuild.stderr.slice(-5).join('\n'));

    const stored = await assertStoresHoldExactly(env, spec, events, 365 * 86_400_000);
    assert.equal(await storedBuckets(env.redis, env.prefix), DEFAULT_CLUSTER_BUCKETS, 'a new store on a cluster is bucketed');
    const spread = await storeKeysPerPrimary(cluster, env.prefix);
    const total = [...spread.values()].reduce((a, b) => a + b, 0);
    console.log(`      store keys per primary: ${[...spread].map(([node, n]) => `${node} ${n}`).join(', ')} (of ${total})`);
    assert.equal(spread.size, 3);
    // Each primary serves 4-7 of the 16 buckets (their tags are salted to spread the slots): at least a fifth of the keys.
    for (const [node, n] of spread) assert.ok(n >= total / 5, `primary ${node} holds ${n} of ${total} keys: the store spreads over the primaries`);
    console.log(`      events in ${events.length}; primary ${primary} (pid ${killedPid}) killed, drained ${resumedSeconds.toFixed(1)} s later, ingest exit ${exit.code}; before the rebuild: store ${matchedBeforeRebuild ? 'matched' : 'did not match'} the reference, partitions marked behind ${JSON.stringify([...behind.keys()])}; out after the rebuild: ClickHouse ${stored.length} rows (${new Set(stored.map((e) => e.event_id)).size} distinct), Redis = reference`);
    assert.equal(exit.code, 0, ingest.stderr.slice(-5).join('\n'));
  });
});
