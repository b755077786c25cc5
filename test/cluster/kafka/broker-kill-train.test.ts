import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Admin, Kafka } from 'kafkajs';
import { syntheticEvents, syntheticImpressions, type SyntheticOptions } from '../../../features/datasets/synthetic.js';
import type { Event } from '../../../features/events/event-schema.js';
import { hashString } from '../../../features/hashing.js';
import { loadServicesConfig } from '../../../infra/config.js';
import { createKafka, ensureTopics } from '../../../infra/kafka/kafka-client.js';
import { EventProducer } from '../../../pipelines/ingest/event-producer.js';
import type { KafkaEndpoint } from '../../../infra/kafka/kafka-client.js';
import { eventKey } from '../../../pipelines/ingest/events-kind.js';
import { ModelRegistry } from '../../../pipelines/registry/model-registry.js';
import { MANIFEST_FILE } from '../../../models/artifact/artifact-format.js';
import { randomName } from '../../helpers/names.js';
import { waitFor } from '../../helpers/wait-for.js';
import { spawnTs, type Child } from '../../integration/pipelines/ingest/child.js';
import { CLUSTER, clusterScript, killNine } from '../helpers/topology.js';

const CLI = fileURLToPath(new URL('../../integration/pipelines/streaming/fixtures/recsys-cli.ts', import.meta.url));
const CONFIG = fileURLToPath(new URL('../../../configs/models/synthetic-din-stream.json', import.meta.url));
const PARTITIONS = 6;

/** The `recsys train-stream --json` closing line (the fields checked here). */
interface FinalStatus {
  startedFrom: { kind: string };
  counters: { trained: number; events: number; invalid: number; trainedIdHash: number };
  ledger: { partitions: Record<string, [number, number][]>; replaysSkipped: number; gaps: number; doubles: number };
  versions: { version: number; kind: string; parent: number | null }[];
}

/** A `published` log line of the trainer. */
interface Published { time: number; version: number; kind: string; parent: number | null; offsets: Record<string, number> }

/** A fresh RF-3 topic on the cluster brokers, a group, a registry and a checkpoint folder; removed by cleanup(). */
interface TrainEnv {
  kafka: Kafka;
  kafkaEndpoint: KafkaEndpoint;
  admin: Admin;
  topic: string;
  groupId: string;
  dir: string;
  args(): string[];
  cleanup(): Promise<void>;
}

async function createTrainEnv({ initFrom = 'scratch' }: { initFrom?: 'scratch' | 'latest' } = {}): Promise<TrainEnv> {
  const services = loadServicesConfig({ ...process.env, KAFKA_BROKERS: CLUSTER.kafkaBrokers.join(',') });
  const kafka = createKafka(services.kafka);
  const admin = kafka.admin();
  await admin.connect();
  const topic = randomName('test_train_events');
  const groupId = randomName('test_train_group');
  await ensureTopics(admin, [{ topic, numPartitions: PARTITIONS }], { replicationFactor: 3, minInsyncReplicas: 2 });
  const dir = mkdtempSync(path.join(tmpdir(), 'train-stream-cluster-'));
  const config = path.join(dir, 'stream.json');
  const base = JSON.parse(readFileSync(CONFIG, 'utf8'));
  // Small versions and frequent checkpoints, so several of each fall on either side of a fault.
  writeFileSync(config, JSON.stringify({
    ...base, features: path.resolve(path.dirname(CONFIG), base.features), initFrom,
    publish: { everyExamples: 2500, everySeconds: 3600, fullEvery: 3 }, checkpoint: { everySeconds: 2, keep: 2 },
  }));
  return {
    kafka, kafkaEndpoint: services.kafka, admin, topic, groupId, dir,
    args: () => ['train-stream', '--config', config, '--registry', path.join(dir, 'registry'), '--topic', topic, '--group', groupId,
      '--checkpoint-dir', path.join(dir, 'checkpoints'), '--brokers', CLUSTER.kafkaBrokers.join(','), '--json'],
    async cleanup() {
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.deleteGroups([groupId]).catch(() => {});
      await admin.disconnect();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function startTrainer(env: TrainEnv, scores: string, idleExitSeconds: number): Child {
  return spawnTs(CLI, [...env.args(), '--scores-out', scores, '--idle-exit-seconds', String(idleExitSeconds)], { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'info' });
}

/** The trainer's own JSON log lines (component train-stream) with this message. */
function logLines<T>(child: Child, msg: string): T[] {
  return child.stderr.flatMap((line) => {
    if (!line.includes(`"msg":"${msg}"`) || !line.includes('"component":"train-stream"')) return [];
    try {
      return [JSON.parse(line) as T];
    } catch {
      return [];
    }
  });
}

/** The trainer's own log lines and its last words, for a failure message (kafkajs's connection errors left out). */
function ownLines(child: Child): string {
  return child.stderr.filter((l) => !l.includes('"component":"kafka"')).slice(-40).join('\n');
}

/** Produces events[from, to) keyed as ingestion keys them, `perTick` every `tickMs`, until acknowledged. */
async function produce(producer: EventProducer, events: readonly Event[], from: number, to: number, { perTick = 250, tickMs = 50 } = {}): Promise<void> {
  for (let i = from; i < to; i++) {
    await producer.send({ key: eventKey(events[i]!), value: JSON.stringify(events[i]) });
    if ((i - from) % perTick === perTick - 1) await new Promise((resolve) => setTimeout(resolve, tickMs));
  }
  await producer.flush();
}

/** The scores file's example ids, in order (a line cut by a kill -9 is left out). */
function scoredIds(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').flatMap((line) => {
    try {
      return [(JSON.parse(line) as { id: string }).id];
    } catch {
      return [];
    }
  });
}

/** Each id exactly once: how many are missing, and how many were seen twice or were not expected (0 and 0 when exact). */
function exactlyOnce(expected: readonly string[], seen: readonly string[]): { missing: number; doubled: number } {
  const counts = new Map<string, number>();
  for (const id of seen) counts.set(id, (counts.get(id) ?? 0) + 1);
  let missing = 0;
  for (const id of expected) if (!counts.has(id)) missing++;
  const known = new Set(expected);
  const doubled = [...counts.values()].filter((n) => n > 1).length + [...counts.keys()].filter((id) => !known.has(id)).length;
  return { missing, doubled };
}

/**
 * The broker coordinating a consumer group: the leader of its partition of
 * __consumer_offsets, which Kafka picks as abs(Java hashCode of the group id)
 * mod the topic's partition count.
 */
async function groupCoordinator(admin: Admin, groupId: string): Promise<number> {
  let hash = 0;
  for (let i = 0; i < groupId.length; i++) hash = (Math.imul(hash, 31) + groupId.charCodeAt(i)) | 0;
  const { topics: [offsets] } = await admin.fetchTopicMetadata({ topics: ['__consumer_offsets'] });
  const partition = (hash & 0x7fffffff) % offsets!.partitions.length;
  return offsets!.partitions.find((p) => p.partitionId === partition)!.leader;
}

/** Every broker registered and every partition of every topic with its full ISR (the next test starts from a healthy cluster). */
async function waitForHealthyCluster(admin: Admin, timeoutMs = 180_000): Promise<void> {
  await waitFor(async () => {
    const { brokers } = await admin.describeCluster();
    if (brokers.length !== 3) return false;
    const topics = await admin.listTopics();
    const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
    return metadata.every((t) => t.partitions.every((p) => p.leader >= 0 && p.isr.length === p.replicas.length));
  }, { timeoutMs, intervalMs: 500, what: 'three brokers and every partition with its full ISR' });
}

/** Checks shared by both faults: the topic holds each event once, the trainer consumed every offset once and trained each impression once. */
async function assertTrainedExactlyOnce(env: TrainEnv, events: readonly Event[], synthetic: SyntheticOptions, final: FinalStatus): Promise<{ highs: Record<string, number> }> {
  const offsets = await env.admin.fetchTopicOffsets(env.topic);
  const highs = Object.fromEntries(offsets.map((o) => [String(o.partition), Number(o.high)]));
  const inTopic = Object.values(highs).reduce((a, b) => a + b, 0);
  assert.equal(inTopic, events.length, 'messages in the topic = events produced (more: the producer wrote a duplicate)');
  assert.deepEqual(final.ledger.partitions, Object.fromEntries(Object.entries(highs).map(([p, high]) => [p, [[0, high]]])), 'each partition consumed as one unbroken range up to its end');
  assert.equal(final.ledger.gaps, 0, 'offsets skipped');
  assert.equal(final.ledger.doubles, 0, 'offsets consumed twice');
  assert.equal(final.counters.events + final.counters.invalid, events.length);
  assert.equal(final.counters.invalid, 0);
  const ids = [...syntheticImpressions(synthetic)].map((s) => s.event.event_id);
  assert.equal(final.counters.trained, ids.length, 'examples trained = impressions produced');
  assert.equal(final.counters.trainedIdHash, ids.reduce((sum, id) => (sum + hashString(id)) % 2 ** 32, 0), 'Σ hash(event_id) of the examples trained');
  // The group's offsets follow the checkpoints (for lag monitoring): after the final one, the end of every partition.
  const [committed] = await env.admin.fetchOffsets({ groupId: env.groupId, topics: [env.topic] });
  assert.deepEqual(Object.fromEntries(committed!.partitions.map((p) => [String(p.partition), Number(p.offset)])), highs, 'committed offsets');
  return { highs };
}

/** Versions in publication order: every partition's recorded offset never goes back; the last one covers the whole topic. */
function assertVersionsAdvance(published: readonly Published[], highs: Record<string, number>): void {
  for (let i = 1; i < published.length; i++) {
    for (const [p, offset] of Object.entries(published[i]!.offsets)) {
      assert.ok(offset >= (published[i - 1]!.offsets[p] ?? 0), `v${published[i]!.version} records partition ${p} at ${offset}, behind v${published[i - 1]!.version}`);
    }
  }
  assert.deepEqual(published.at(-1)!.offsets, highs, 'the last version records the end of every partition');
}

describe('cluster: streaming training through kill -9 (Kafka RF 3, min ISR 2)', function () {
  this.timeout(900_000);
  let env: TrainEnv | undefined;
  let producer: EventProducer | undefined;
  const children: Child[] = [];

  before(async () => {
    await clusterScript('kafka', ['up']);
  });
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.process.exitCode === null && c.process.signalCode === null) c.process.kill('SIGKILL');
    await producer?.close().catch(() => {});
    producer = undefined;
    // A killed broker comes back for the next test, whatever happened here.
    await clusterScript('kafka', ['up']).catch(() => {});
    if (env) await waitForHealthyCluster(env.admin).finally(() => env?.cleanup());
    env = undefined;
  });

  /**
   * A trainer on the cluster; a broker leading some of the topic's partitions
   * is killed -9 mid-run (the group's coordinator, or one that is not), events
   * are produced while it is down and while it restarts, and the run ends by
   * idleness.
   */
  async function brokerKill(killCoordinator: boolean): Promise<void> {
    const t0 = Date.now();
    env = await createTrainEnv();
    const synthetic = { events: 24_000, users: 600, items: 1200, seed: 24 };
    const events = [...syntheticEvents(synthetic)];
    const scores = path.join(env.dir, 'scores.jsonl');
    const trainer = startTrainer(env, scores, 15);
    children.push(trainer);
    await waitFor(() => {
      if (trainer.process.exitCode !== null) throw new Error(`the trainer exited (${trainer.process.exitCode})`);
      return logLines<{ assigned: number[] }>(trainer, 'joined group').some((l) => l.assigned.length > 0);
    }, { timeoutMs: 120_000, what: 'the trainer assigned partitions' })
      .catch((error: unknown) => { throw new Error(`${String(error)}\n${trainer.stderr.slice(-8).join('\n')}`); });

    producer = new EventProducer(env.kafkaEndpoint, env.topic, { batchSize: 500 });
    await producer.connect();
    const killAt = Math.floor(events.length * 0.4);
    const downUntil = Math.floor(events.length * 0.7);
    await produce(producer, events, 0, killAt);
    await waitFor(() => logLines<Published>(trainer, 'published').length >= 1, { timeoutMs: 300_000, intervalMs: 200, what: 'a first version' });

    // The trainer group's coordinator, which also leads some of the topic's partitions: both fail over at once.
    // The producer is idle at the kill (every send acknowledged).
    const { topics: [meta] } = await env.admin.fetchTopicMetadata({ topics: [env.topic] });
    assert.ok(meta!.partitions.every((p) => p.replicas.length === 3 && p.isr.length === 3), 'replication factor 3, full ISR before the kill');
    const coordinator = await groupCoordinator(env.admin, env.groupId);
    const leaders = new Map<number, number[]>();
    for (const p of meta!.partitions) leaders.set(p.leader, [...(leaders.get(p.leader) ?? []), p.partitionId]);
    const [victim, led] = [...leaders].filter(([broker]) => (broker === coordinator) === killCoordinator).sort((a, b) => b[1].length - a[1].length)[0]
      ?? assert.fail(`no broker leads a partition ${killCoordinator ? 'and coordinates' : 'without coordinating'} the group (coordinator ${coordinator})`);
    const beforeKill = logLines<Published>(trainer, 'published');
    const killedAt = Date.now();
    const pid = await killNine(`kafka-${victim}`);
    // The producer sends again once the controller has moved the dead broker's partitions (its retries last a few
    // seconds, less than the broker's session timeout); the trainer meanwhile goes on with the other partitions.
    const here = env;
    await waitFor(async () => (await here.admin.fetchTopicMetadata({ topics: [here.topic] })).topics[0]!.partitions.every((p) => p.leader >= 0 && p.leader !== victim), { timeoutMs: 60_000, intervalMs: 200, what: `new leaders for the partitions of broker ${victim}` });
    const failoverMs = Date.now() - killedAt;

    // Produced while the broker is down, then while it restarts, then after it is back.
    await produce(producer, events, killAt, downUntil);
    let restarted = false;
    const restart = clusterScript('kafka', ['up']).finally(() => { restarted = true; });
    let next = downUntil;
    while (!restarted && next < events.length) {
      const to = Math.min(events.length, next + 100);
      await produce(producer, events, next, to);
      next = to;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const restartLog = await restart;
    const restartedAfterMs = Date.now() - killedAt;
    await produce(producer, events, next, events.length);
    await producer.close();
    assert.equal(producer.acknowledged, events.length);
    await waitForHealthyCluster(env.admin);

    const exit = await Promise.race([trainer.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the trainer did not exit within 150 s of the last event:\n${ownLines(trainer)}`)), 150_000))]);
    assert.equal(exit.code, 0, ownLines(trainer));
    const final = trainer.lines.at(-1) as FinalStatus;
    const { highs } = await assertTrainedExactlyOnce(env, events, synthetic, final);

    const ids = [...syntheticImpressions(synthetic)].map((s) => s.event.event_id);
    const scored = scoredIds(scores);
    assert.deepEqual(exactlyOnce(ids, scored), { missing: 0, doubled: 0 }, 'each impression scored and trained exactly once (scores file)');

    const published = logLines<Published>(trainer, 'published');
    assertVersionsAdvance(published, highs);
    const after = published.filter((v) => v.time > killedAt);
    const lastBefore = beforeKill.at(-1)!;
    // A version after the kill that moved on every partition the dead broker led: training went on from the new leaders.
    assert.ok(after.some((v) => led.every((p) => v.offsets[String(p)]! > lastBefore.offsets[String(p)]!)), `a version after the kill advanced on partitions ${led} (led by broker ${victim})`);

    const perPartition = Object.fromEntries(Object.entries(highs).map(([p, high]) => [p, `${high} in / ${final.ledger.partitions[p]![0]![1] - final.ledger.partitions[p]![0]![0]} consumed`]));
    console.log(`      broker ${victim} (pid ${pid}; group coordinator ${coordinator}) killed after ${killAt} of ${events.length} events, leading partitions ${led.join(',')}; new leaders after ${(failoverMs / 1000).toFixed(1)} s; restarted after ${(restartedAfterMs / 1000).toFixed(1)} s (${restartLog.trim().split('\n').at(-1)})`);
    console.log(`      events produced ${events.length}, acknowledged ${producer.acknowledged}, in the topic ${Object.values(highs).reduce((a, b) => a + b, 0)}; per partition ${JSON.stringify(perPartition)}`);
    console.log(`      trained ${final.counters.trained} examples (impressions ${ids.length}), scored lines ${scored.length}, gaps ${final.ledger.gaps}, doubles ${final.ledger.doubles}, replays skipped ${final.ledger.replaysSkipped}; versions ${published.length} (${beforeKill.length} before the kill, ${after.length} after); group joins ${logLines(trainer, 'joined group').length}, consumer crashes restarted by kafkajs ${logLines(trainer, 'Kafka consumer crashed; kafkajs restarts it').length}; ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }

  it('kill -9 of a broker leading some of its partitions (not the group coordinator), restarted: every offset consumed once, every impression trained once, versions go on', () => brokerKill(false));

  it('kill -9 of the broker coordinating the trainer\'s group and leading some of its partitions: training goes on', () => brokerKill(true));

  it('kill -9 of the trainer, restarted: resumes from its checkpoint (at or after its last version), no gap or double across the two runs', async () => {
    const t0 = Date.now();
    env = await createTrainEnv();
    const synthetic = { events: 24_000, users: 600, items: 1200, seed: 25 };
    const events = [...syntheticEvents(synthetic)];
    const scores1 = path.join(env.dir, 'scores-1.jsonl');
    const scores2 = path.join(env.dir, 'scores-2.jsonl');
    const checkpoints = path.join(env.dir, 'checkpoints');
    producer = new EventProducer(env.kafkaEndpoint, env.topic, { batchSize: 500 });
    await producer.connect();
    // Produced throughout both runs and the gap between them.
    const producing = produce(producer, events, 0, events.length, { perTick: 250, tickMs: 150 });

    const first = startTrainer(env, scores1, 15);
    children.push(first);
    const checkpointed = await waitFor(() => {
      try {
        const state = JSON.parse(readFileSync(path.join(checkpoints, readFileSync(path.join(checkpoints, 'CURRENT'), 'utf8').trim(), 'state.json'), 'utf8')) as { counters: { trained: number }; publish: { published: number } };
        return state.publish.published >= 2 && state.counters.trained >= 6000 ? state : undefined;
      } catch {
        return undefined;
      }
    }, { timeoutMs: 300_000, intervalMs: 200, what: 'a checkpoint after two versions and 6,000 examples' });
    // Training goes on past the checkpoint, so the kill loses work the restart must redo once.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    first.process.kill('SIGKILL');
    assert.equal((await first.exited).signal, 'SIGKILL');
    const firstVersions = logLines<Published>(first, 'published');
    const scoredBeforeKill = scoredIds(scores1);

    const second = startTrainer(env, scores2, 15);
    children.push(second);
    await producing;
    await producer.close();
    const exit = await Promise.race([second.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the second trainer did not exit within 400 s')), 400_000))]);
    assert.equal(exit.code, 0, ownLines(second));
    const final = second.lines.at(-1) as FinalStatus;
    assert.equal(final.startedFrom.kind, 'checkpoint');
    const { highs } = await assertTrainedExactlyOnce(env, events, synthetic, final);

    // Where the second run resumed: the checkpoint's offsets, at or after the last version the checkpoint knew.
    const [resumed] = logLines<{ positions: Record<string, number>; trained: number; lastVersion: number | null }>(second, 'resuming from checkpoint');
    assert.ok(resumed, 'the second run logs the checkpoint it resumed from');
    assert.ok(resumed.trained >= checkpointed.counters.trained && resumed.trained < final.counters.trained, 'resumed mid-stream from the newest checkpoint');
    const known = firstVersions.filter((v) => v.version <= (resumed.lastVersion ?? 0));
    const lastVersion = known.at(-1)!;
    assert.equal(lastVersion?.version, resumed.lastVersion, 'the checkpoint names a version the first run published');
    for (const [p, offset] of Object.entries(lastVersion.offsets)) assert.ok(resumed.positions[p]! >= offset, `partition ${p}: resumed at ${resumed.positions[p]}, before v${lastVersion.version}'s ${offset}`);
    // The kill can land between a publish and its checkpoint: that version is then superseded, and said so.
    const superseded = firstVersions.length - known.length;
    assert.ok(superseded <= 1, `${superseded} versions published after the checkpoint the second run resumed from`);
    assert.equal(second.stderr.some((line) => line.includes('newer than this checkpoint')), superseded > 0, 'the second run warns of a version its checkpoint does not know, and only then');
    const secondVersions = logLines<Published>(second, 'published');
    assert.ok(secondVersions.length >= 1);
    // The next version continues the checkpoint's line: a delta's parent is the last version the checkpoint knew.
    if (secondVersions[0]!.kind === 'delta') assert.equal(secondVersions[0]!.parent, lastVersion.version);
    assertVersionsAdvance([...known, ...secondVersions], highs);

    // The first run's examples up to its checkpoint, then the second run's: each impression once.
    assert.ok(scoredBeforeKill.length >= resumed.trained, `the first run's scores file has ${scoredBeforeKill.length} lines, the checkpoint covers ${resumed.trained}`);
    const ids = [...syntheticImpressions(synthetic)].map((s) => s.event.event_id);
    const scored = [...scoredBeforeKill.slice(0, resumed.trained), ...scoredIds(scores2)];
    assert.deepEqual(exactlyOnce(ids, scored), { missing: 0, doubled: 0 }, 'each impression trained exactly once in the surviving state');

    console.log(`      trainer killed at ${scoredBeforeKill.length} examples scored, checkpoint ${resumed.trained} (last version v${lastVersion.version} at ${JSON.stringify(lastVersion.offsets)}); resumed at ${JSON.stringify(resumed.positions)}: ${scoredBeforeKill.length - resumed.trained} examples trained again in the second run`);
    console.log(`      events ${events.length}, in the topic ${Object.values(highs).reduce((a, b) => a + b, 0)}, per partition ${JSON.stringify(highs)}; trained ${final.counters.trained} (impressions ${ids.length}), gaps ${final.ledger.gaps}, doubles ${final.ledger.doubles}, replays skipped ${final.ledger.replaysSkipped}; versions ${firstVersions.length} + ${secondVersions.length}; ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });
  it('kill -9 of the trainer and its checkpoints lost: resumes from the last published version, each impression trained once relative to it', async () => {
    const t0 = Date.now();
    env = await createTrainEnv({ initFrom: 'latest' });
    const synthetic = { events: 16_000, users: 600, items: 1200, seed: 26 };
    const events = [...syntheticEvents(synthetic)];
    const scores1 = path.join(env.dir, 'scores-1.jsonl');
    const scores2 = path.join(env.dir, 'scores-2.jsonl');
    producer = new EventProducer(env.kafkaEndpoint, env.topic, { batchSize: 500 });
    await producer.connect();
    const producing = produce(producer, events, 0, events.length, { perTick: 250, tickMs: 150 });

    const first = startTrainer(env, scores1, 15);
    children.push(first);
    await waitFor(() => logLines<Published>(first, 'published').length >= 2, { timeoutMs: 300_000, intervalMs: 200, what: 'two versions' });
    first.process.kill('SIGKILL');
    assert.equal((await first.exited).signal, 'SIGKILL');
    // A new machine without the old one's disk: only the registry is left.
    rmSync(path.join(env.dir, 'checkpoints'), { recursive: true, force: true });
    const { version: latest, dir: latestDir } = await new ModelRegistry(path.join(env.dir, 'registry')).resolve('synthetic-din-stream@latest');
    const manifest = JSON.parse(readFileSync(path.join(latestDir, MANIFEST_FILE), 'utf8')) as { extra: { offsets: { partitions: Record<string, number> }; trainer: { examples: number }; pendingEvents?: unknown[] } };
    const inVersion = manifest.extra.trainer.examples;
    const scoredBeforeKill = scoredIds(scores1);
    assert.ok(scoredBeforeKill.length >= inVersion, `the first run's scores file has ${scoredBeforeKill.length} lines, v${latest} holds ${inVersion} examples`);

    const second = startTrainer(env, scores2, 15);
    children.push(second);
    await producing;
    await producer.close();
    const exit = await Promise.race([second.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the second trainer did not exit within 400 s')), 400_000))]);
    assert.equal(exit.code, 0, ownLines(second));
    const final = second.lines.at(-1) as FinalStatus;
    assert.deepEqual(final.startedFrom, { kind: 'version', version: latest });
    const offsets = await env.admin.fetchTopicOffsets(env.topic);
    const highs = Object.fromEntries(offsets.map((o) => [String(o.partition), Number(o.high)]));
    assert.equal(Object.values(highs).reduce((a, b) => a + b, 0), events.length, 'messages in the topic = events produced');
    const from = manifest.extra.offsets.partitions;
    assert.deepEqual(final.ledger.partitions, Object.fromEntries(Object.entries(highs).map(([p, high]) => [p, [[from[p] ?? 0, high]]])), 'the second run consumed from the version\'s offsets to the end, unbroken');
    assert.equal(final.ledger.gaps, 0);
    assert.equal(final.ledger.doubles, 0);

    // The version's examples (the first run's first ones), then the second run's: each impression once.
    const ids = [...syntheticImpressions(synthetic)].map((s) => s.event.event_id);
    const run2 = scoredIds(scores2);
    const verdict = exactlyOnce(ids, [...scoredBeforeKill.slice(0, inVersion), ...run2]);
    console.log(`      trainer killed at ${scoredBeforeKill.length} examples scored; checkpoints removed; v${latest} holds ${inVersion} examples, offsets ${JSON.stringify(from)}, ${manifest.extra.pendingEvents?.length ?? 'no'} events held for lateness; the second run trained ${final.counters.trained}: ${inVersion} + ${final.counters.trained} = ${inVersion + final.counters.trained} for ${ids.length} impressions (missing ${verdict.missing}, doubled ${verdict.doubled}); ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    assert.deepEqual(verdict, { missing: 0, doubled: 0 }, 'each impression trained exactly once: in the version or after it');
    assert.equal(final.counters.trained, run2.length);
  });
});
