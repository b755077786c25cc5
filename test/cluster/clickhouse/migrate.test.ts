import assert from 'node:assert/strict';
import { createClickHouse } from '../../../infra/clickhouse/clickhouse-client.js';
import { loadMigrations, migrate } from '../../../infra/clickhouse/migrate.js';
import { randomName } from '../../helpers/names.js';
import { waitFor } from '../../helpers/wait-for.js';
import { CLUSTER, NODES, clusterConfig, dropClusterDatabase, localCount, migrateCluster, nodeClient, requireCluster, shardOf, type NodeId } from './cluster-env.js';

/** Tables the migrations create (from their own SQL), views apart. */
const MIGRATION_TABLES = [
  'events', 'item_attributes', 'user_attributes', 'dead_letters', 'model_registry', 'decisions', 'decision_items', 'outcomes', 'replay_results',
];

describe('recsys migrate on the ClickHouse cluster (2 shards x 2 replicas)', function () {
  this.timeout(300_000);
  const database = randomName('test_cluster_migrate');

  before(async () => {
    await requireCluster();
  });

  after(async () => {
    await dropClusterDatabase(database).catch(() => {});
  });

  it('creates a replicated local table and a Distributed table per table on all four servers, and a ledger every server reads whole', async () => {
    const first = await migrateCluster(database);
    const versions = loadMigrations().map((m) => m.version);
    assert.deepEqual(first.applied.map((m) => m.version), versions);

    for (const n of NODES) {
      const client = nodeClient(n, database);
      try {
        const rows = await client.query<{ name: string; engine: string; engine_full: string }>(
          `SELECT name, engine, engine_full FROM system.tables WHERE database = '${database}'`,
        );
        const engines = new Map(rows.map((r) => [r.name, r]));
        for (const table of MIGRATION_TABLES) {
          assert.equal(engines.get(`${table}_local`)?.engine, 'ReplicatedReplacingMergeTree', `node ${n}: ${table}_local`);
          assert.match(engines.get(`${table}_local`)!.engine_full, new RegExp(`/clickhouse/tables/\\{shard\\}/${database}/${table}_local`));
          assert.equal(engines.get(table)?.engine, 'Distributed', `node ${n}: ${table}`);
          assert.match(engines.get(table)!.engine_full, new RegExp(`^Distributed\\(${CLUSTER}, ${database}, ${table}_local, sipHash64`));
        }
        assert.equal(engines.get('outcomes_mv')?.engine, 'MaterializedView', `node ${n}: outcomes_mv`);
        assert.equal(engines.get('schema_migrations')?.engine, 'ReplicatedReplacingMergeTree', `node ${n}: ledger`);
        // Later ALTERs reached both the local and the Distributed table.
        const columns = await client.query<{ table: string }>(
          `SELECT table FROM system.columns WHERE database = '${database}' AND name = 'features'`,
        );
        assert.deepEqual(columns.map((c) => c.table).sort(), ['decisions', 'decisions_local'], `node ${n}: 0007's column`);
        await client.command('SYSTEM SYNC REPLICA schema_migrations');
        const ledger = await client.query<{ version: number }>('SELECT version FROM schema_migrations FINAL ORDER BY version');
        assert.deepEqual(ledger.map((r) => Number(r.version)), versions, `node ${n}: ledger`);
      } finally {
        await client.close();
      }
    }
    // The sharding keys: a user's rows on one shard wherever the table has a user.
    const probe = nodeClient(4, database);
    try {
      const keys = await probe.query<{ name: string; sharding_key: string }>(
        `SELECT name, replaceRegexpOne(engine_full, '^Distributed\\\\([^,]+, [^,]+, [^,]+, (.*)\\\\)$', '\\\\1') AS sharding_key FROM system.tables WHERE database = '${database}' AND engine = 'Distributed'`,
      );
      const byTable = Object.fromEntries(keys.map((k) => [k.name, k.sharding_key]));
      for (const table of ['events', 'user_attributes', 'decisions', 'decision_items', 'outcomes']) assert.equal(byTable[table], 'sipHash64(user_id)', table);
      assert.equal(byTable.item_attributes, 'sipHash64(item_id)');
    } finally {
      await probe.close();
    }
  });

  it('is idempotent from any server: a second run through shard 2 applies nothing', async () => {
    const again = await migrateCluster(database, 3);
    assert.deepEqual(again.applied, []);
    assert.equal(again.alreadyApplied.length, loadMigrations().length);
  });

  it('reads through the Distributed tables from any server, each user on one shard, each shard on both replicas', async () => {
    const users = 200;
    const rows = Array.from({ length: 2000 }, (_, i) => ({
      event_id: `e${i}`, event_type: 'click', ts: 1_764_000_000_000 + i, user_id: `u${i % users}`, item_id: `i${i % 37}`,
      value: null, label: 1, request_id: i % 4 === 0 ? `r${i}` : '', context: '{}', schema_version: 1,
    }));
    const writer = nodeClient(2, database);
    try {
      await writer.insert('events', rows);
    } finally {
      await writer.close();
    }
    // Replication is asynchronous: a server reading its own replica of a
    // shard sees a write made through its sibling once it has fetched the part
    // (read-your-writes across servers would take insert_quorum, which stops
    // inserts while a replica is down).
    for (const n of NODES) {
      const reader = nodeClient(n, database);
      try {
        const seen = await waitFor(async () => {
          const [row] = await reader.query<{ n: number; u: number }>('SELECT count() AS n, uniqExact(user_id) AS u FROM events FINAL');
          return Number(row!.n) === rows.length ? Number(row!.u) : undefined;
        }, { timeoutMs: 30_000, intervalMs: 100, what: `node ${n} to read all ${rows.length} events through the Distributed table` });
        assert.equal(seen, users, `users read through node ${n}`);
        // The materialized view fired once per row, on the shard that took it.
        await waitFor(async () => {
          const [outcomes] = await reader.query<{ n: number }>('SELECT count() AS n FROM outcomes FINAL');
          return Number(outcomes!.n) === rows.length / 4;
        }, { timeoutMs: 30_000, intervalMs: 100, what: `node ${n} to read ${rows.length / 4} outcomes` });
      } finally {
        await reader.close();
      }
    }
    const perNode = new Map<NodeId, number>();
    for (const n of NODES) perNode.set(n, await localCount(n, database, 'events'));
    assert.equal(perNode.get(1), perNode.get(2), 'shard 1 replicas agree');
    assert.equal(perNode.get(3), perNode.get(4), 'shard 2 replicas agree');
    assert.equal(perNode.get(1)! + perNode.get(3)!, rows.length, 'shards partition the rows');
    assert.ok(perNode.get(1)! > 0 && perNode.get(3)! > 0, `both shards hold rows: ${[...perNode]}`);

    const usersOn = async (n: NodeId) => {
      const client = nodeClient(n, database);
      try {
        return new Set((await client.query<{ user_id: string }>('SELECT DISTINCT user_id FROM events_local')).map((r) => r.user_id));
      } finally {
        await client.close();
      }
    };
    const [shard1, shard2] = [await usersOn(1), await usersOn(3)];
    assert.equal(shard1.size + shard2.size, users, 'every user on exactly one shard');
    assert.deepEqual([...shard1].filter((u) => shard2.has(u)), []);
    assert.equal(shardOf(1), 1);
  });

  it('refuses the other form on a migrated database, and a cluster the servers do not define', async () => {
    const config = clusterConfig(database);
    const admin = createClickHouse(config, { database: null });
    const db = createClickHouse(config);
    try {
      await assert.rejects(migrate({ admin, db }, database), /holds a cluster schema.*set CLICKHOUSE_CLUSTER/);
      await assert.rejects(migrate({ admin, db, cluster: 'no_such_cluster' }, randomName('test_cluster_none')), /no cluster no_such_cluster, no_such_cluster_nodes/);
      // Both servers of shard 1: shard 2's replicated tables would miss every ALTER.
      const sameShard = [nodeClient(1, database), nodeClient(2, database)];
      try {
        await assert.rejects(migrate({ admin, db, cluster: CLUSTER, shards: sameShard }, database), /has 2 shards: CLICKHOUSE_SHARD_URLS must name one server of each \(got 2, with shard macros \[01, 01\]\)/);
      } finally {
        await Promise.all(sameShard.map((c) => c.close()));
      }
    } finally {
      await Promise.all([admin.close(), db.close()]);
    }
  });
});
