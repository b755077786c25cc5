import assert from 'node:assert/strict';
import { clusterStatements, shardingKey } from '../../../infra/clickhouse/cluster-ddl.js';
import { loadMigrations } from '../../../infra/clickhouse/migrate.js';

const target = { database: 'recsys', cluster: 'recsys_cluster' };

describe('cluster form of the migrations (infra/clickhouse/cluster-ddl.ts)', () => {
  it('has a cluster form for every statement of the shipped migrations', () => {
    for (const m of loadMigrations()) {
      for (const statement of m.statements) assert.ok(clusterStatements(statement, target).length >= 1, `${m.version}_${m.name}`);
    }
  });

  it('turns a table into a replicated local table and a Distributed table sharded by user', () => {
    const [local, dist] = clusterStatements(
      'CREATE TABLE IF NOT EXISTS events\n(\n    event_id String,\n    user_id String,\n    ts UInt64\n)\nENGINE = ReplacingMergeTree()\nORDER BY (user_id, ts, event_id)',
      target,
    );
    assert.equal(local!.on, 'entry');
    assert.match(local!.sql, /^CREATE TABLE IF NOT EXISTS `recsys`\.`events_local` ON CLUSTER `recsys_cluster`/);
    assert.match(local!.sql, /ENGINE = ReplicatedReplacingMergeTree\('\/clickhouse\/tables\/\{shard\}\/recsys\/events_local', '\{replica\}'\)\nORDER BY \(user_id, ts, event_id\)$/);
    assert.equal(dist!.sql, 'CREATE TABLE IF NOT EXISTS `recsys`.`events` ON CLUSTER `recsys_cluster` AS `recsys`.`events_local` ENGINE = Distributed(`recsys_cluster`, `recsys`, `events_local`, sipHash64(`user_id`))');
  });

  it('runs a replicated ALTER once per shard and the Distributed one on every server', () => {
    const [local, dist] = clusterStatements('ALTER TABLE events ADD COLUMN label Nullable(UInt8) AFTER value', target);
    assert.deepEqual(local, { sql: 'ALTER TABLE `recsys`.`events_local` ADD COLUMN label Nullable(UInt8) AFTER value', on: 'each-shard' });
    assert.deepEqual(dist, { sql: 'ALTER TABLE `recsys`.`events` ON CLUSTER `recsys_cluster_nodes` ADD COLUMN label Nullable(UInt8) AFTER value', on: 'entry' });
  });

  it('points a materialized view at the local tables', () => {
    const [view] = clusterStatements("CREATE MATERIALIZED VIEW IF NOT EXISTS outcomes_mv TO outcomes AS\nSELECT request_id FROM events\nWHERE request_id != ''", target);
    assert.equal(view!.sql, "CREATE MATERIALIZED VIEW IF NOT EXISTS `recsys`.`outcomes_mv` ON CLUSTER `recsys_cluster` TO `recsys`.`outcomes_local` AS SELECT request_id FROM `recsys`.`events_local`\nWHERE request_id != ''");
  });

  it('shards a table without users by the first column of its sorting key', () => {
    assert.equal(shardingKey('t', '\n    item_id String,\n    ts UInt64\n', '\nORDER BY (item_id, ts)'), 'sipHash64(`item_id`)');
    assert.equal(shardingKey('t', '\n    version UInt32\n', '\nORDER BY version'), 'sipHash64(toString(`version`))');
  });

  it('refuses a statement it has no cluster form for, naming it', () => {
    assert.throws(() => clusterStatements('ALTER TABLE events DELETE WHERE 1', target), /no cluster form for this migration statement.*ALTER TABLE events DELETE/);
    assert.throws(() => clusterStatements('CREATE TABLE IF NOT EXISTS m (x UInt8) ENGINE = Memory', target), /no cluster form/);
  });
});
