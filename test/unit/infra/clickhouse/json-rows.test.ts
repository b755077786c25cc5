import assert from 'node:assert/strict';
import { ValidationError } from '../../../../infra/errors.js';
import { checkJsonRows } from '../../../../infra/clickhouse/json-rows.js';

describe('JSONEachRow rows (ClickHouse inserts)', () => {
  it('returns the columns the rows hold, first seen first, leaving out fields that are undefined everywhere', () => {
    assert.deepEqual(checkJsonRows([{ b: 1, a: 'x', u: undefined }, { a: 'y', c: [1, 2], b: null }]), ['b', 'a', 'c']);
    assert.deepEqual(checkJsonRows([]), []);
  });

  it('refuses NaN and ±Infinity anywhere in a row, naming the row and column', () => {
    assert.throws(() => checkJsonRows([{ a: 1 }, { a: Number.NaN }]), (e: Error) => e instanceof ValidationError && /not a finite number: NaN \(row 1, column a\)/.test(e.message));
    assert.throws(() => checkJsonRows([{ m: [0.5, Number.POSITIVE_INFINITY] }]), /Infinity \(row 0, column m\)/);
    assert.throws(() => checkJsonRows([{ t: { x: -Infinity } }]), /-Infinity \(row 0, column t\)/);
  });
});
