import assert from 'node:assert/strict';
import { syntheticEvents } from '../../../../features/datasets/synthetic.js';
import { runTrainStream } from '../../../../pipelines/streaming/run-train-stream.js';
import { SMALL, smallStreamConfig } from '../../../unit/pipelines/streaming/stream-fixtures.js';
import { createStreamEnv, produceEvents, type StreamEnv } from './stream-env.js';

describe('streaming training --idle-exit-seconds (real Kafka)', function () {
  this.timeout(300_000);
  let env: StreamEnv;

  before(async () => {
    env = await createStreamEnv(1);
  });
  after(async () => {
    await env?.cleanup();
  });

  it('counts idleness from the last trained batch: a batch that trains longer than the idle time does not end the run', async () => {
    const events = [...syntheticEvents({ ...SMALL, events: 20_000 })];
    await produceEvents(env, events);
    const base = smallStreamConfig(env.dir);
    const slowStepMs = 25;
    const started = Date.now();
    const result = await Promise.race([
      runTrainStream({ ...base, stream: { ...base.stream, groupId: env.groupId } }, {
        kafka: env.kafka, registry: env.registry, topic: env.topic, idleExitMs: 2000,
        // A slow machine: each micro-batch takes ≥ 25 ms more, so one fetched batch (thousands of events) trains for seconds.
        onScored: () => { const until = Date.now() + slowStepMs; while (Date.now() < until); },
      }),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the run did not end within 240 s')), 240_000)),
    ]);
    assert.deepEqual(result.status.ledger.partitions, { 0: [[0, events.length]] }, `every message consumed before the idle exit (after ${Date.now() - started} ms)`);
    assert.equal(result.status.counters.events + result.status.counters.invalid, events.length);
  });
});
