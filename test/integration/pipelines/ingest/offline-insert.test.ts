import assert from 'node:assert/strict';
import type { Event } from '../../../../features/events/event-schema.js';
import { syntheticEvents } from '../../../../features/datasets/synthetic.js';
import { loadServicesConfig } from '../../../../infra/config.js';
import { createClickHouse } from '../../../../infra/clickhouse/clickhouse-client.js';
import { sqlIdentifier } from '../../../../infra/clickhouse/escape.js';
import { migrate } from '../../../../infra/clickhouse/migrate.js';
import { eventRow, pushRow, type TableRows } from '../../../../pipelines/ingest/offline-rows.js';
import { compareStored, readEvents } from '../../../../pipelines/ingest/offline-store.js';
import { randomName } from '../../../helpers/names.js';

describe('offline store inserts as TabSeparated on the 18.16 server', function () {
  this.timeout(60_000);

  it('reads back every event, including awkward strings, as it was', async () => {
    const base = loadServicesConfig().clickhouse;
    const database = randomName('test_tsv');
    const admin = createClickHouse(base, { database: null });
    const db = createClickHouse({ ...base, database });
    try {
      await migrate({ admin, db }, database);
      const awkward = ['tab\there', 'line\nbreak', 'back\\slash', 'cr\rlf', 'quote " \' and ünïcödé ✓', '\\N', ''];
      const events: Event[] = [...syntheticEvents({ events: 500, users: 20, items: 30, seed: 3 })].map((e, i) =>
        e.type === 'impression' && i % 3 === 0 ? { ...e, request_id: `r${awkward[i % awkward.length]}`, context: { device: awkward[i % awkward.length]!, pos: i } } : e,
      );
      const rows: TableRows = new Map();
      events.forEach((e, i) => {
        const { table, row } = eventRow(e, { partition: 0, offset: i });
        pushRow(rows, table, row);
      });
      for (const [table, r] of rows) await db.insert(table, r, { columns: Object.keys(r[0]!) });
      const stored: Event[] = [];
      for await (const e of readEvents(db, { windowMs: 365 * 86_400_000 })) stored.push(e);
      assert.deepEqual(stored, [...events].sort(compareStored));
    } finally {
      await admin.command(`DROP DATABASE IF EXISTS ${sqlIdentifier(database)}`).catch(() => {});
      await Promise.all([admin.close(), db.close()]);
    }
  });
});
