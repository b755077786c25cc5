import assert from 'node:assert/strict';
import { Cluster, Redis as SingleRedis } from 'ioredis';
import { loadServicesConfig } from '../../../../infra/config.js';
import { ValidationError } from '../../../../infra/errors.js';
import { assertClusterPrefix, createRedis, isCluster } from '../../../../infra/redis/redis-client.js';

describe('Redis Cluster configuration', () => {
  it('REDIS_CLUSTER_NODES names the seed nodes; unset means the single Redis', () => {
    assert.deepEqual(loadServicesConfig({}).redis.clusterNodes, []);
    assert.deepEqual(loadServicesConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:17001, 127.0.0.1:17002' }).redis.clusterNodes, ['127.0.0.1:17001', '127.0.0.1:17002']);
    assert.throws(() => loadServicesConfig({ REDIS_CLUSTER_NODES: 'nohost' }), /redis\.clusterNodes\.0: host:port/);
  });

  it('on a cluster the default key prefix carries a hash tag; a given one without a tag is refused by name', () => {
    assert.equal(loadServicesConfig({}).redis.keyPrefix, 'recsys:');
    assert.equal(loadServicesConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:17001' }).redis.keyPrefix, '{recsys}:');
    assert.throws(() => assertClusterPrefix('recsys:'), (e: unknown) => e instanceof ValidationError && /REDIS_KEY_PREFIX 'recsys:' has no hash tag/.test(e.message));
    assert.doesNotThrow(() => assertClusterPrefix('{t1}:'));
    const config = loadServicesConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:17001', REDIS_KEY_PREFIX: 'plain:' }).redis;
    assert.throws(() => createRedis(config, { lazyConnect: true }), ValidationError);
  });

  it('createRedis makes a Cluster client for cluster nodes and a plain client otherwise (no connection made)', () => {
    const single = createRedis(loadServicesConfig({}).redis, { lazyConnect: true });
    const cluster = createRedis(loadServicesConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:17001,127.0.0.1:17002' }).redis, { lazyConnect: true });
    try {
      assert.ok(single instanceof SingleRedis && !isCluster(single));
      assert.ok(cluster instanceof Cluster && isCluster(cluster));
      assert.deepEqual((cluster as unknown as { startupNodes: unknown }).startupNodes, [{ host: '127.0.0.1', port: 17001 }, { host: '127.0.0.1', port: 17002 }]);
      // BullMQ workers need it on every node connection.
      assert.equal(cluster.options.redisOptions?.maxRetriesPerRequest, null);
    } finally {
      single.disconnect();
      cluster.disconnect();
    }
  });

  it('KAFKA_REPLICATION_FACTOR and KAFKA_MIN_INSYNC_REPLICAS are optional positive integers', () => {
    assert.deepEqual([loadServicesConfig({}).kafka.replicationFactor, loadServicesConfig({}).kafka.minInsyncReplicas], [undefined, undefined]);
    const kafka = loadServicesConfig({ KAFKA_REPLICATION_FACTOR: '3', KAFKA_MIN_INSYNC_REPLICAS: '2' }).kafka;
    assert.deepEqual([kafka.replicationFactor, kafka.minInsyncReplicas], [3, 2]);
    assert.throws(() => loadServicesConfig({ KAFKA_REPLICATION_FACTOR: 'three' }), /kafka\.replicationFactor/);
  });
});
