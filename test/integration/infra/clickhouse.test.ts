import assert from 'node:assert/strict';
import { loadServicesConfig } from '../../../infra/config.js';
import { createClickHouse } from '../../../infra/clickhouse/clickhouse-client.js';
import { loadMigrations, migrate } from '../../../infra/clickhouse/migrate.js';
import { sqlIdentifier } from '../../../infra/clickhouse/escape.js';
import { randomName } from '../../helpers/names.js';

describe('ClickHouse (real server)', () => {
  const database = randomName('test_ch');
  const config = { ...loadServicesConfig().clickhouse, database };
  const admin = createClickHouse(config, { database: null });
  const db = createClickHouse(config);

  after(async () => {
    await admin.command(`DROP DATABASE IF EXISTS ${sqlIdentifier(database)}`);
    await Promise.all([admin.close(), db.close()]);
  });

  it('applies every migration once, then nothing on a second run', async () => {
    const first = await migrate({ admin, db }, database);
    assert.deepEqual(first.applied.map((m) => m.version), loadMigrations().map((m) => m.version));
    const second = await migrate({ admin, db }, database);
    assert.equal(second.applied.length, 0);
    const recorded = await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    assert.deepEqual(recorded.map((r) => r.version), first.applied.map((m) => m.version));
  });

  it('inserts events and reads them back with 64-bit integers as numbers', async () => {
    const rows = Array.from({ length: 1000 }, (_, i) => ({
      event_id: `e${i}`, event_type: i % 2 ? 'click' : 'impression', ts: 1_700_000_000_000 + i * 1000,
      user_id: `u${i % 10}`, item_id: `i${i % 37}`, value: i % 2, request_id: '', context: '{}', schema_version: 1,
    }));
    await db.insert('events', rows);
    const [stats] = await db.query<{ n: number; clicks: number; max_ts: number }>(
      "SELECT count() AS n, countIf(event_type = 'click') AS clicks, max(ts) AS max_ts FROM events",
    );
    assert.deepEqual(stats, { n: 1000, clicks: 500, max_ts: 1_700_000_000_000 + 999_000 });
  });

  it('collapses a replayed event on merge (the ingestion guarantee rests on this)', async () => {
    const event = { event_id: 'dup', event_type: 'click', ts: 1_700_000_500_000, user_id: 'u-dup', item_id: 'i1', value: 1, request_id: '', context: '{}', schema_version: 1 };
    await db.insert('events', [event]);
    await db.insert('events', [event]);
    const [final] = await db.query<{ n: number }>("SELECT count() AS n FROM events FINAL WHERE user_id = 'u-dup'");
    assert.equal(final?.n, 1);
  });

  it('reports SQL errors as non-retriable with the server message', async () => {
    await assert.rejects(db.query('SELECT no_such_column FROM events'), (error: Error & { retriable?: boolean }) => {
      assert.match(error.message, /no_such_column/);
      assert.equal(error.retriable, false);
      return true;
    });
  });
});
