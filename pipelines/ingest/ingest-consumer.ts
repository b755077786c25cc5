import type { Consumer, ConsumerConfig } from 'kafkajs';
import type { SqlClient } from '../../infra/clickhouse/sql-client.js';
import { NonRetriableError, errorMessage } from '../../infra/errors.js';
import { ConsumerLifecycle } from '../../infra/kafka/consumer-lifecycle.js';
import { createKafka, ensureTopics, type KafkaEndpoint } from '../../infra/kafka/kafka-client.js';
import { RdKafkaProducer } from '../../infra/kafka/rdkafka-producer.js';
import { logger } from '../../infra/logger.js';
import type { Redis } from '../../infra/redis/redis-client.js';
import { RedisOnlineWriter } from '../online-store/redis-online-store.js';
import { DEFAULT_DEDUPE_WINDOW } from './ingest-config.js';
import type { TopicBinding } from './ingest-kind.js';
import { reasonClass, type IngestMetrics } from './ingest-metrics.js';
import { IngestPipeline, type FlushInfo, type PipelineHooks, type PipelineOptions } from './ingest-pipeline.js';
import { validateBatch } from './validate-batch.js';

const log = logger('ingest');

export interface IngestConsumerOptions {
  /** The brokers: consumed with kafkajs, dead letters written with librdkafka (see RdKafkaProducer). */
  kafka: KafkaEndpoint;
  /** Consumer group: processes with the same group share the partitions. */
  groupId: string;
  topics: readonly TopicBinding[];
  deadLetterTopic: string;
  /** Partitions of the dead-letter topic when this consumer creates it. @default 1 */
  deadLetterPartitions?: number;
  clickhouse: SqlClient;
  redis: Redis;
  /** Key prefix of the online store (REDIS_KEY_PREFIX). */
  redisPrefix: string;
  /** Behaviour sequence length kept per user in Redis. */
  maxHistory: number;
  /** Offsets per partition within which a record id seen again is applied to the online store once (0: off). @default DEFAULT_DEDUPE_WINDOW */
  dedupeWindow?: number;
  /** Buckets of the online store (ONLINE_STORE_BUCKETS): checked against the store's layout, or given to a new store. @default the store's own, 1 for a new store */
  onlineStoreBuckets?: number;
  /** A new group starts at the beginning of the topics (nothing produced before the first start is skipped). @default true */
  fromBeginning?: boolean;
  /** Create missing topics (and the dead-letter topic) on start. @default true */
  createTopics?: boolean;
  pipeline?: Omit<PipelineOptions, 'onFatal' | 'metrics' | 'hooks' | 'onFlushed'>;
  metrics?: IngestMetrics;
  hooks?: PipelineHooks;
  onFlushed?(flush: FlushInfo): void;
  /** kafkajs consumer settings over ours. */
  consumer?: Partial<ConsumerConfig>;
}

/**
 * `recsys ingest`: a kafkajs consumer group on the event topics. Each fetched
 * partition batch is validated (bad messages → dead letters) and handed to
 * the pipeline, which writes ClickHouse and Redis and commits offsets only
 * after both hold the data. See README "Exactly once, in effect".
 */
export class IngestConsumer {
  private readonly lifecycle: ConsumerLifecycle;
  private topics: string[] = [];

  private constructor(consumer: Consumer, private readonly producer: RdKafkaProducer, private pipeline: IngestPipeline | undefined) {
    this.lifecycle = new ConsumerLifecycle(consumer, () => this.topics, log);
  }

  /** Settles when the consumer stops: resolves on stop(), rejects on a fatal error. */
  get done(): Promise<void> {
    return this.lifecycle.done;
  }

  static async start(options: IngestConsumerOptions): Promise<IngestConsumer> {
    const { topics, metrics } = options;
    const kafka = createKafka(options.kafka);
    const byTopic = new Map(topics.map((t) => [t.topic, t]));
    if (byTopic.size !== topics.length) throw new NonRetriableError(`a topic is bound twice: ${topics.map((t) => t.topic).join(', ')}`);
    // First: a layout refused leaves no connection open behind it.
    const writer = await RedisOnlineWriter.open(options.redis, options.redisPrefix, options.maxHistory, {
      dedupeWindow: options.dedupeWindow ?? DEFAULT_DEDUPE_WINDOW,
      topics: topics.filter((t) => t.kind.addOnline).map((t) => t.topic),
      ...(options.onlineStoreBuckets === undefined ? {} : { buckets: options.onlineStoreBuckets }),
    });
    if (options.createTopics ?? true) {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const created = await ensureTopics(admin, [
          ...topics.map((t) => ({ topic: t.topic, numPartitions: t.partitions ?? 4 })),
          { topic: options.deadLetterTopic, numPartitions: options.deadLetterPartitions ?? 1 },
        ]);
        if (created.length > 0) log.info({ created }, 'created topics');
      } finally {
        await admin.disconnect();
      }
    }

    const consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: 30_000,
      heartbeatInterval: 3000,
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxBytes: 32 * 1024 * 1024,
      maxWaitTimeInMs: 500,
      ...options.consumer,
    });
    const producer = await RdKafkaProducer.connect({ brokers: options.kafka.brokers, clientId: options.kafka.clientId });
    const self = new IngestConsumer(consumer, producer, undefined);
    const pipeline = new IngestPipeline(
      {
        clickhouse: options.clickhouse,
        online: writer,
        sendDeadLetters: async (messages) => {
          await producer.send(options.deadLetterTopic, messages);
        },
        commit: (offsets) => consumer.commitOffsets(offsets),
      },
      {
        ...options.pipeline,
        ...(metrics ? { metrics } : {}),
        ...(options.hooks ? { hooks: options.hooks } : {}),
        ...(options.onFlushed ? { onFlushed: options.onFlushed } : {}),
        onFatal: (error) => void self.stopWith(error),
      },
    );
    self.pipeline = pipeline;
    self.topics = topics.map((t) => t.topic);

    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const dropped = pipeline.dropQueued();
      log.info({ memberId: payload.memberId, assigned: payload.memberAssignment, dropped }, 'joined group');
    });
    self.lifecycle.watchCrashes((error) => self.stopWith(error));

    try {
      await consumer.connect();
      for (const t of topics) await consumer.subscribe({ topic: t.topic, fromBeginning: options.fromBeginning ?? true });
      const partitions = topics.reduce((n, t) => n + (t.partitions ?? 4), 0);
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: Math.max(1, Math.min(partitions, 32)),
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          if (!isRunning() || isStale()) return;
          const binding = byTopic.get(batch.topic)!;
          const lastOffset = Number(batch.lastOffset());
          metrics?.lag.set({ topic: batch.topic, partition: String(batch.partition) }, Math.max(0, Number(batch.highWatermark) - lastOffset - 1));
          const validated = validateBatch(binding.kind, batch.topic, batch.partition, batch.messages, lastOffset);
          if (await pipeline.submit(validated, heartbeat)) {
            resolveOffset(batch.lastOffset());
            if (metrics) {
              metrics.eventsIn.inc({ topic: batch.topic }, validated.messages);
              metrics.eventsValid.inc({ kind: binding.kind.name }, validated.valid.length);
              for (const d of validated.dead) metrics.deadLettered.inc({ kind: d.kind, reason: reasonClass(d.reason) });
            }
          }
        },
      });
    } catch (error) {
      // A consumer that never ran: the producer must not keep the process alive.
      await producer.disconnect().catch(() => {});
      await consumer.disconnect().catch(() => {});
      throw error;
    }
    log.info({ groupId: options.groupId, topics: topics.map((t) => t.topic) }, 'ingesting');
    return self;
  }

  /**
   * Graceful stop: fetching stops, the flushes being written finish and are
   * committed (one stuck on an unavailable store is abandoned uncommitted),
   * batches not yet written are dropped (the next consumer fetches them from
   * the committed offsets), then the group is left.
   */
  stop(): Promise<void> {
    return this.stopWith(undefined);
  }

  private stopWith(error: unknown): Promise<void> {
    return this.lifecycle.stop(
      error,
      async () => {
        // What could not be finished stays uncommitted and is fetched again: a failure here is no reason to fail the stop.
        await this.pipeline?.stop().catch((e: unknown) => log.warn({ err: errorMessage(e) }, 'error while stopping the pipeline'));
      },
      () => this.producer.disconnect(),
    );
  }
}
