import { loadServicesConfig } from '../../../../infra/config.js';
import { createClickHouse } from '../../../../infra/clickhouse/clickhouse-client.js';
import { sqlIdentifier } from '../../../../infra/clickhouse/escape.js';
import { sqlClientConformance } from '../../../helpers/conformance/sql-client.js';
import { randomName } from '../../../helpers/names.js';

sqlClientConformance('ClickHouse server over HTTP (18.16 here)', async () => {
  const database = randomName('conf_ch');
  const config = { ...loadServicesConfig().clickhouse, database };
  const admin = createClickHouse(config, { database: null });
  await admin.command(`CREATE DATABASE ${sqlIdentifier(database)}`);
  return {
    client: createClickHouse(config),
    async cleanup() {
      await admin.command(`DROP DATABASE IF EXISTS ${sqlIdentifier(database)}`);
      await admin.close();
    },
  };
});
