import assert from 'node:assert/strict';
import { sqlIdentifier, sqlNumber, sqlString } from '../../../infra/clickhouse/escape.js';

describe('SQL escaping', () => {
  it('escapes quotes, backslashes and control characters', () => {
    assert.equal(sqlString("it's"), "'it\\'s'");
    assert.equal(sqlString('a\\b'), "'a\\\\b'");
    assert.equal(sqlString('line\nnext\t\0'), "'line\\x0anext\\x09\\x00'");
    assert.equal(sqlString('ünïcödé ✓'), "'ünïcödé ✓'");
  });

  it('accepts only finite numbers', () => {
    assert.equal(sqlNumber(42), '42');
    assert.equal(sqlNumber(-1.5), '-1.5');
    assert.equal(sqlNumber(2n ** 64n - 1n), '18446744073709551615');
    assert.throws(() => sqlNumber(Number.NaN), /finite/);
    assert.throws(() => sqlNumber(Infinity), /finite/);
  });

  it('accepts only plain identifiers', () => {
    assert.equal(sqlIdentifier('events_v2'), '`events_v2`');
    assert.throws(() => sqlIdentifier('x`; DROP TABLE y'), /identifier/);
    assert.throws(() => sqlIdentifier('1abc'), /identifier/);
  });
});
