import assert from 'node:assert/strict';
import { loadServicesConfig } from '../../../infra/config.js';
import { ValidationError } from '../../../infra/errors.js';

describe('services config', () => {
  it('defaults to the local services on loopback', () => {
    const config = loadServicesConfig({});
    assert.deepEqual(config.kafka.brokers, ['127.0.0.1:9092']);
    assert.equal(config.clickhouse.url, 'http://127.0.0.1:8123');
    assert.equal(config.clickhouse.database, 'recsys');
    assert.equal(config.redis.url, 'redis://127.0.0.1:6379');
  });

  it('follows the port variables the service scripts use', () => {
    const config = loadServicesConfig({ KAFKA_PORT: '19092', CLICKHOUSE_HTTP_PORT: '18123', REDIS_PORT: '16379' });
    assert.deepEqual(config.kafka.brokers, ['127.0.0.1:19092']);
    assert.equal(config.clickhouse.url, 'http://127.0.0.1:18123');
    assert.equal(config.redis.url, 'redis://127.0.0.1:16379');
  });

  it('takes a broker list', () => {
    assert.deepEqual(loadServicesConfig({ KAFKA_BROKERS: 'a:1, b:2' }).kafka.brokers, ['a:1', 'b:2']);
  });

  it('names the field and the problem when a value is invalid', () => {
    assert.throws(() => loadServicesConfig({ CLICKHOUSE_DATABASE: 'drop table;' }), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.match(error.message, /clickhouse\.database: an identifier/);
      return true;
    });
    assert.throws(() => loadServicesConfig({ KAFKA_BROKERS: 'nohost' }), /kafka\.brokers\.0: host:port/);
    assert.throws(() => loadServicesConfig({ REDIS_URL: 'http://x' }), /redis\.url/);
  });

  it('names a ClickHouse cluster and one server per shard only when asked to', () => {
    assert.equal(loadServicesConfig({}).clickhouse.cluster, undefined);
    const config = loadServicesConfig({ CLICKHOUSE_CLUSTER: 'recsys_cluster', CLICKHOUSE_SHARD_URLS: 'http://127.0.0.1:18123, http://127.0.0.1:18125' }).clickhouse;
    assert.equal(config.cluster, 'recsys_cluster');
    assert.deepEqual(config.shardUrls, ['http://127.0.0.1:18123', 'http://127.0.0.1:18125']);
    assert.throws(() => loadServicesConfig({ CLICKHOUSE_CLUSTER: 'a b' }), /clickhouse\.cluster: a cluster name/);
  });
});
