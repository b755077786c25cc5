import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { Readable } from 'node:stream';
import type { ServicesConfig } from '../config.js';
import type { SqlClient } from './sql-client.js';
import { RecsysError, errorMessage, isRetriable } from '../errors.js';
import { clickHouseErrorCode, isRetriableClickHouseError } from './error-codes.js';
import { checkJsonRows } from './json-rows.js';
import { tabSeparated } from './tab-separated.js';

/**
 * Settings that make the 2018 server (18.16) and current releases answer alike:
 * numbers as numbers in JSON, and the flexible DateTime parser.
 */
const SETTINGS = {
  output_format_json_quote_64bit_integers: 0,
  date_time_input_format: 'best_effort',
} as const;

export interface ClickHouseOptions {
  /** Database to run statements in; `null` for the server's default (used to create the database). */
  database?: string | null;
}

export function createClickHouse(config: ServicesConfig['clickhouse'], { database = config.database }: ClickHouseOptions = {}): SqlClient {
  const client: ClickHouseClient = createClient({
    url: config.url,
    username: config.username,
    password: config.password,
    request_timeout: config.requestTimeoutMs,
    ...(database === null ? {} : { database }),
    // On a cluster, an insert into a Distributed table returns once every
    // shard's replica has the rows, not when they are queued on this server:
    // ingestion commits its Kafka offsets after the insert, so the ack must mean stored.
    // Replica choice in order (the first live replica of each shard) rather
    // than at random, for inserts and reads alike: a Distributed insert lands
    // on one replica and its sibling fetches the part a moment later, so a
    // read that picked the sibling missed what this client had just written
    // (a completed replay job without its rows). A dead first replica moves
    // both to the next one.
    clickhouse_settings: config.cluster ? { ...SETTINGS, insert_distributed_sync: 1, load_balancing: 'in_order' } : SETTINGS,
    // Failures are rethrown with context below; the client's own error log would say it twice.
    log: { level: ClickHouseLogLevel.OFF },
  });
  const context = { url: config.url, database };
  const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      const cause = (error as { cause?: unknown }).cause;
      const detail = cause instanceof Error ? `${errorMessage(error)} (${cause.message})` : errorMessage(error);
      throw new RecsysError(`ClickHouse ${what} failed: ${detail}`, {
        cause: error,
        // A row refused before sending (tab-separated.ts, json-rows.ts) is a ValidationError: no retry writes it.
        retriable: isRetriable(error) && isRetriableClickHouseError(error),
        context: { ...context, code: clickHouseErrorCode(error) },
      });
    }
  };
  return {
    command: (sql) => wrap('command', async () => { await client.command({ query: sql }); }),
    query: <T>(sql: string) => wrap('query', async () => {
      const result = await client.query({ query: sql, format: 'JSONEachRow' });
      return result.json<T>();
    }),
    insert: (table, rows, options) => wrap('insert', async () => {
      if (rows.length === 0) return;
      if (options?.columns) {
        // Raw formats go as a byte stream; built per attempt, since a stream is read once.
        const body = Readable.from([Buffer.from(tabSeparated(rows, options.columns))], { objectMode: false });
        await client.insert({ table, values: body, format: 'TabSeparated', columns: [...options.columns] as [string, ...string[]] });
      } else {
        // Named columns: 18.16 fills a field a JSONEachRow row leaves out with its type's zero, not its DEFAULT (current releases use the DEFAULT); with a column list both do.
        const columns = checkJsonRows(rows);
        await client.insert({
          table, values: rows as Record<string, unknown>[], format: 'JSONEachRow',
          ...(columns.length > 0 ? { columns: columns as [string, ...string[]] } : {}),
        });
      }
    }),
    close: () => client.close(),
  };
}
