import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { Admin } from 'kafkajs';
import { loadServicesConfig } from '../../../../infra/config.js';
import { createClickHouse } from '../../../../infra/clickhouse/clickhouse-client.js';
import { sqlIdentifier, sqlString } from '../../../../infra/clickhouse/escape.js';
import { createKafka } from '../../../../infra/kafka/kafka-client.js';
import { OFFLINE_TABLES } from '../../../../pipelines/ingest/offline-rows.js';
import { randomName } from '../../../helpers/names.js';
import { spawnTs } from './child.js';

const CLI = fileURLToPath(new URL('./fixtures/recsys-cli.ts', import.meta.url));

async function partitionCounts(admin: Admin, topics: string[]): Promise<Record<string, number>> {
  const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
  return Object.fromEntries(metadata.map((t) => [t.name, t.partitions.length]));
}

describe('recsys migrate: ClickHouse schema and the Kafka topics of ingestion (real services)', function () {
  this.timeout(120_000);
  const services = loadServicesConfig();
  const database = randomName('test_migrate');
  const topic = randomName('test_migrate_events');
  const deadLetterTopic = `${topic}.dlq`;
  const admin = createKafka(services.kafka).admin();
  const env = {
    ...process.env,
    KAFKA_BROKERS: services.kafka.brokers.join(','),
    CLICKHOUSE_URL: services.clickhouse.url,
    CLICKHOUSE_DATABASE: database,
    KAFKA_EVENTS_TOPIC: topic,
    KAFKA_DEAD_LETTER_TOPIC: deadLetterTopic,
    KAFKA_DEAD_LETTER_PARTITIONS: '2',
  };

  before(() => admin.connect());

  after(async () => {
    await admin.deleteTopics({ topics: [topic, deadLetterTopic] }).catch(() => {});
    await admin.disconnect();
    const ch = createClickHouse(services.clickhouse, { database: null });
    await ch.command(`DROP DATABASE IF EXISTS ${sqlIdentifier(database)}`).catch(() => {});
    await ch.close();
  });

  async function runMigrate(args: string[]): Promise<string[]> {
    const child = spawnTs(CLI, ['migrate', ...args], env);
    const { code } = await child.exited;
    assert.equal(code, 0, child.stderr.join('\n'));
    return child.lines.map(String);
  }

  it('creates the events and dead-letter topics with the configured partitions (flags over env), and is idempotent', async () => {
    assert.ok(!(await admin.listTopics()).includes(topic));
    const first = await runMigrate(['--partitions', '3']);
    assert.ok(first.includes(`kafka topic ${topic}: created with 3 partitions`), first.join('\n'));
    assert.ok(first.includes(`kafka topic ${deadLetterTopic}: created with 2 partitions`), first.join('\n'));
    assert.deepEqual(await partitionCounts(admin, [topic, deadLetterTopic]), { [topic]: 3, [deadLetterTopic]: 2 });

    const ch = createClickHouse({ ...services.clickhouse, database });
    try {
      const tables = await ch.query<{ name: string }>(`SELECT name FROM system.tables WHERE database = ${sqlString(database)}`);
      for (const t of Object.values(OFFLINE_TABLES)) assert.ok(tables.some((r) => r.name === t), `table ${t}`);
    } finally {
      await ch.close();
    }

    // Again: nothing to do, nothing changed; a different partition count is reported, not applied.
    const second = await runMigrate(['--partitions', '6']);
    assert.ok(second.some((l) => /: 0 applied, \d+ already applied$/.test(l)), second.join('\n'));
    assert.ok(second.some((l) => l.startsWith(`kafka topic ${topic}: exists with 3 partitions, not the configured 6`)), second.join('\n'));
    assert.ok(second.includes(`kafka topic ${deadLetterTopic}: exists with 2 partitions`), second.join('\n'));
    assert.deepEqual(await partitionCounts(admin, [topic, deadLetterTopic]), { [topic]: 3, [deadLetterTopic]: 2 });
  });

  it('leaves Kafka alone with --no-kafka', async () => {
    const other = randomName('test_migrate_untouched');
    const child = spawnTs(CLI, ['migrate', '--no-kafka', '--topic', other], env);
    assert.equal((await child.exited).code, 0, child.stderr.join('\n'));
    assert.ok(!(await admin.listTopics()).includes(other));
  });
});
