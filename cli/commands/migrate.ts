import type { Command } from 'commander';
import { migrateWith } from '../../infra/clickhouse/migrate.js';
import { createKafka } from '../../infra/kafka/kafka-client.js';
import { loadIngestSettings } from '../../pipelines/ingest/ingest-config.js';
import { ensureIngestTopics } from '../../pipelines/ingest/ingest-topics.js';
import { ensureDecisionTopic } from '../../pipelines/decisions/decision-topics.js';
import { deadLetterTopicOptions, eventsTopicOptions } from '../kafka-options.js';
import { servicesFromFlags } from './ingest.js';

interface MigrateFlags {
  clickhouseUrl?: string;
  database?: string;
  brokers?: string;
  topic?: string;
  partitions?: number;
  deadLetterTopic?: string;
  deadLetterPartitions?: number;
  kafka: boolean;
}

export function registerMigrate(program: Command): void {
  const command = program
    .command('migrate')
    .description('apply pending ClickHouse schema migrations (recorded in schema_migrations) and create the Kafka topics of ingestion; idempotent')
    .option('--clickhouse-url <url>', 'ClickHouse HTTP URL (env CLICKHOUSE_URL)')
    .option('--database <name>', 'database to migrate (env CLICKHOUSE_DATABASE)')
    .option('--no-kafka', 'ClickHouse only: do not create the Kafka topics');
  eventsTopicOptions(command);
  deadLetterTopicOptions(command)
    .action(async (opts: MigrateFlags) => {
      const services = servicesFromFlags(opts);
      const config = services.clickhouse;
      const settings = loadIngestSettings(process.env, {
        eventsTopic: opts.topic, eventsPartitions: opts.partitions, deadLetterTopic: opts.deadLetterTopic, deadLetterPartitions: opts.deadLetterPartitions,
      });
      // With CLICKHOUSE_CLUSTER, the cluster schema (infra/clickhouse/cluster-ddl.ts).
      const result = await migrateWith(config, (m) => console.log(`applying ${String(m.version).padStart(4, '0')}_${m.name}`));
      console.log(`${config.database}: ${result.applied.length} applied, ${result.alreadyApplied.length} already applied`);
      if (!opts.kafka) return;

      const kafkaAdmin = createKafka(services.kafka).admin();
      await kafkaAdmin.connect();
      try {
        for (const t of await ensureIngestTopics(kafkaAdmin, settings)) {
          if (t.created) console.log(`kafka topic ${t.topic}: created with ${t.partitions} partitions`);
          else if (t.partitions === t.configured) console.log(`kafka topic ${t.topic}: exists with ${t.partitions} partitions`);
          else console.log(`kafka topic ${t.topic}: exists with ${t.partitions} partitions, not the configured ${t.configured} (left as is: more partitions would move keys between partitions)`);
        }
        console.log(await ensureDecisionTopic(kafkaAdmin));
      } finally {
        await kafkaAdmin.disconnect();
      }
    });
}
