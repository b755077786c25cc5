import assert from 'node:assert/strict';
import { loadServicesConfig, type ServicesConfig } from '../../../../infra/config.js';
import { createClickHouse } from '../../../../infra/clickhouse/clickhouse-client.js';
import { sqlIdentifier, sqlString } from '../../../../infra/clickhouse/escape.js';
import { migrate } from '../../../../infra/clickhouse/migrate.js';
import { createRedis, type Redis } from '../../../../infra/redis/redis-client.js';
import { ModelRegistry } from '../../../../pipelines/registry/model-registry.js';
import type { RegistryEvent } from '../../../../pipelines/registry/registry-notifier.js';
import { createServicesNotifier } from '../../../../pipelines/registry/services-notifier.js';
import { publishFakes, tempRegistry } from '../../../helpers/registry-fixtures.js';
import { randomName } from '../../../helpers/names.js';
import { waitFor } from '../../../helpers/wait-for.js';

interface Row {
  event_id: string;
  event_kind: string;
  model: string;
  version: number;
  alias: string;
  previous_version: number | null;
  parent_version: number | null;
  generation: number;
  model_type: string;
  trained_until: number | null;
  auc: number;
  offsets: string;
  actor: string;
  reason: string;
}

describe('model registry with ClickHouse and Redis (real services)', () => {
  const database = randomName('test_registry');
  const base = loadServicesConfig();
  const config: ServicesConfig = { ...base, clickhouse: { ...base.clickhouse, database } };
  const admin = createClickHouse(config.clickhouse, { database: null });
  const db = createClickHouse(config.clickhouse);
  const channel = randomName('test:models');
  let subscriber: Redis;
  const messages: RegistryEvent[] = [];

  before(async () => {
    await migrate({ admin, db }, database);
    subscriber = createRedis(config.redis);
    subscriber.on('message', (ch: string, message: string) => { if (ch === channel) messages.push(JSON.parse(message) as RegistryEvent); });
    await subscriber.subscribe(channel);
  });

  after(async () => {
    await subscriber.quit();
    await admin.command(`DROP DATABASE IF EXISTS ${sqlIdentifier(database)}`);
    await Promise.all([admin.close(), db.close()]);
  });

  it('publish, promote and rollback write metadata rows and notify subscribers', async () => {
    const root = tempRegistry();
    const notifier = createServicesNotifier(config, { channel });
    const registry = new ModelRegistry(root, { notifier });
    const model = randomName('din').toLowerCase();
    try {
      const published = await registry.publish({
        model, modelType: 'din', files: { 'dense.bin': new Uint8Array([1, 2, 3]) }, metrics: { auc: 0.81, logloss: 0.44, missing: null },
        trainedUntil: 1_700_000_123_456, extra: { offsets: { 'recsys.events': { 0: 100, 1: 97 } } },
      }, { actor: 'trainer' });
      assert.deepEqual(published.notified.map((o) => [o.sink, o.status]), [['clickhouse', 'sent'], ['redis', 'sent']]);
      await publishFakes(root, model, 1, () => ({ parent: 1 }));
      await registry.announce(model, 2, { actor: 'trainer' });

      const promoted = await registry.promote(model, 1, { actor: 'alice', reason: 'first' });
      assert.deepEqual(promoted.notified.map((o) => [o.sink, o.status]), [['clickhouse', 'sent'], ['redis', 'sent']]);
      assert.match(promoted.notified[1]!.detail, /published on .* \(1 subscriber\)/);
      await registry.promote(model, 2, { actor: 'alice', reason: 'second' });
      await registry.rollback(model, { actor: 'bob', reason: 'regressed' });

      // Re-sending an event (here: announcing v1 again) collapses onto the same key.
      await registry.announce(model, 1, { actor: 'trainer' });

      const rows = await db.query<Row>(
        `SELECT event_id, event_kind, model, version, alias, previous_version, parent_version, generation, model_type, trained_until, ` +
        `metric_values[indexOf(metric_names, 'auc')] AS auc, offsets, actor, reason ` +
        `FROM model_registry FINAL WHERE model = ${sqlString(model)} ORDER BY event_kind = 'publish' DESC, version, generation`,
      );
      assert.deepEqual(rows.map((r) => [r.event_id, r.event_kind, r.version, r.alias, r.previous_version, r.parent_version, r.generation, r.actor, r.reason]), [
        [`${model}:v1:publish`, 'publish', 1, '', null, null, 0, 'trainer', ''],
        [`${model}:v2:publish`, 'publish', 2, '', null, 1, 0, 'trainer', ''],
        [`${model}:serving:g1`, 'promote', 1, 'serving', null, null, 1, 'alice', 'first'],
        [`${model}:serving:g3`, 'rollback', 1, 'serving', 2, null, 3, 'bob', 'regressed'],
        [`${model}:serving:g2`, 'promote', 2, 'serving', 1, 1, 2, 'alice', 'second'],
      ]);
      const v1 = rows[0]!;
      assert.deepEqual([v1.model_type, v1.trained_until, v1.auc, JSON.parse(v1.offsets)], ['din', 1_700_000_123_456, 0.81, { 'recsys.events': { 0: 100, 1: 97 } }]);

      await waitFor(() => messages.length >= 6, { what: 'six registry messages on the channel' });
      assert.deepEqual(messages.map((m) => [m.kind, m.model, m.version, m.previous]), [
        ['publish', model, 1, null],
        ['publish', model, 2, null],
        ['promote', model, 1, null],
        ['promote', model, 2, 1],
        ['rollback', model, 1, 2],
        ['publish', model, 1, null],
      ]);
      assert.deepEqual([messages[2]!.actor, messages[2]!.reason, messages[2]!.metrics.auc, messages[2]!.alias], ['alice', 'first', 0.81, 'serving']);
    } finally {
      await notifier.close();
    }
  });

  it('unreachable services are skipped and a missing table is reported, the folder change stands either way', async () => {
    const root = tempRegistry();
    await publishFakes(root, 'din-a', 2);
    const unreachable: ServicesConfig = {
      ...config,
      clickhouse: { ...config.clickhouse, url: 'http://127.0.0.1:1' },
      redis: { ...config.redis, url: 'redis://127.0.0.1:1' },
    };
    const down = createServicesNotifier(unreachable, { channel, timeoutMs: 2000 });
    try {
      const started = Date.now();
      const change = await new ModelRegistry(root, { notifier: down }).promote('din-a', 1, { actor: 'a' });
      assert.deepEqual(change.notified.map((o) => [o.sink, o.status]), [['clickhouse', 'skipped'], ['redis', 'skipped']]);
      assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    } finally {
      await down.close();
    }

    const unmigrated: ServicesConfig = { ...config, clickhouse: { ...config.clickhouse, database: randomName('test_no_such_db') } };
    const noTable = createServicesNotifier(unmigrated, { channel });
    try {
      const change = await new ModelRegistry(root, { notifier: noTable }).promote('din-a', 2, { actor: 'a' });
      assert.equal(change.notified[0]!.status, 'failed');
      assert.match(change.notified[0]!.detail, /apply the migrations: recsys migrate/);
      assert.equal(change.notified[1]!.status, 'sent');
    } finally {
      await noTable.close();
    }
    assert.equal((await new ModelRegistry(root).serving('din-a'))!.version, 2);
  });
});
