import assert from 'node:assert/strict';
import { createClickHouse } from '../../../infra/clickhouse/clickhouse-client.js';
import { sqlString } from '../../../infra/clickhouse/escape.js';
import type { SqlClient } from '../../../infra/clickhouse/sql-client.js';
import { REPLAY_RESULTS_TABLE, type ReplayResultRow } from '../../../pipelines/replay/replay-results.js';
import { randomName } from '../../helpers/names.js';
import { clusterConfig, requireCluster, dropClusterDatabase, migrateCluster } from '../clickhouse/cluster-env.js';

/**
 * A replay job is `completed` once its worker's insert returned, and the
 * next thing anyone does is read its rows (`recsys replay result`). On the
 * 2 × 2 cluster, the insert goes to one replica of the row's shard and a
 * read through the Distributed table may pick the other, which has not
 * fetched the part yet: the product's client must read its own writes.
 */
describe('cluster: a row written through a Distributed table is read back at once', function () {
  this.timeout(120_000);
  const database = randomName('test_replaycl_ryw');
  let db: SqlClient;

  before(async () => {
    await requireCluster();
    await migrateCluster(database);
    db = createClickHouse(clusterConfig(database));
  });
  after(async () => {
    await db?.close();
    await dropClusterDatabase(database).catch((error: unknown) => console.error(`cleanup: DROP DATABASE ${database} ON CLUSTER failed: ${String(error)}`));
  });

  it('30 result rows, each inserted then read at once (both shards): every one is seen', async () => {
    const missed: string[] = [];
    for (let i = 0; i < 30; i++) {
      // Job ids shard by sipHash64(job_id): 30 of them land on both shards.
      const row: ReplayResultRow = { job_id: `job-${i}`, arm: 'a', model: 'm@1', metric: 'auc', value: 0.5, lo: null, hi: null, ess: null, max_weight: null, clip_rate: null, support: null, verdict: '', note: '', n: 1, window_from: 1, window_to: 2 };
      await db.insert(REPLAY_RESULTS_TABLE, [row as unknown as Record<string, unknown>]);
      const [seen] = await db.query<{ n: number }>(`SELECT count() AS n FROM ${REPLAY_RESULTS_TABLE} FINAL WHERE job_id = ${sqlString(row.job_id)}`);
      if (Number(seen!.n) !== 1) missed.push(row.job_id);
    }
    assert.deepEqual(missed, [], 'rows not seen right after their insert');
  });
});
