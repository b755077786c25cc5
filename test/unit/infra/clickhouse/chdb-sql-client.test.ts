import { sqlIdentifier } from '../../../../infra/clickhouse/escape.js';
import { createChdbClient } from '../../../helpers/chdb-client.js';
import { sqlClientConformance } from '../../../helpers/conformance/sql-client.js';
import { randomName } from '../../../helpers/names.js';

sqlClientConformance('embedded chdb (current ClickHouse)', async () => {
  const database = randomName('conf_chdb');
  const admin = createChdbClient(null);
  await admin.command(`CREATE DATABASE ${sqlIdentifier(database)}`);
  return {
    client: createChdbClient(database),
    cleanup: () => admin.command(`DROP DATABASE IF EXISTS ${sqlIdentifier(database)}`),
  };
});
