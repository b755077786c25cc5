import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { SqlClient } from './sql-client.js';
import { sqlIdentifier, sqlNumber, sqlString } from './escape.js';
import { NonRetriableError } from '../errors.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

export interface Migration {
  version: number;
  name: string;
  /** Statements in file order; ClickHouse takes one statement per request. */
  statements: string[];
  /** sha256 of the file, so an edited, already-applied migration is caught. */
  checksum: string;
}

const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const migrations = readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .map((file) => {
      const match = FILE.exec(file);
      if (!match) throw new NonRetriableError(`migration file name must look like 0001_name.sql: ${file}`);
      const text = readFileSync(path.join(dir, file), 'utf8');
      return {
        version: Number(match[1]),
        name: match[2]!,
        statements: splitStatements(text),
        checksum: createHash('sha256').update(text).digest('hex'),
      };
    })
    .sort((a, b) => a.version - b.version);
  migrations.forEach((m, i) => {
    if (i > 0 && m.version === migrations[i - 1]!.version) throw new NonRetriableError(`two migrations share version ${m.version}`);
  });
  return migrations;
}

/** Splits on `;` at the end of a line, after dropping `--` comment lines. */
export function splitStatements(text: string): string[] {
  const body = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n');
  return body
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}

const TRACKING_TABLE = 'schema_migrations';

export const migrationQueries = {
  createDatabase: (database: string) => `CREATE DATABASE IF NOT EXISTS ${sqlIdentifier(database)}`,
  createTrackingTable: () =>
    `CREATE TABLE IF NOT EXISTS ${TRACKING_TABLE} (version UInt32, name String, checksum String, applied_at DateTime DEFAULT now()) ` +
    `ENGINE = ReplacingMergeTree() ORDER BY version`,
  appliedVersions: () =>
    `SELECT version, any(name) AS name, any(checksum) AS checksum FROM ${TRACKING_TABLE} GROUP BY version ORDER BY version`,
  recordApplied: (m: Migration) =>
    `INSERT INTO ${TRACKING_TABLE} (version, name, checksum) VALUES (${sqlNumber(m.version)}, ${sqlString(m.name)}, ${sqlString(m.checksum)})`,
};

export interface AppliedMigration {
  version: number;
  name: string;
  checksum: string;
}

export interface MigrateResult {
  applied: Migration[];
  alreadyApplied: number[];
}

/**
 * Applies pending migrations in version order, recording each. Idempotent: a
 * second run applies nothing. `admin` reaches the server without a database (to
 * create it); `db` runs in the target database.
 */
export async function migrate(
  { admin, db }: { admin: SqlClient; db: SqlClient },
  database: string,
  migrations: readonly Migration[] = loadMigrations(),
  onApply: (m: Migration) => void = () => {},
): Promise<MigrateResult> {
  await admin.command(migrationQueries.createDatabase(database));
  await db.command(migrationQueries.createTrackingTable());
  const applied = new Map((await db.query<AppliedMigration>(migrationQueries.appliedVersions())).map((row) => [Number(row.version), row]));

  const result: MigrateResult = { applied: [], alreadyApplied: [] };
  for (const migration of migrations) {
    const previous = applied.get(migration.version);
    if (previous) {
      if (previous.checksum !== migration.checksum) {
        throw new NonRetriableError(
          `migration ${migration.version}_${migration.name} was changed after it was applied (checksum differs); add a new migration instead of editing it`,
        );
      }
      result.alreadyApplied.push(migration.version);
      continue;
    }
    onApply(migration);
    for (const statement of migration.statements) await db.command(statement);
    await db.command(migrationQueries.recordApplied(migration));
    result.applied.push(migration);
  }
  return result;
}
