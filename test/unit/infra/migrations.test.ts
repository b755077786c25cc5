import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadMigrations, splitStatements } from '../../../infra/clickhouse/migrate.js';

describe('migration files', () => {
  it('splits a file into statements, ignoring comment lines and semicolons inside lines', () => {
    const text = "-- a comment; with a semicolon\nCREATE TABLE a (x String DEFAULT ';')\nENGINE = Memory;\n\nINSERT INTO a VALUES ('x');\n";
    assert.deepEqual(splitStatements(text), ["CREATE TABLE a (x String DEFAULT ';')\nENGINE = Memory", "INSERT INTO a VALUES ('x')"]);
  });

  it('orders by version and checksums the contents', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'migrations-'));
    writeFileSync(path.join(dir, '0002_second.sql'), 'SELECT 2;');
    writeFileSync(path.join(dir, '0001_first.sql'), 'SELECT 1;');
    const migrations = loadMigrations(dir);
    assert.deepEqual(migrations.map((m) => [m.version, m.name]), [[1, 'first'], [2, 'second']]);
    assert.match(migrations[0]!.checksum, /^[0-9a-f]{64}$/);
    assert.notEqual(migrations[0]!.checksum, migrations[1]!.checksum);
  });

  it('refuses badly named or duplicate versions', () => {
    const bad = mkdtempSync(path.join(tmpdir(), 'migrations-'));
    writeFileSync(path.join(bad, 'first.sql'), 'SELECT 1;');
    assert.throws(() => loadMigrations(bad), /0001_name\.sql/);
    const dup = mkdtempSync(path.join(tmpdir(), 'migrations-'));
    writeFileSync(path.join(dup, '0001_a.sql'), 'SELECT 1;');
    writeFileSync(path.join(dup, '0001_b.sql'), 'SELECT 1;');
    assert.throws(() => loadMigrations(dup), /share version 1/);
  });

  it('the shipped migrations load', () => {
    const migrations = loadMigrations();
    assert.ok(migrations.length >= 1);
    assert.ok(migrations.every((m) => m.statements.length >= 1));
  });
});
