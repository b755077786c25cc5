import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { ServicesConfig } from '../config.js';
import type { SqlClient } from './sql-client.js';
import { RecsysError } from '../errors.js';

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
    clickhouse_settings: SETTINGS,
  });
  const context = { url: config.url, database };
  const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      // Server-side SQL errors are bugs or bad schema, not outages: no retry.
      const sqlError = error instanceof Error && 'code' in error && typeof (error as { code: unknown }).code === 'string' && /^\d+$/.test((error as { code: string }).code);
      throw new RecsysError(`ClickHouse ${what} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error, retriable: !sqlError, context });
    }
  };
  return {
    command: (sql) => wrap('command', async () => { await client.command({ query: sql }); }),
    query: <T>(sql: string) => wrap('query', async () => {
      const result = await client.query({ query: sql, format: 'JSONEachRow' });
      return result.json<T>();
    }),
    insert: (table, rows) => wrap('insert', async () => {
      if (rows.length === 0) return;
      await client.insert({ table, values: rows as Record<string, unknown>[], format: 'JSONEachRow' });
    }),
    close: () => client.close(),
  };
}
