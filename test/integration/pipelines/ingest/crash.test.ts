import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { syntheticEvents } from '../../../../features/datasets/synthetic.js';
import type { Event } from '../../../../features/events/event-schema.js';
import { loadFeatureSpec } from '../../../../features/spec/feature-spec.js';
import { EventProducer } from '../../../../pipelines/ingest/event-producer.js';
import { eventKey } from '../../../../pipelines/ingest/events-kind.js';
import { DEFAULT_FEATURES_FILE } from '../../../../pipelines/ingest/ingest-config.js';
import { storedPositions } from '../../../../pipelines/ingest/offline-store.js';
import { onlineSpecFrom } from '../../../../pipelines/online-store/online-ops.js';
import { readWatermarks, storedBuckets } from '../../../../pipelines/online-store/redis-online-store.js';
import { redisKeys } from '../../../../pipelines/online-store/redis-keys.js';
import { spawnTs } from './child.js';
import { committedOffsets, createIngestEnv, waitForDrained, type IngestEnv } from './ingest-env.js';
import { assertStoresHoldExactly } from './online-store-assert.js';

const RUNNER = fileURLToPath(new URL('./fixtures/run-ingest.ts', import.meta.url));

/** The store in buckets, as on a Redis Cluster: each kill leaves every bucket's watermark to be checked on its own. */
const BUCKETS = 4;

describe('ingestion survives kill -9 mid-batch (real services)', function () {
  this.timeout(600_000);
  const spec = onlineSpecFrom(loadFeatureSpec(DEFAULT_FEATURES_FILE));
  const events: Event[] = [...syntheticEvents({ events: 100_000, users: 1000, items: 2000, seed: 11 })];
  let env: IngestEnv;

  before(async () => {
    env = await createIngestEnv({ partitions: 4 });
    const producer = new EventProducer(env.services.kafka, env.topic, { batchSize: 2000 });
    await producer.connect();
    for (const e of events) await producer.send({ key: eventKey(e), value: JSON.stringify(e) });
    await producer.close();
  });

  after(async () => {
    await env?.cleanup();
  });

  it(`${events.length} events, 3 kills each while a written batch is uncommitted → every event once in both stores`, async () => {
    for (let kill = 1; kill <= 3; kill++) {
      const child = spawnTs(RUNNER, [], { ...env.env, ONLINE_STORE_BUCKETS: String(BUCKETS), HOLD_BEFORE_COMMIT_MS: '1500', MAX_FLUSH: '5000', MAX_BYTES_PER_PARTITION: '100000', NODE_ENV: 'test' });
      // Let `kill` flushes commit first, so the kills land at different points of the run.
      const written = await child.waitForLine<{ written?: { partition: number; lastOffset: number }[] }>((l) => l.written !== undefined, 120_000, kill + 1);
      assert.equal(child.lines.filter((l) => (l as { committed?: number }).committed !== undefined).length, kill, 'flushes committed before this kill');
      // The batch is in ClickHouse and Redis, and its offsets are not committed: assert it from the stores themselves.
      const committed = await committedOffsets(env.admin, env.groupId, env.topic);
      const stored = await storedPositions(env.db);
      const watermarks = await readWatermarks(env.redis, redisKeys(env.prefix, BUCKETS), env.topic, [0, 1, 2, 3]);
      const inFlight = written.written!.filter((p) => (stored.get(p.partition) ?? -1) >= Math.max(0, committed.get(p.partition) ?? 0) && Math.min(...watermarks.get(p.partition)!) >= p.lastOffset);
      assert.ok(inFlight.length > 0, `kill ${kill}: a partition written beyond its committed offset (committed ${JSON.stringify([...committed])}, stored ${JSON.stringify([...stored])})`);
      for (const p of inFlight) assert.ok((committed.get(p.partition) ?? -1) <= p.lastOffset, `kill ${kill}: partition ${p.partition} not committed past the batch`);
      child.process.kill('SIGKILL');
      const exit = await child.exited;
      assert.equal(exit.signal, 'SIGKILL');
    }
    // A clean run drains the rest.
    const last = spawnTs(RUNNER, [], { ...env.env, ONLINE_STORE_BUCKETS: String(BUCKETS), NODE_ENV: 'test' });
    await waitForDrained(env.admin, env.groupId, env.topic, 300_000);
    last.process.kill('SIGTERM');
    assert.equal((await last.exited).code, 0);

    await assertStoresHoldExactly(env, spec, events, 31 * 86_400_000);
    assert.equal(await storedBuckets(env.redis, env.prefix), BUCKETS, 'the store recorded its layout');
    const final = await readWatermarks(env.redis, redisKeys(env.prefix, BUCKETS), env.topic, [0, 1, 2, 3]);
    for (const [p, marks] of final) assert.equal(new Set(marks).size, 1, `partition ${p}: every bucket at the same watermark (${marks.join(', ')})`);
  });
});
