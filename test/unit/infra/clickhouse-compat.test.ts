import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chdbVersion, createChdbClient } from '../../helpers/chdb-client.js';
import { loadMigrations, migrate } from '../../../infra/clickhouse/migrate.js';
import { sqlString } from '../../../infra/clickhouse/escape.js';
import { randomName } from '../../helpers/names.js';

/**
 * Production servers are current ClickHouse releases while this machine runs
 * 18.16: the same product code runs here on embedded chdb (ClickHouse 26.x).
 * The integration suite runs it on the 18.16 server.
 */
describe('SQL compatibility with current ClickHouse (chdb)', function () {
  this.timeout(60_000);

  it('is really a current release', () => {
    assert.ok(Number(chdbVersion().split('.')[0]) >= 24, chdbVersion());
  });

  it('applies every migration, then none on a second run', async () => {
    const database = randomName('compat');
    const clients = { admin: createChdbClient(null), db: createChdbClient(database) };
    const first = await migrate(clients, database);
    assert.deepEqual(first.applied.map((m) => m.version), loadMigrations().map((m) => m.version));
    const second = await migrate(clients, database);
    assert.equal(second.applied.length, 0);
    assert.equal(second.alreadyApplied.length, first.applied.length);
  });

  it('refuses a migration edited after it was applied', async () => {
    const database = randomName('compat');
    const clients = { admin: createChdbClient(null), db: createChdbClient(database) };
    const [first] = loadMigrations();
    await migrate(clients, database, [first!]);
    await assert.rejects(migrate(clients, database, [{ ...first!, checksum: 'edited' }]), /changed after it was applied/);
  });

  it('round-trips any string through sqlString', async () => {
    const db = createChdbClient(null);
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 40 }), async (value) => {
        const [row] = await db.query<{ v: string }>(`SELECT ${sqlString(value)} AS v`);
        assert.equal(row?.v, value);
      }),
      { numRuns: 200 },
    );
  });
});
