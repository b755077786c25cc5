import assert from 'node:assert/strict';
import type { SqlClient } from '../../../infra/clickhouse/sql-client.js';
import { sqlIdentifier, sqlString } from '../../../infra/clickhouse/escape.js';
import { isRetriable } from '../../../infra/errors.js';
import { randomName } from '../names.js';

/** A client scoped to a database of its own, and how to remove that database. */
export interface SqlClientUnderTest {
  client: SqlClient;
  cleanup(): Promise<void>;
}

/**
 * Strings that break naive escaping in one of the two insert formats or in
 * the JSON of the answer: quotes, backslashes (also before a quote or a
 * letter TabSeparated escapes), tab, newline, carriage return, NUL and
 * other control characters, `\N` (TabSeparated's null), non-ASCII and astral
 * characters.
 */
export const AWKWARD_STRINGS: readonly string[] = [
  '',
  'plain',
  "it's",
  'say "hi"',
  'back\\slash',
  'ends in backslash\\',
  '\\"escaped quote\\"',
  '\\t not a tab, \\n not a newline',
  'tab\there',
  'new\nline',
  'carriage\rreturn\r\n',
  '\\N',
  'nul\u0000byte',
  'bell\u0007 and escape\u001b',
  '{"json":"inside \\"it\\"","n":[1,2]}',
  'ünïcödé, 中文, Ελληνικά',
  'emoji 🎉 and astral 𝔘',
  '\u2028line separator\u2029',
  ' leading and trailing spaces ',
];

/** A refused row: the message says why, and no retry is invited (a retry could never write it). */
const refused = (message: RegExp) => (error: unknown): boolean => {
  assert.match(String((error as Error).message), message);
  assert.equal(isRetriable(error), false, `retriable: ${String(error)}`);
  return true;
};

/**
 * The SqlClient contract (infra/clickhouse/sql-client.ts), run on every
 * implementation: the ClickHouse server over HTTP (integration) and embedded
 * chdb (unit). Each test gets a fresh client on a fresh database from `open`.
 */
export function sqlClientConformance(name: string, open: () => Promise<SqlClientUnderTest>): void {
  describe(`SqlClient conformance: ${name}`, function () {
    this.timeout(60_000);
    let under: SqlClientUnderTest | undefined;
    let db: SqlClient;

    beforeEach(async () => {
      under = await open();
      db = under.client;
    });
    afterEach(async () => {
      await under?.cleanup();
      under = undefined;
    });

    const createTable = async (columns: string): Promise<string> => {
      const table = randomName('conf');
      await db.command(`CREATE TABLE ${sqlIdentifier(table)} (${columns}) ENGINE = MergeTree ORDER BY id`);
      return table;
    };
    const readStrings = async (table: string) =>
      db.query<{ id: number; s: string; n: string | null }>(`SELECT id, s, n FROM ${sqlIdentifier(table)} ORDER BY id`);

    it('command runs DDL and query answers rows as JSON objects; a query without rows answers []', async () => {
      const table = await createTable('id UInt32, s String');
      assert.deepEqual(await db.query(`SELECT id, s FROM ${sqlIdentifier(table)}`), []);
      await db.command(`INSERT INTO ${sqlIdentifier(table)} SELECT number, toString(number * 2) FROM system.numbers LIMIT 3`);
      assert.deepEqual(await db.query(`SELECT id, s FROM ${sqlIdentifier(table)} ORDER BY id`), [
        { id: 0, s: '0' }, { id: 1, s: '2' }, { id: 2, s: '4' },
      ]);
    });

    it('answers UInt64 and Int64 values (count(), columns) as JavaScript numbers', async () => {
      const table = await createTable('id UInt64, big UInt64, neg Int64');
      const big = Number.MAX_SAFE_INTEGER;
      await db.insert(table, [{ id: 1, big, neg: -big }, { id: 2, big: 0, neg: -1 }]);
      const rows = await db.query<{ id: unknown; big: unknown; neg: unknown }>(`SELECT id, big, neg FROM ${sqlIdentifier(table)} ORDER BY id`);
      assert.deepEqual(rows, [{ id: 1, big, neg: -big }, { id: 2, big: 0, neg: -1 }]);
      const [count] = await db.query<{ n: unknown; s: unknown }>(`SELECT count() AS n, sum(big) AS s FROM ${sqlIdentifier(table)}`);
      assert.deepEqual(count, { n: 2, s: big });
    });

    it('round-trips awkward strings through a JSONEachRow insert', async () => {
      const table = await createTable('id UInt32, s String, n Nullable(String)');
      const rows = AWKWARD_STRINGS.map((s, id) => ({ id, s, n: id % 3 === 0 ? null : s }));
      await db.insert(table, rows);
      assert.deepEqual(await readStrings(table), rows);
    });

    it('round-trips awkward strings through a TabSeparated insert, columns in the order given (not the table\'s)', async () => {
      const table = await createTable('id UInt32, s String, n Nullable(String)');
      const rows = AWKWARD_STRINGS.map((s, id) => ({ id, s, n: id % 3 === 0 ? null : s }));
      await db.insert(table, rows, { columns: ['n', 's', 'id'] });
      assert.deepEqual(await readStrings(table), rows);
    });

    it('reads back through sqlString what it wrote (a literal in a WHERE clause finds its row)', async () => {
      const table = await createTable('id UInt32, s String, n Nullable(String)');
      await db.insert(table, AWKWARD_STRINGS.map((s, id) => ({ id, s, n: null })), { columns: ['id', 's', 'n'] });
      for (const [id, s] of AWKWARD_STRINGS.entries()) {
        const found = await db.query<{ id: number }>(`SELECT id FROM ${sqlIdentifier(table)} WHERE s = ${sqlString(s)}`);
        assert.deepEqual(found, [{ id }], JSON.stringify(s));
      }
    });

    it('writes numbers, booleans and nulls alike in both insert formats', async () => {
      const table = await createTable('id UInt32, f Float64, i Int32, b UInt8, n Nullable(Int64)');
      const rows = [
        { id: 1, f: 0.1, i: -2_147_483_648, b: 1, n: null },
        { id: 2, f: -1.5e-300, i: 2_147_483_647, b: 0, n: 9_007_199_254_740_991 },
        { id: 3, f: 12345.678, i: 0, b: 1, n: -1 },
      ];
      await db.insert(table, rows.slice(0, 2));
      await db.insert(table, rows.slice(2), { columns: ['id', 'f', 'i', 'b', 'n'] });
      assert.deepEqual(await db.query(`SELECT id, f, i, b, n FROM ${sqlIdentifier(table)} ORDER BY id`), rows);
    });

    it('round-trips arrays of awkward strings and of floats through a JSONEachRow insert', async () => {
      const table = await createTable('id UInt32, names Array(String), values Array(Float64)');
      const rows = [
        { id: 1, names: [...AWKWARD_STRINGS], values: [0.1, -2.5e-10, 1e300, 0] },
        { id: 2, names: [], values: [] },
      ];
      await db.insert(table, rows);
      assert.deepEqual(await db.query(`SELECT id, names, values FROM ${sqlIdentifier(table)} ORDER BY id`), rows);
    });

    it('fills a column left out of an insert with its DEFAULT expression, in both formats', async () => {
      const table = await createTable('id UInt32, s String, d UInt64 DEFAULT id * 10, at DateTime DEFAULT now()');
      const before = Math.floor(Date.now() / 1000) - 5;
      await db.insert(table, [{ id: 1, s: 'json' }]);
      await db.insert(table, [{ id: 2, s: 'tsv' }], { columns: ['id', 's'] });
      const rows = await db.query<{ id: number; d: number; at: number }>(`SELECT id, d, toUInt32(at) AS at FROM ${sqlIdentifier(table)} ORDER BY id`);
      assert.deepEqual(rows.map((r) => [r.id, r.d]), [[1, 10], [2, 20]]);
      for (const r of rows) assert.ok(r.at >= before, `row ${r.id}: at = ${r.at}, not now()`);
    });

    it('treats an empty insert as a no-op in both formats, without reaching the server', async () => {
      const table = await createTable('id UInt32, s String');
      await db.insert(table, []);
      await db.insert(table, [], { columns: ['id', 's'] });
      // Not even the table is looked at: an empty batch never fails.
      await db.insert(randomName('no_such_table'), []);
      await db.insert(randomName('no_such_table'), [], { columns: ['id'] });
      assert.deepEqual(await db.query(`SELECT count() AS n FROM ${sqlIdentifier(table)}`), [{ n: 0 }]);
    });

    it('refuses a row it cannot write as TabSeparated with a clear error, writing none of the batch', async () => {
      const table = await createTable('id UInt32, s String');
      const rows: Record<string, unknown>[] = [{ id: 1, s: 'fine' }, { id: 2, s: { nested: true } }];
      await assert.rejects(db.insert(table, rows, { columns: ['id', 's'] }), refused(/cannot write a object as a TabSeparated value/));
      await assert.rejects(db.insert(table, [{ id: 3, s: Number.NaN }], { columns: ['id', 's'] }), refused(/not a finite number/));
      assert.deepEqual(await db.query(`SELECT count() AS n FROM ${sqlIdentifier(table)}`), [{ n: 0 }]);
    });

    it('refuses NaN and ±Infinity in a JSONEachRow row (also inside an array) with a clear error, writing none of the batch', async () => {
      const table = await createTable('id UInt32, g Float64, gs Array(Float64)');
      for (const bad of [{ id: 2, g: Number.NaN, gs: [] }, { id: 2, g: Number.POSITIVE_INFINITY, gs: [] }, { id: 2, g: 1, gs: [1, Number.NEGATIVE_INFINITY] }]) {
        await assert.rejects(db.insert(table, [{ id: 1, g: 0.5, gs: [1] }, bad]), refused(/not a finite number: (NaN|-?Infinity) \(row 1, column gs?\)/));
      }
      assert.deepEqual(await db.query(`SELECT count() AS n FROM ${sqlIdentifier(table)}`), [{ n: 0 }]);
    });

    it('answers NaN and ±Infinity computed by a query as null, Float32 values as their shortest decimals', async () => {
      const table = await createTable('id UInt32, f Float32, g Float64');
      await db.insert(table, [{ id: 1, f: 0.1, g: 2 }]);
      assert.deepEqual(
        await db.query(`SELECT f, g / 0 AS inf, -g / 0 AS ninf, (g - g) / 0 AS nan FROM ${sqlIdentifier(table)}`),
        [{ f: 0.1, inf: null, ninf: null, nan: null }],
      );
      assert.deepEqual(await db.query(`SELECT avg(g) AS mean FROM ${sqlIdentifier(table)} WHERE id = 0`), [{ mean: null }]);
    });

    it('rejects bad SQL with the server\'s message naming the problem', async () => {
      const table = await createTable('id UInt32');
      await assert.rejects(db.query(`SELECT no_such_column FROM ${sqlIdentifier(table)}`), /no_such_column/);
      await assert.rejects(db.command(`ALTER TABLE ${sqlIdentifier(table)} DROP COLUMN no_such_column`), /no_such_column/);
      await assert.rejects(db.insert(randomName('no_such_table'), [{ id: 1 }]), /no_such_table/);
    });

    it('keeps concurrent inserts and queries apart: every row lands once', async () => {
      const table = await createTable('id UInt32, s String');
      const batches = Array.from({ length: 8 }, (_, b) => Array.from({ length: 50 }, (_, i) => ({ id: b * 50 + i, s: `b${b}\t${i}` })));
      await Promise.all(batches.map((rows, b) => (b % 2 ? db.insert(table, rows, { columns: ['id', 's'] }) : db.insert(table, rows))));
      const rows = await db.query<{ id: number; s: string }>(`SELECT id, s FROM ${sqlIdentifier(table)} ORDER BY id`);
      assert.deepEqual(rows, batches.flat());
    });

    it('closes', async () => {
      await db.close();
    });
  });
}
