/**
 * What the product needs from ClickHouse, independent of how it is reached.
 * Production uses the HTTP client (clickhouse-client.ts); the compatibility
 * test runs the very same product code on embedded chdb (a current ClickHouse),
 * so every statement stays valid on both the 18.16 server here and today's
 * releases.
 */
export interface SqlClient {
  /** A statement without a result set (DDL, INSERT ... SELECT). */
  command(sql: string): Promise<void>;
  /** A SELECT; rows as JSON objects. UInt64 values come back as numbers. */
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /**
   * Inserts rows into `table`: as JSONEachRow, or, given `columns`, as
   * TabSeparated text of those columns in that order (about twice as fast on
   * 18.16; every row must hold scalar values for all of them). A row holding
   * NaN or ±Infinity is refused in either format, and nothing of the batch is
   * written.
   */
  insert(table: string, rows: readonly Record<string, unknown>[], options?: InsertOptions): Promise<void>;
  close(): Promise<void>;
}

export interface InsertOptions {
  /** Columns to write, in order; TabSeparated instead of JSONEachRow. */
  columns?: readonly string[];
}
