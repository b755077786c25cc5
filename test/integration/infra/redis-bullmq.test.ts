// integration services: redis
import assert from 'node:assert/strict';
import { Queue, QueueEvents, Worker, type Job } from 'bullmq';
import { loadServicesConfig } from '../../../infra/config.js';
import { createRedis, type Redis } from '../../../infra/redis/redis-client.js';
import { randomName } from '../../helpers/names.js';

describe('Redis and BullMQ (real server)', () => {
  const config = loadServicesConfig().redis;
  let redis: Redis;

  before(() => { redis = createRedis(config); });
  after(async () => { await redis.quit(); });

  it('sets and gets a value with an expiry', async () => {
    const key = randomName('test:key');
    await redis.set(key, 'v1', 'EX', 60);
    assert.equal(await redis.get(key), 'v1');
    const ttl = await redis.ttl(key);
    assert.ok(ttl > 0 && ttl <= 60, `ttl ${ttl}`);
    await redis.del(key);
    assert.equal(await redis.get(key), null);
  });

  it('runs a BullMQ job end to end with progress and a result', async () => {
    const name = randomName('test-queue');
    // BullMQ does not close connections it is handed: the test owns and closes them.
    const connections = [createRedis(config), createRedis(config), createRedis(config)];
    const [connection, eventsConnection, workerConnection] = connections as [Redis, Redis, Redis];
    const queue = new Queue(name, { connection });
    const events = new QueueEvents(name, { connection: eventsConnection });
    const worker = new Worker(name, async (job: Job<{ n: number }>) => {
      let sum = 0;
      for (let i = 1; i <= job.data.n; i++) {
        sum += i;
        await job.updateProgress(Math.round((100 * i) / job.data.n));
      }
      return { sum };
    }, { connection: workerConnection, lockDuration: 5000 });
    const progress: number[] = [];
    events.on('progress', ({ data }) => progress.push(Number(data)));
    try {
      await events.waitUntilReady();
      const job = await queue.add('sum', { n: 4 });
      const result = await job.waitUntilFinished(events, 15_000);
      assert.deepEqual(result, { sum: 10 });
      assert.deepEqual(progress.slice(-1), [100]);
      assert.equal(await job.getState(), 'completed');
    } finally {
      await worker.close();
      await events.close();
      await queue.obliterate({ force: true });
      await queue.close();
      await Promise.all(connections.map((c) => c.quit().catch(() => {})));
    }
  });
});
