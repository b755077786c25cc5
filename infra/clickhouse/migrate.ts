import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { SqlClient } from './sql-client.js';
import { sqlIdentifier, sqlNumber, sqlString } from './escape.js';
import { NonRetriableError } from '../errors.js';
import { clusterStatements, nodesCluster, type ClusterStatement } from './cluster-ddl.js';
import { createClickHouse } from './clickhouse-client.js';
import type { ServicesConfig } from '../config.js';

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
const TRACKING_COLUMNS = '(version UInt32, name String, checksum String, applied_at DateTime DEFAULT now())';

export const migrationQueries = {
  createDatabase: (database: string) => `CREATE DATABASE IF NOT EXISTS ${sqlIdentifier(database)}`,
  createTrackingTable: () => `CREATE TABLE IF NOT EXISTS ${TRACKING_TABLE} ${TRACKING_COLUMNS} ENGINE = ReplacingMergeTree() ORDER BY version`,
  appliedVersions: () =>
    `SELECT version, any(name) AS name, any(checksum) AS checksum FROM ${TRACKING_TABLE} GROUP BY version ORDER BY version`,
  recordApplied: (m: Migration) =>
    `INSERT INTO ${TRACKING_TABLE} (version, name, checksum) VALUES (${sqlNumber(m.version)}, ${sqlString(m.name)}, ${sqlString(m.checksum)})`,
  trackingEngine: (database: string) =>
    `SELECT engine FROM system.tables WHERE database = ${sqlString(database)} AND name = ${sqlString(TRACKING_TABLE)}`,
  clusters: (names: readonly string[]) =>
    `SELECT cluster, uniqExact(shard_num) AS shards FROM system.clusters WHERE cluster IN (${names.map(sqlString).join(', ')}) GROUP BY cluster`,
  shardMacro: () => `SELECT substitution AS shard FROM system.macros WHERE macro = 'shard'`,
  createClusterDatabase: (database: string, cluster: string) =>
    `CREATE DATABASE IF NOT EXISTS ${sqlIdentifier(database)} ON CLUSTER ${sqlIdentifier(cluster)}`,
  // One replicated table across every server (one ZooKeeper path, every
  // server a replica; replica names are unique cluster-wide), so whichever
  // server a later migrate talks to reads the whole ledger.
  createClusterTrackingTable: (database: string, cluster: string) =>
    `CREATE TABLE IF NOT EXISTS ${sqlIdentifier(database)}.${TRACKING_TABLE} ON CLUSTER ${sqlIdentifier(cluster)} ${TRACKING_COLUMNS} ` +
    `ENGINE = ReplicatedReplacingMergeTree(${sqlString(`/clickhouse/tables/all/${database}/${TRACKING_TABLE}`)}, '{replica}') ORDER BY version`,
  // Rows another server recorded arrive through replication: wait for them before reading.
  syncTracking: (database: string) => `SYSTEM SYNC REPLICA ${sqlIdentifier(database)}.${TRACKING_TABLE}`,
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

export interface MigrateTarget {
  /** Reaches the server without a database (to create it). */
  admin: SqlClient;
  /** Runs in the target database. */
  db: SqlClient;
  /**
   * The remote_servers cluster to create the schema on (config
   * `clickhouse.cluster`, CLICKHOUSE_CLUSTER); unset = the single-server schema.
   * The server must also define `<cluster>_nodes` (see cluster-ddl.ts).
   */
  cluster?: string | undefined;
  /**
   * With a cluster: a client of one server (any replica) of every shard, in
   * any order; ALTERs of replicated tables run on each. Checked against the
   * servers' `shard` macros before anything runs.
   */
  shards?: readonly SqlClient[] | undefined;
}

/**
 * Applies pending migrations in version order, recording each. Idempotent: a
 * second run applies nothing. With a cluster, each statement runs in its
 * cluster form (cluster-ddl.ts) ON CLUSTER, and the ledger is one table
 * replicated to every server; a database migrated in one form refuses the
 * other.
 */
export async function migrate(
  { admin, db, cluster, shards = [] }: MigrateTarget,
  database: string,
  migrations: readonly Migration[] = loadMigrations(),
  onApply: (m: Migration) => void = () => {},
): Promise<MigrateResult> {
  if (cluster) {
    await checkClusters(admin, cluster, shards);
    await admin.command(migrationQueries.createClusterDatabase(database, cluster));
  } else {
    await admin.command(migrationQueries.createDatabase(database));
  }
  await checkLedgerForm(admin, database, cluster);
  if (cluster) {
    await db.command(migrationQueries.createClusterTrackingTable(database, cluster));
    await db.command(migrationQueries.syncTracking(database));
  } else {
    await db.command(migrationQueries.createTrackingTable());
  }
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
    // Generated before anything runs, so a statement with no cluster form
    // stops the migration before its first statement, not halfway.
    const statements: ClusterStatement[] = cluster
      ? migration.statements.flatMap((statement) => {
        try {
          return clusterStatements(statement, { database, cluster });
        } catch (error) {
          throw new NonRetriableError(`migration ${migration.version}_${migration.name}: ${(error as Error).message}`, { cause: error });
        }
      })
      : migration.statements.map((sql) => ({ sql, on: 'entry' as const }));
    onApply(migration);
    for (const statement of statements) {
      if (statement.on === 'entry') await db.command(statement.sql);
      else for (const shard of shards) await shard.command(statement.sql);
    }
    await db.command(migrationQueries.recordApplied(migration));
    result.applied.push(migration);
  }
  return result;
}

async function checkClusters(admin: SqlClient, cluster: string, shards: readonly SqlClient[]): Promise<void> {
  const wanted = [cluster, nodesCluster(cluster)];
  const found = new Map((await admin.query<{ cluster: string; shards: number }>(migrationQueries.clusters(wanted))).map((row) => [row.cluster, Number(row.shards)]));
  const missing = wanted.filter((name) => !found.has(name));
  if (missing.length > 0) {
    throw new NonRetriableError(
      `ClickHouse has no cluster ${missing.join(', ')} in its remote_servers (CLICKHOUSE_CLUSTER=${cluster}; the cluster topology's servers define ${wanted.join(' and ')})`,
    );
  }
  const macros: string[] = [];
  for (const shard of shards) macros.push(...(await shard.query<{ shard: string }>(migrationQueries.shardMacro())).map((row) => row.shard));
  const expected = found.get(cluster)!;
  if (macros.length !== shards.length || new Set(macros).size !== shards.length || shards.length !== expected) {
    throw new NonRetriableError(
      `cluster ${cluster} has ${expected} shards: CLICKHOUSE_SHARD_URLS must name one server of each (got ${shards.length}, with shard macros [${macros.join(', ')}])`,
    );
  }
}

/**
 * migrate() with the clients that `config` describes (the CLI's path), closed
 * afterwards: the entry server, and with a cluster one server per shard.
 */
export async function migrateWith(
  config: ServicesConfig['clickhouse'], onApply?: (m: Migration) => void, migrations: readonly Migration[] = loadMigrations(),
): Promise<MigrateResult> {
  const admin = createClickHouse(config, { database: null });
  const db = createClickHouse(config);
  // Without a database: they run only fully qualified ALTERs, and checkClusters asks them before the database exists.
  const shards = config.cluster ? (config.shardUrls ?? []).map((url) => createClickHouse({ ...config, url }, { database: null })) : [];
  try {
    return await migrate({ admin, db, cluster: config.cluster, shards }, config.database, migrations, onApply);
  } finally {
    await Promise.all([admin, db, ...shards].map((c) => c.close()));
  }
}

/** A database keeps the form it was first migrated in: mixing them would leave some tables unsharded. */
async function checkLedgerForm(admin: SqlClient, database: string, cluster: string | undefined): Promise<void> {
  const [row] = await admin.query<{ engine: string }>(migrationQueries.trackingEngine(database));
  if (!row) return;
  const replicated = row.engine.startsWith('Replicated');
  if (cluster && !replicated) {
    throw new NonRetriableError(`database ${database} was migrated for a single server (its ${TRACKING_TABLE} is ${row.engine}); it cannot be migrated as cluster ${cluster}: use a new database`);
  }
  if (!cluster && replicated) {
    throw new NonRetriableError(`database ${database} holds a cluster schema (its ${TRACKING_TABLE} is ${row.engine}); set CLICKHOUSE_CLUSTER to migrate it`);
  }
}
