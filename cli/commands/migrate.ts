import type { Command } from 'commander';
import { loadServicesConfig } from '../../infra/config.js';
import { createClickHouse } from '../../infra/clickhouse/clickhouse-client.js';
import { migrate } from '../../infra/clickhouse/migrate.js';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('apply pending ClickHouse schema migrations (idempotent; applied versions are recorded in schema_migrations)')
    .option('--clickhouse-url <url>', 'ClickHouse HTTP URL (env CLICKHOUSE_URL)')
    .option('--database <name>', 'database to migrate (env CLICKHOUSE_DATABASE)')
    .action(async (opts: { clickhouseUrl?: string; database?: string }) => {
      const config = loadServicesConfig({
        ...process.env,
        ...(opts.clickhouseUrl ? { CLICKHOUSE_URL: opts.clickhouseUrl } : {}),
        ...(opts.database ? { CLICKHOUSE_DATABASE: opts.database } : {}),
      }).clickhouse;
      const admin = createClickHouse(config, { database: null });
      const db = createClickHouse(config);
      try {
        const result = await migrate({ admin, db }, config.database, undefined, (m) => console.log(`applying ${String(m.version).padStart(4, '0')}_${m.name}`));
        console.log(`${config.database}: ${result.applied.length} applied, ${result.alreadyApplied.length} already applied`);
      } finally {
        await Promise.all([admin.close(), db.close()]);
      }
    });
}
