import assert from 'node:assert/strict';
import { loadServicesConfig } from '../../../../infra/config.js';
import { createRedis, type Redis } from '../../../../infra/redis/redis-client.js';
import { emptyOps } from '../../../../pipelines/online-store/online-ops.js';
import { RedisOnlineStore, RedisOnlineWriter } from '../../../../pipelines/online-store/redis-online-store.js';
import { randomName } from '../../../helpers/names.js';

describe('online store: an entity whose update time field holds an attribute (shared Redis, own prefix)', () => {
  let redis: Redis;
  const prefix = `${randomName('test_reserved')}:`;

  before(() => {
    redis = createRedis(loadServicesConfig().redis);
  });

  after(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('keeps applying updates to it (the script reads a non-numeric _ts as absent instead of failing)', async () => {
    const writer = new RedisOnlineWriter(redis, prefix, 10);
    // As an update with an attribute named `_ts` left it before such names were refused.
    await redis.hset(writer.keys.attributes('user', 'u1'), '_ts', JSON.stringify('x'), 'color', JSON.stringify('red'));
    const ops = emptyOps();
    ops.attributes.push({ kind: 'user', id: 'u1', ts: 1_704_067_200_000, attributes: { color: 'blue' } });
    assert.equal(await writer.applyOps('t', 0, -1, ops), true);
    const state = await new RedisOnlineStore(redis, prefix, 10).user('u1');
    assert.deepEqual(state.attributes, { color: 'blue' });
  });
});
