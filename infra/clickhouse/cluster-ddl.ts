import { NonRetriableError } from '../errors.js';
import { sqlIdentifier, sqlString } from './escape.js';

/**
 * The cluster form of the migrations in infra/migrations/, generated from the
 * very same SQL so there is one schema to maintain: each table becomes a
 * Replicated*MergeTree table `<name>_local` on every server plus a Distributed
 * table under the name queries and ingestion use, sharded so a user's rows
 * stay on one shard (reads with FINAL then collapse a user's duplicates, which
 * only works within a shard).
 *
 * Written for ClickHouse 18.16 and kept to the forms it accepts:
 * - CREATE goes `ON CLUSTER <cluster>`, which needs ZooKeeper and the
 *   server's distributed_ddl section;
 * - ALTER of a replicated table does not go ON CLUSTER: it runs on one
 *   server per shard and replication carries it to the shard's other
 *   replicas. 18.16's distributed DDL worker, given `ALTER ... ON CLUSTER` of
 *   a replicated table, ran it twice on one server here ("column with this
 *   name already exists"), hit "Node exists" on the shard's `executed` znode
 *   and stopped processing the DDL queue for good, so every later ON CLUSTER
 *   statement hung until that server was restarted;
 * - ALTER of a Distributed table goes `ON CLUSTER <cluster>_nodes` (every
 *   server as its own shard), since 18.16 refuses ALTER ON CLUSTER of a
 *   non-replicated table on a cluster whose shards use internal replication;
 * - no `{database}` macro in replication paths (newer releases only): the
 *   database name is written into the ZooKeeper path, so two databases on one
 *   cluster (tests) never share a replication log;
 * - sipHash64 of one argument only (18.16's server crashed on
 *   `sipHash64('a', 1, 2)` here).
 */
export interface ClusterDdlTarget {
  database: string;
  cluster: string;
}

/** Suffix of the per-server replicated table behind each Distributed table. */
export const LOCAL_SUFFIX = '_local';

/** The companion cluster of the same servers, each its own shard (see above). */
export function nodesCluster(cluster: string): string {
  return `${cluster}_nodes`;
}

/** ZooKeeper path of a sharded table's replication log; `{shard}` and `{replica}` are server macros. */
export function replicationPath(database: string, table: string): string {
  return `/clickhouse/tables/{shard}/${database}/${table}`;
}

const IDENT = '([A-Za-z_][A-Za-z0-9_]*)';
const CREATE_TABLE = new RegExp(`^CREATE TABLE IF NOT EXISTS ${IDENT}\\s*\\(([\\s\\S]*)\\)\\s*ENGINE\\s*=\\s*(\\w*MergeTree)\\s*\\(([^)]*)\\)([\\s\\S]*)$`, 'i');
const ALTER_COLUMNS = new RegExp(`^ALTER TABLE ${IDENT}\\s+((?:ADD|DROP|MODIFY|COMMENT) COLUMN[\\s\\S]*)$`, 'i');
const CREATE_MV = new RegExp(`^CREATE MATERIALIZED VIEW IF NOT EXISTS ${IDENT}\\s+TO\\s+${IDENT}\\s+AS\\s+(SELECT[\\s\\S]*)$`, 'i');
const INSERT_SELECT = /^INSERT INTO [A-Za-z_][A-Za-z0-9_]*\s*(\([^)]*\))?\s*SELECT\b/i;
const FROM_TABLE = new RegExp(`\\bFROM\\s+${IDENT}`, 'gi');

/** A statement of the cluster schema and where it runs. */
export interface ClusterStatement {
  sql: string;
  /** `entry`: once, on the server migrate talks to; `each-shard`: once on one server of every shard. */
  on: 'entry' | 'each-shard';
}

/**
 * The statement(s) that stand for one single-server migration statement on
 * the cluster, in order. Throws for a form it does not know, so a new
 * migration that needs one fails loudly at `recsys migrate` instead of
 * leaving the servers with different schemas.
 */
export function clusterStatements(statement: string, { database, cluster }: ClusterDdlTarget): ClusterStatement[] {
  const db = sqlIdentifier(database);
  const onCluster = `ON CLUSTER ${sqlIdentifier(cluster)}`;

  const create = CREATE_TABLE.exec(statement);
  if (create) {
    const [, table, columns, engine, args, rest] = create as unknown as [string, string, string, string, string, string];
    const local = `${table}${LOCAL_SUFFIX}`;
    const replicatedArgs = [sqlString(replicationPath(database, local)), `'{replica}'`, ...(args.trim() ? [args.trim()] : [])].join(', ');
    return [
      entry(`CREATE TABLE IF NOT EXISTS ${db}.${sqlIdentifier(local)} ${onCluster}\n(${columns})\nENGINE = Replicated${engine}(${replicatedArgs})${rest}`),
      entry(
        `CREATE TABLE IF NOT EXISTS ${db}.${sqlIdentifier(table)} ${onCluster} AS ${db}.${sqlIdentifier(local)} ` +
          `ENGINE = Distributed(${sqlIdentifier(cluster)}, ${db}, ${sqlIdentifier(local)}, ${shardingKey(table, columns, rest)})`,
      ),
    ];
  }

  const alter = ALTER_COLUMNS.exec(statement);
  if (alter) {
    const [, table, change] = alter as unknown as [string, string, string];
    return [
      { sql: `ALTER TABLE ${db}.${sqlIdentifier(`${table}${LOCAL_SUFFIX}`)} ${change}`, on: 'each-shard' },
      entry(`ALTER TABLE ${db}.${sqlIdentifier(table)} ON CLUSTER ${sqlIdentifier(nodesCluster(cluster))} ${change}`),
    ];
  }

  const view = CREATE_MV.exec(statement);
  if (view) {
    const [, name, target, select] = view as unknown as [string, string, string, string];
    // The view fires on the server whose local table takes the insert (the
    // replica a Distributed insert picked); its rows then replicate like any
    // other insert. A replica that only fetched the part does not fire it.
    if (/\bJOIN\b|\(\s*SELECT\b/i.test(select)) {
      throw new NonRetriableError(`no cluster form for a materialized view that joins or nests queries: ${firstLine(statement)}`);
    }
    const localSelect = select.replace(FROM_TABLE, (_m, source: string) => `FROM ${db}.${sqlIdentifier(`${source}${LOCAL_SUFFIX}`)}`);
    return [entry(`CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.${sqlIdentifier(name)} ${onCluster} TO ${db}.${sqlIdentifier(`${target}${LOCAL_SUFFIX}`)} AS ${localSelect}`)];
  }

  // A backfill: through the Distributed tables, it reads every shard and
  // writes each row to its own shard; it runs once, from this server.
  if (INSERT_SELECT.test(statement)) return [entry(statement)];

  throw new NonRetriableError(
    `no cluster form for this migration statement (known: CREATE TABLE IF NOT EXISTS ... ENGINE = *MergeTree, ALTER TABLE ... ADD|DROP|MODIFY|COMMENT COLUMN, ` +
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ... TO ..., INSERT INTO ... SELECT): ${firstLine(statement)}`,
  );
}

/**
 * The Distributed table's sharding key: user_id where the table has one, so
 * every row of a user (events, decisions, outcomes, attributes) lands on one
 * shard; otherwise the first column of the sorting key (item_id, model,
 * job_id, ...), so a replayed row lands where its first copy did.
 */
export function shardingKey(table: string, columns: string, rest: string): string {
  const names = new Map(
    columns
      .split('\n')
      .map((line) => /^\s*([A-Za-z_][A-Za-z0-9_]*)\s+([A-Za-z0-9_]+)/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  );
  const orderBy = /\bORDER BY\s*\(?\s*([A-Za-z_][A-Za-z0-9_]*)/i.exec(rest)?.[1];
  const column = names.has('user_id') ? 'user_id' : orderBy;
  if (column === undefined || !names.has(column)) {
    throw new NonRetriableError(`no sharding key for table ${table}: it has no user_id column and no ORDER BY column`);
  }
  return names.get(column) === 'String' ? `sipHash64(${sqlIdentifier(column)})` : `sipHash64(toString(${sqlIdentifier(column)}))`;
}

function entry(sql: string): ClusterStatement {
  return { sql, on: 'entry' };
}

function firstLine(statement: string): string {
  const line = statement.split('\n')[0]!;
  return line.length > 120 ? `${line.slice(0, 120)}...` : line;
}
