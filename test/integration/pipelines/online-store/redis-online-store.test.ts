import { loadServicesConfig } from '../../../../infra/config.js';
import { createRedis, type Redis } from '../../../../infra/redis/redis-client.js';
import { RedisOnlineStore, RedisOnlineWriter } from '../../../../pipelines/online-store/redis-online-store.js';
import { redisKeys } from '../../../../pipelines/online-store/redis-keys.js';
import { onlineStoreConformance } from '../../../helpers/conformance/online-store.js';
import { randomName } from '../../../helpers/names.js';
import { deleteKeys } from '../../../helpers/delete-keys.js';

/** Each store under a key prefix of its own on the shared Redis, its keys deleted afterwards (never a flush). */
describe('Redis online store against the shared server', () => {
  let redis: Redis;
  before(() => {
    redis = createRedis(loadServicesConfig().redis);
  });
  after(() => {
    redis.disconnect();
  });

  for (const buckets of [1, 4]) {
    onlineStoreConformance(`Redis, ${buckets} bucket(s)`, async (spec) => {
      const prefix = `${randomName('test_conf_online')}:`;
      await redis.set(redisKeys(prefix).layout(), String(buckets));
      const writer = new RedisOnlineWriter(redis, prefix, spec.behaviour.maxLength, 0, buckets);
      let watermark = -1;
      return {
        store: new RedisOnlineStore(redis, prefix, spec.behaviour.maxLength),
        async apply(ops) {
          if (!(await writer.applyOps('conformance', 0, watermark, ops))) throw new Error(`the chunk after offset ${watermark} was not applied`);
          watermark++;
        },
        async cleanup() {
          await deleteKeys(redis, `${prefix}*`);
        },
      };
    });
  }
});
