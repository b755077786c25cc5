import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { syntheticEvents } from '../../../features/datasets/synthetic.js';
import type { Event } from '../../../features/events/event-schema.js';
import { loadFeatureSpec } from '../../../features/spec/feature-spec.js';
import { EventProducer } from '../../../pipelines/ingest/event-producer.js';
import { eventKey } from '../../../pipelines/ingest/events-kind.js';
import { DEFAULT_FEATURES_FILE } from '../../../pipelines/ingest/ingest-config.js';
import { onlineSpecFrom } from '../../../pipelines/online-store/online-ops.js';
import { waitFor } from '../../helpers/wait-for.js';
import { spawnTs, type Child } from '../../integration/pipelines/ingest/child.js';
import { waitForDrained } from '../../integration/pipelines/ingest/ingest-env.js';
import { assertStoresHoldExactly } from '../../integration/pipelines/ingest/online-store-assert.js';
import { createClusterIngestEnv, type ClusterIngestEnv } from '../helpers/cluster-ingest-env.js';
import { topicEventIds } from '../helpers/topic-contents.js';
import { clusterScript, killNine } from '../helpers/topology.js';

const CLI = fileURLToPath(new URL('../../integration/pipelines/ingest/fixtures/recsys-cli.ts', import.meta.url));

async function metricValue(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(name)).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

describe('cluster: kill -9 of a Kafka broker while two ingest processes run', function () {
  this.timeout(600_000);
  const spec = onlineSpecFrom(loadFeatureSpec(DEFAULT_FEATURES_FILE));
  const events: Event[] = [...syntheticEvents({ events: 30_000, users: 800, items: 1500, seed: 24 })];
  let env: ClusterIngestEnv;
  const children: Child[] = [];

  // Each scenario its own topic, group, database and key prefix: the second must not find the first's events.
  beforeEach(async () => {
    await clusterScript('kafka', ['up']);
    await clusterScript('redis', ['up']);
    env = await createClusterIngestEnv({ partitions: 6 });
  });
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.process.exitCode === null) c.process.kill('SIGKILL');
    // The killed broker comes back for the next test, whatever happened here.
    await clusterScript('kafka', ['up']).catch(() => {});
    await env?.cleanup();
  });

  /**
   * Two `recsys ingest` processes share the group; broker 2 is killed -9
   * after a third of the events and restarted at the end. The events are
   * produced once both processes hold partitions (else the first one up can
   * drain the topic alone): at full speed, the kill coming once a third is
   * ingested; or with `produceThroughKill`, paced, the kill coming after a
   * third is produced.
   */
  async function scenario(produceThroughKill: boolean): Promise<void> {
    // A broker may learn of the new topic a moment after another one: metadata and configs asked until one answers.
    const meta = await waitFor(async () => (await env.admin.fetchTopicMetadata({ topics: [env.topic] }).catch(() => undefined))?.topics[0], { timeoutMs: 30_000, what: 'topic metadata' });
    assert.equal(meta.partitions.length, 6);
    assert.ok(meta.partitions.every((p) => p.replicas.length === 3), 'replication factor 3');
    const configs = await waitFor(() => env.admin.describeConfigs({ resources: [{ type: 2, name: env.topic, configNames: ['min.insync.replicas'] }], includeSynonyms: false })
      .catch(() => undefined), { timeoutMs: 30_000, what: 'topic configs' });
    assert.equal(configs.resources[0]!.configEntries[0]!.configValue, '2');

    const producer = new EventProducer(env.services.kafka, env.topic, { batchSize: 500 });
    await producer.connect();
    const killAt = Math.floor(events.length / 3);
    let killedPid = 0;
    const t0 = Date.now();
    const produce = async (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const e = events[i]!;
        await producer.send({ key: eventKey(e), value: JSON.stringify(e) });
        // Paced, so that part of the stream is produced while the broker is down.
        if (produceThroughKill && i % 500 === 499) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await producer.flush();
    };

    const ports: number[] = [];
    for (let i = 0; i < 2; i++) {
      const ingest = spawnTs(CLI, ['ingest', '--metrics-port', '0', '--max-batch', '2000'], { ...env.env, LOG_LEVEL: 'info' });
      children.push(ingest);
      await waitFor(() => ingest.stderr.some((l) => l.startsWith('metrics on')), { timeoutMs: 90_000, what: 'metrics endpoint' });
      ports.push(Number(/:(\d+)\/metrics/.exec(ingest.stderr.find((l) => l.startsWith('metrics on'))!)![1]));
    }
    await waitFor(() => children.every((c) => c.stderr.some((l) => /"msg":"joined group"/.test(l) && /"assigned":\{"[^"]+":\[\d/.test(l))), { timeoutMs: 90_000, what: 'both members assigned' })
      .catch((error: unknown) => { throw new Error(`${String(error)}\n${children.map((c) => c.stderr.slice(-8).join('\n')).join('\n---\n')}`); });

    if (produceThroughKill) {
      await produce(0, killAt);
      killedPid = await killNine('kafka-2');
      await produce(killAt, events.length);
    } else {
      await produce(0, events.length);
      // Mid-ingestion: a third of the events stored by the two processes.
      await waitFor(async () => (await Promise.all(ports.map((p) => metricValue(p, 'ingest_events_valid_total')))).reduce((a, b) => a + b, 0) >= killAt, { timeoutMs: 120_000, intervalMs: 100, what: 'a third ingested' });
      killedPid = await killNine('kafka-2');
    }
    await producer.close();
    const produceSeconds = (Date.now() - t0) / 1000;
    assert.equal(producer.acknowledged, events.length);
    // Ingestion goes on with two brokers for a while before the third returns.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const restart = await clusterScript('kafka', ['up']);

    await waitForDrained(env.admin, env.groupId, env.topic, 300_000);
    const perProcess = await Promise.all(ports.map((p) => metricValue(p, 'ingest_events_valid_total')));
    const recognised = (await Promise.all(ports.map((p) => metricValue(p, 'ingest_duplicates_total')))).reduce((a, b) => a + b, 0);
    for (const c of children) c.process.kill('SIGTERM');
    for (const c of children) assert.equal((await c.exited).code, 0, c.stderr.slice(-5).join('\n'));

    // The topic read whole: every acknowledged event in it (none lost), and how many copies the producer left.
    const topic = await topicEventIds(env.kafka, env.admin, env.topic);
    const inTopic = topic.messages;
    const missing = events.filter((e) => !topic.ids.has(e.event_id)).length;
    console.log(`      events in ${events.length}, acknowledged ${producer.acknowledged}, messages in the topic ${inTopic} (${topic.ids.size} distinct, ${missing} events missing), copies recognised by the online store ${recognised}; broker pid ${killedPid} killed after ${killAt} events (${produceThroughKill ? 'produced' : 'ingested'}); ${produceSeconds.toFixed(1)} s; per process ${JSON.stringify(perProcess)}; ${restart.trim().split('\n').at(-1)}`);
    // librdkafka's idempotent producer: a batch retried across the leader change is written once.
    assert.equal(missing, 0, 'acknowledged events missing from the topic');
    assert.equal(topic.ids.size, events.length, 'distinct events in the topic');
    assert.equal(inTopic, events.length, 'messages in the topic (more: the producer wrote a copy)');
    const stored = await assertStoresHoldExactly(env, spec, events, 365 * 86_400_000);
    console.log(`      out: ClickHouse ${stored.length} rows, ${new Set(stored.map((e) => e.event_id)).size} distinct; Redis equals the reference store fed the ${events.length} events`);
    assert.equal(recognised, inTopic - events.length, `every copy in the topic recognised as one:\n${children.flatMap((c) => c.stderr.filter((l) => l.includes('produced twice'))).join('\n')}`);
    assert.ok(perProcess.every((n) => n > 0), `both processes ingested: ${perProcess}`);
  }

  it('killed mid-ingestion: every event once in ClickHouse and Redis; both processes took partitions', () => scenario(false));

  // The case kafkajs's producer failed (tulios/kafkajs#1303): 63–167 of 32,300 acknowledged events lost and
  // 154–198 copies written in 4 runs on 2026-12-03. The producers are on librdkafka since.
  it('killed while producing: every acknowledged event once in the topic, in ClickHouse and in Redis', () => scenario(true));
});
