import { Session } from 'chdb';
import type { SqlClient } from '../../infra/clickhouse/sql-client.js';
import { checkJsonRows } from '../../infra/clickhouse/json-rows.js';
import { tabSeparated } from '../../infra/clickhouse/tab-separated.js';

/**
 * The product's SqlClient on embedded chdb (a current ClickHouse release), so
 * the compatibility test can run product code unchanged on today's server.
 * One chdb session per process: chdb keeps global state, so clients share it
 * and scope themselves with USE.
 */
let session: Session | undefined;

function shared(): Session {
  if (!session) {
    session = new Session();
    // Same answers as the HTTP client's settings (clickhouse-client.ts).
    session.query('SET output_format_json_quote_64bit_integers = 0', 'TSV');
    session.query("SET date_time_input_format = 'best_effort'", 'TSV');
  }
  return session;
}

export function chdbVersion(): string {
  return shared().query('SELECT version()', 'TSV').trim();
}

export function createChdbClient(database: string | null): SqlClient {
  const run = (sql: string, format = 'TSV'): string => {
    const s = shared();
    s.query(database === null ? 'USE default' : `USE \`${database}\``, 'TSV');
    return s.query(sql, format);
  };
  return {
    async command(sql) {
      run(sql);
    },
    async query<T>(sql: string) {
      return run(sql, 'JSONEachRow')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as T);
    },
    async insert(table, rows, options) {
      if (rows.length === 0) return;
      if (options?.columns) {
        // The data travels inside the query text, which chdb cuts at a NUL byte; `\0` is TabSeparated's escape for it (the HTTP client sends NUL raw).
        const data = tabSeparated(rows, options.columns).replaceAll('\0', '\\0');
        run(`INSERT INTO \`${table}\` (${options.columns.map((c) => `\`${c}\``).join(', ')}) FORMAT TabSeparated\n${data}`);
        return;
      }
      checkJsonRows(rows);
      run(`INSERT INTO \`${table}\` FORMAT JSONEachRow\n${rows.map((r) => JSON.stringify(r)).join('\n')}`);
    },
    async close() {},
  };
}
