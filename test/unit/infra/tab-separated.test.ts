import assert from 'node:assert/strict';
import { tabSeparated, tabSeparatedValue } from '../../../infra/clickhouse/tab-separated.js';

describe('TabSeparated encoding (ClickHouse inserts)', () => {
  it('escapes backslash, tab, newline and carriage return; null is \\N', () => {
    assert.equal(tabSeparatedValue('a\tb\nc\\d\re'), 'a\\tb\\nc\\\\d\\re');
    assert.equal(tabSeparatedValue('{"k":"v \\"q\\""}'), '{"k":"v \\\\"q\\\\""}');
    assert.equal(tabSeparatedValue('plain ünïcödé'), 'plain ünïcödé');
    assert.equal(tabSeparatedValue(null), '\\N');
    assert.equal(tabSeparatedValue(undefined), '\\N');
    assert.equal(tabSeparatedValue(1_704_067_200_000), '1704067200000');
    assert.equal(tabSeparatedValue(-1), '-1');
    assert.equal(tabSeparatedValue(0.25), '0.25');
    assert.equal(tabSeparatedValue(true), '1');
    assert.equal(tabSeparatedValue(12n), '12');
  });

  it('refuses values it cannot write', () => {
    assert.throws(() => tabSeparatedValue(Number.NaN), /finite/);
    assert.throws(() => tabSeparatedValue(['a']), /array/);
    assert.throws(() => tabSeparatedValue({ a: 1 }), /object/);
  });

  it('writes the columns in the given order, one line per row', () => {
    const rows = [{ b: 'x', a: 1, c: null }, { a: 2, b: 'y\tz', c: 3 }];
    assert.equal(tabSeparated(rows, ['a', 'b', 'c']), '1\tx\t\\N\n2\ty\\tz\t3\n');
    assert.equal(tabSeparated([], ['a']), '');
  });
});
