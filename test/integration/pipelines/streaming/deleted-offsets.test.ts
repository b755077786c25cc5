import assert from 'node:assert/strict';
import { syntheticEvents } from '../../../../features/datasets/synthetic.js';
import { runTrainStream, type TrainStreamResult } from '../../../../pipelines/streaming/run-train-stream.js';
import type { StreamConfig } from '../../../../pipelines/streaming/stream-config.js';
import { StreamMetrics } from '../../../../pipelines/streaming/stream-metrics.js';
import { SMALL, smallStreamConfig } from '../../../unit/pipelines/streaming/stream-fixtures.js';
import { createStreamEnv, produceEvents, type StreamEnv } from './stream-env.js';

/** One trainer run until idle, failing (after a clean stop) if it is not idle within `deadlineMs`. */
async function runUntilIdle(env: StreamEnv, config: StreamConfig, metrics: StreamMetrics, deadlineMs: number): Promise<TrainStreamResult> {
  let stop: (() => Promise<void>) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), deadlineMs); });
  const run = runTrainStream(config, {
    kafka: env.kafka, registry: env.registry, topic: env.topic, metrics, idleExitMs: 3000,
    onStarted: (running) => { stop = running.stop; },
  });
  const first = await Promise.race([run, timedOut]);
  clearTimeout(timer);
  if (first === 'timeout') {
    await stop?.();
    const result = await run;
    assert.fail(`the trainer was still busy after ${deadlineMs} ms (never idle: looping on the partition?); ledger ${JSON.stringify(result.status.ledger)}`);
  }
  return first;
}

describe('streaming training past offsets deleted from the topic (real Kafka)', function () {
  this.timeout(300_000);
  let env: StreamEnv;

  before(async () => {
    env = await createStreamEnv(1);
  });
  after(async () => {
    await env?.cleanup();
  });

  it('records the deleted offsets as a gap (metric, ledger) and trains on from the log start, without seeking back', async () => {
    const events = [...syntheticEvents(SMALL)];
    const checkpointed = 1500;
    const deletedTo = 2000;
    await produceEvents(env, events.slice(0, checkpointed));
    const config: StreamConfig = { ...smallStreamConfig(env.dir), stream: { ...smallStreamConfig(env.dir).stream, groupId: env.groupId } };
    const first = await runUntilIdle(env, config, new StreamMetrics(), 90_000);
    assert.deepEqual(first.status.positions, { 0: checkpointed });

    // While the trainer is down: more events, then everything below `deletedTo` is removed (as retention would).
    await produceEvents(env, events.slice(checkpointed));
    // (kafkajs finds the partition's leader only for topics its admin has metadata of: the offsets request loads it.)
    await env.admin.fetchTopicOffsets(env.topic);
    await env.admin.deleteTopicRecords({ topic: env.topic, partitions: [{ partition: 0, offset: String(deletedTo) }] });
    const offsets = await env.admin.fetchTopicOffsets(env.topic);
    assert.deepEqual(offsets.map((o) => [Number(o.low), Number(o.high)]), [[deletedTo, events.length]]);

    const metrics = new StreamMetrics();
    const second = await runUntilIdle(env, config, metrics, 90_000);
    assert.equal(second.startedFrom.kind, 'checkpoint');
    const { ledger, counters } = second.status;
    assert.deepEqual(ledger.partitions, { 0: [[0, checkpointed], [deletedTo, events.length]] });
    assert.equal(ledger.gaps, deletedTo - checkpointed);
    assert.equal(ledger.deleted, deletedTo - checkpointed);
    assert.equal(ledger.doubles, 0);
    assert.equal(counters.events + counters.invalid, checkpointed + events.length - deletedTo, 'every message left in the topic consumed once');
    const skipped = (await metrics.offsetsSkipped.get()).values.find((v) => v.labels.reason === 'deleted' && v.labels.partition === '0');
    assert.equal(skipped?.value, deletedTo - checkpointed);
    const committed = await env.admin.fetchOffsets({ groupId: env.groupId, topics: [env.topic] });
    assert.deepEqual(committed[0]!.partitions.map((p) => [p.partition, Number(p.offset)]), [[0, events.length]], 'the group committed past the gap');
  });
});
