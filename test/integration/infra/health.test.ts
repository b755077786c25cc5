import assert from 'node:assert/strict';
import { loadServicesConfig } from '../../../infra/config.js';
import { checkServices } from '../../../infra/health.js';

describe('service health', () => {
  it('reaches Kafka, ClickHouse and Redis with real requests', async () => {
    const reports = await checkServices(loadServicesConfig());
    assert.deepEqual(reports.map((r) => r.name), ['kafka', 'clickhouse', 'redis']);
    for (const report of reports) assert.ok(report.ok, `${report.name}: ${report.detail}`);
    assert.match(reports[1]!.detail, /server 18\.|server \d+\./);
  });

  it('reports a service that is not there as failed', async () => {
    const config = loadServicesConfig({ KAFKA_PORT: '1', CLICKHOUSE_HTTP_PORT: '1', REDIS_PORT: '1' });
    const reports = await checkServices(config);
    for (const report of reports) assert.equal(report.ok, false, `${report.name} should be down: ${report.detail}`);
  });
});
