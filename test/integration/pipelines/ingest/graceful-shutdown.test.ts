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
import { readWatermarks } from '../../../../pipelines/online-store/redis-online-store.js';
import { redisKeys } from '../../../../pipelines/online-store/redis-keys.js';
import { waitFor } from '../../../helpers/wait-for.js';
import { spawnTs } from './child.js';
import { committedOffsets, createIngestEnv, endOffsets, waitForDrained, type IngestEnv } from './ingest-env.js';
import { assertStoresHoldExactly } from './online-store-assert.js';

const CLI = fileURLToPath(new URL('./fixtures/recsys-cli.ts', import.meta.url));

describe('recsys ingest: graceful shutdown on SIGTERM (real services)', function () {
  this.timeout(300_000);
  const spec = onlineSpecFrom(loadFeatureSpec(DEFAULT_FEATURES_FILE));
  const events: Event[] = [...syntheticEvents({ events: 60_000, users: 600, items: 1000, seed: 13 })];
  let env: IngestEnv;

  before(async () => {
    env = await createIngestEnv({ partitions: 4 });
  });

  after(async () => {
    await env?.cleanup();
  });

  it('stops fetching, finishes and commits the flushes in flight, exits 0; nothing is stored beyond the commit', async () => {
    // Events keep arriving while it runs (small fetches, many flushes, three in flight): at any moment some flush is being written.
    const child = spawnTs(CLI, ['ingest', '--max-batch', '500', '--flushes-in-flight', '3'], { ...env.env, NODE_ENV: 'test', LOG_LEVEL: 'info' });
    await waitFor(() => child.stderr.some((l) => /"msg":"ingesting"/.test(l)), { timeoutMs: 60_000, what: 'the consumer to start' });
    const producing = (async () => {
      const producer = new EventProducer(env.services.kafka, env.topic, { batchSize: 500 });
      await producer.connect();
      for (let i = 0; i < events.length; i++) {
        await producer.send({ key: eventKey(events[i]!), value: JSON.stringify(events[i]) });
        if (i % 500 === 499) await new Promise((r) => setTimeout(r, 15));
      }
      await producer.close();
    })();
    const total = async () => [...(await committedOffsets(env.admin, env.groupId, env.topic)).values()].reduce((a, b) => a + Math.max(0, b), 0);
    await waitFor(async () => (await total()) >= 10_000, { timeoutMs: 120_000, intervalMs: 20, what: '10,000 messages committed' });
    child.process.kill('SIGTERM');
    const exit = await Promise.race([child.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no exit within 30 s of SIGTERM')), 30_000))]);
    assert.equal(exit.code, 0, child.stderr.slice(-5).join('\n'));
    assert.ok(!child.stderr.some((l) => /abandoned uncommitted/.test(l)), 'no flush abandoned');

    await producing;
    const committed = await committedOffsets(env.admin, env.groupId, env.topic);
    const ends = await endOffsets(env.admin, env.topic);
    assert.ok([...ends].some(([p, end]) => (committed.get(p) ?? 0) < end), 'stopped mid-run');
    const stored = await storedPositions(env.db);
    const watermarks = await readWatermarks(env.redis, redisKeys(env.prefix), env.topic, [0, 1, 2, 3]);
    for (const p of [0, 1, 2, 3]) {
      const next = committed.get(p) ?? -1;
      if (next < 0) continue;
      assert.equal(stored.get(p) ?? -1, next - 1, `partition ${p}: ClickHouse holds exactly up to the commit`);
      assert.deepEqual(watermarks.get(p), [next - 1], `partition ${p}: Redis holds exactly up to the commit (its one bucket)`);
    }

    // A new run drains the rest: every event once in both stores.
    const rest = spawnTs(CLI, ['ingest'], { ...env.env, NODE_ENV: 'test' });
    await waitForDrained(env.admin, env.groupId, env.topic, 180_000);
    rest.process.kill('SIGTERM');
    assert.equal((await rest.exited).code, 0);
    await assertStoresHoldExactly(env, spec, events, 31 * 86_400_000);
  });
});
