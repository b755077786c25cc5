import assert from 'node:assert/strict';
import { loadServicesConfig } from '../../../../infra/config.js';
import { migrate } from '../../../../infra/clickhouse/migrate.js';
import type { RegistryEvent } from '../../../../pipelines/registry/registry-notifier.js';
import { createServicesNotifier } from '../../../../pipelines/registry/services-notifier.js';
import { createChdbClient } from '../../../helpers/chdb-client.js';
import { randomName } from '../../../helpers/names.js';

/** The registry's row and the queries on it also run on current ClickHouse (chdb); the integration suite runs them on 18.16. */
describe('model registry table on current ClickHouse (chdb)', function () {
  this.timeout(60_000);

  it('stores an event row that reads back, and a re-sent event collapses', async () => {
    const database = randomName('registry');
    const db = createChdbClient(database);
    await migrate({ admin: createChdbClient(null), db }, database);
    const notifier = createServicesNotifier(loadServicesConfig(), { clickhouse: db, redis: null });
    const event: RegistryEvent = {
      kind: 'promote', eventId: 'din:serving:g4', registry: '/r', model: 'din', version: 7, alias: 'serving', previous: 5, parent: 6,
      modelType: 'din', artifactKind: 'full', createdAt: 1_700_000_000_000, at: 1_700_000_100_000, trainedUntil: null,
      metrics: { auc: 0.8, logloss: 0.45, skipped: null }, offsets: { 0: 12 }, generation: 4, actor: 'alice', reason: "it's better",
    };
    assert.deepEqual((await notifier.notify(event)).map((o) => [o.sink, o.status]), [['clickhouse', 'sent'], ['redis', 'skipped']]);
    await notifier.notify(event);
    const rows = await db.query<Record<string, unknown>>(
      "SELECT event_kind, version, previous_version, parent_version, generation, trained_until, metric_names, metric_values[indexOf(metric_names, 'logloss')] AS logloss, offsets, reason " +
      "FROM model_registry FINAL WHERE model = 'din'",
    );
    assert.deepEqual(rows, [{
      event_kind: 'promote', version: 7, previous_version: 5, parent_version: 6, generation: 4, trained_until: null,
      metric_names: ['auc', 'logloss'], logloss: 0.45, offsets: '{"0":12}', reason: "it's better",
    }]);
  });
});
