import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Event } from '../../../../features/events/event-schema.js';
import { syntheticEvents } from '../../../../features/datasets/synthetic.js';
import { migrate } from '../../../../infra/clickhouse/migrate.js';
import { eventRow, pushRow, type TableRows } from '../../../../pipelines/ingest/offline-rows.js';
import { compareStored, readEvents } from '../../../../pipelines/ingest/offline-store.js';
import { createChdbClient } from '../../../helpers/chdb-client.js';
import { randomName } from '../../../helpers/names.js';

/**
 * Ingestion inserts TabSeparated rows (infra/clickhouse/tab-separated.ts);
 * the integration suite runs that on the 18.16 server, this on a current
 * ClickHouse (chdb): what the query layer reads back is what was inserted.
 */
describe('offline store inserts as TabSeparated on current ClickHouse (chdb)', function () {
  this.timeout(60_000);

  it('reads back every event, including awkward strings, as it was', async () => {
    const database = randomName('compat_tsv');
    const clients = { admin: createChdbClient(null), db: createChdbClient(database) };
    await migrate(clients, database);
    const awkward = ['tab\there', 'line\nbreak', 'back\\slash', 'cr\rlf', 'quote " \' and ünïcödé ✓', '\\N', ''];
    const events: Event[] = [...syntheticEvents({ events: 200, users: 20, items: 30, seed: 3 })].map((e, i) =>
      e.type === 'impression' && i % 3 === 0 ? { ...e, request_id: `r${awkward[i % awkward.length]}`, context: { device: awkward[i % awkward.length]!, pos: i } } : e,
    );
    const rows: TableRows = new Map();
    events.forEach((e, i) => {
      const { table, row } = eventRow(e, { partition: 0, offset: i });
      pushRow(rows, table, row);
    });
    for (const [table, r] of rows) await clients.db.insert(table, r, { columns: Object.keys(r[0]!) });
    const stored: Event[] = [];
    for await (const e of readEvents(clients.db, { windowMs: 365 * 86_400_000 })) stored.push(e);
    assert.deepEqual(stored, [...events].sort(compareStored));
  });

  it('round-trips any string through a TabSeparated insert', async () => {
    const database = randomName('compat_tsv');
    const admin = createChdbClient(null);
    await admin.command(`CREATE DATABASE ${database}`);
    const db = createChdbClient(database);
    await db.command('CREATE TABLE t (k UInt32, s String, n Nullable(String)) ENGINE = MergeTree ORDER BY k');
    let k = 0;
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.option(fc.string({ maxLength: 10 })), async (s, n) => {
        const key = k++;
        await db.insert('t', [{ k: key, s, n }], { columns: ['k', 's', 'n'] });
        const [row] = await db.query<{ s: string; n: string | null }>(`SELECT s, n FROM t WHERE k = ${key}`);
        assert.deepEqual(row, { s, n });
      }),
      { numRuns: 100 },
    );
  });
});
