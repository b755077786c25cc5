import type { Admin, Batch, Consumer, Kafka } from 'kafkajs';
import { NonRetriableError, errorMessage } from '../../infra/errors.js';
import { ConsumerLifecycle, isRecoverableKafkaError } from '../../infra/kafka/consumer-lifecycle.js';
import { logger } from '../../infra/logger.js';
import type { StreamRecord, StreamTrainer } from './stream-trainer.js';
import type { StreamMetrics } from './stream-metrics.js';

const log = logger('train-stream');

/** Seeks back to one offset, without receiving it, before the consumer gives up (a loop, not a transient race). */
const MAX_SEEKS_TO_ONE_OFFSET = 5;

/** Records trained between heartbeats (a few micro-batches). */
const CHUNK_RECORDS = 1024;

/**
 * The offset the broker was asked to fetch from. kafkajs keeps it on every
 * batch (it drops records below it) but its types omit it; undefined if a
 * future version stops providing it (every jump is then checked by a seek).
 */
function fetchedOffsetOf(batch: Batch): number | undefined {
  const raw = (batch as Batch & { fetchedOffset?: string }).fetchedOffset;
  const offset = raw === undefined ? Number.NaN : Number(raw);
  return Number.isSafeInteger(offset) ? offset : undefined;
}

export interface StreamConsumerOptions {
  kafka: Kafka;
  trainer: StreamTrainer;
  topic: string;
  groupId: string;
  fromBeginning: boolean;
  sessionTimeoutMs: number;
  metrics?: StreamMetrics;
  /** Finish (publish, checkpoint) and stop after this long without a message; undefined: run until stop(). */
  idleExitMs?: number;
}

/**
 * Feeds a StreamTrainer from its own consumer group. Offsets live in the
 * trainer's checkpoint: on every partition assignment the consumer seeks to
 * the checkpoint's next offset, and the group's committed offsets are moved
 * only after a checkpoint (to what it covers), for lag monitoring. So a crash
 * anywhere replays from the checkpoint, and the trainer skips what its state
 * already holds: nothing is skipped, nothing is trained twice.
 */
export class StreamConsumer {
  private readonly lifecycle: ConsumerLifecycle;
  private work: Promise<unknown> = Promise.resolve();
  private lastMessageAt = Date.now();
  /** Batches being trained on (eachBatch in progress). */
  private busy = 0;
  /**
   * kafkajs is recovering from a Kafka fault (a restart, a rejoin): no
   * message then means no connection, not an idle stream, and must not end
   * the run. Cleared by the next join or message.
   */
  private recovering = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private admin: Admin | undefined;
  /** Per partition: the offset last sought back to, and how many times in a row. */
  private readonly seekBacks = new Map<number, { offset: number; times: number }>();

  private constructor(private readonly consumer: Consumer, private readonly options: StreamConsumerOptions) {
    this.lifecycle = new ConsumerLifecycle(consumer, () => [options.topic], log);
  }

  /** Settles when the consumer stops: resolves after stop() or drain(), rejects with the error that stopped it. */
  get done(): Promise<void> {
    return this.lifecycle.done;
  }

  private get stopping(): boolean {
    return this.lifecycle.isStopping;
  }

  static async start(options: StreamConsumerOptions): Promise<StreamConsumer> {
    const { kafka, trainer, topic } = options;
    const consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      rebalanceTimeout: options.sessionTimeoutMs,
      heartbeatInterval: Math.min(3000, Math.floor(options.sessionTimeoutMs / 3)),
      maxWaitTimeInMs: 200,
      maxBytesPerPartition: 2 * 1024 * 1024,
    });
    const self = new StreamConsumer(consumer, options);
    const recovering = () => { self.recovering = true; };
    consumer.on(consumer.events.REBALANCING, recovering);
    consumer.on(consumer.events.CRASH, ({ payload }) => { if (payload.restart) recovering(); });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      self.recovering = false;
      self.lastMessageAt = Date.now();
      const assigned = payload.memberAssignment[topic] ?? [];
      const positions = trainer.positions();
      const seeks = assigned.flatMap((p) => (positions.has(p) ? [{ partition: p, offset: positions.get(p)! }] : []));
      // Resume exactly where the checkpoint ends, whatever the group committed.
      for (const s of seeks) consumer.seek({ topic, partition: s.partition, offset: String(s.offset) });
      log.info({ assigned, seeks }, 'joined group');
    });
    self.lifecycle.watchCrashes((error) => self.stopWith(error));
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: options.fromBeginning });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale() || self.stopping) return;
        if (batch.messages.length > 0) {
          self.lastMessageAt = Date.now();
          self.recovering = false;
        }
        const lastOffset = Number(batch.lastOffset());
        options.metrics?.lag.set({ partition: String(batch.partition) }, Math.max(0, Number(batch.highWatermark) - lastOffset - 1));
        // Idle means nothing to train on: a batch that takes longer than idleExitMs to train is not idleness.
        self.busy++;
        try {
          await self.serially(async () => {
            const records = batch.messages.map((m) => ({ partition: batch.partition, offset: Number(m.offset), value: m.value, timestamp: Number(m.timestamp) }));
            const fetchedFrom = fetchedOffsetOf(batch);
            // A fetch holds up to maxBytesPerPartition (thousands of events, many micro-batches): trained in chunks with a
            // heartbeat and a turn of the event loop between them, so a slow machine does not lose the group session and
            // a stop does not wait for the whole fetch.
            for (let at = 0; at === 0 || at < records.length; at += CHUNK_RECORDS) {
              if (at > 0 && (!isRunning() || isStale() || self.stopping)) break;
              const sought = await self.consume(records.slice(at, at + CHUNK_RECORDS), fetchedFrom);
              await heartbeat();
              if (await trainer.tick()) await self.commit();
              if (sought) break;
              await new Promise((resolve) => setImmediate(resolve));
            }
          });
        } finally {
          self.busy--;
          if (batch.messages.length > 0) self.lastMessageAt = Date.now();
        }
      },
    });
    if (options.idleExitMs !== undefined) {
      const idle = options.idleExitMs;
      self.idleTimer = setInterval(() => {
        if (self.busy === 0 && !self.recovering && Date.now() - self.lastMessageAt >= idle && !self.stopping) {
          log.info({ idleMs: idle }, 'no messages: finishing');
          void self.stop();
        }
      }, Math.min(500, idle));
    }
    log.info({ groupId: options.groupId, topic }, 'training from the stream');
    return self;
  }

  /**
   * Feeds one batch to the trainer. At a jump it cannot explain, the
   * partition's log start decides: the next offset was deleted (the gap is
   * recorded and training goes on at the log start) or it still exists (the
   * consumer seeks back to it). Seeking back to one offset again and again
   * is a fault, stopped with an error rather than looped on. True when it
   * sought (the rest of the fetched batch is then dropped).
   */
  private async consume(records: StreamRecord[], fetchedFrom: number | undefined): Promise<boolean> {
    const { trainer, topic } = this.options;
    const result = trainer.consume(records, fetchedFrom === undefined ? {} : { fetchedFrom });
    if (!result) {
      if (records.length > 0) this.seekBacks.delete(records[0]!.partition);
      return false;
    }
    const { partition, offset: next } = result.seek;
    const logStart = await this.logStart(partition);
    if (logStart > next) {
      trainer.skipDeleted(partition, logStart);
      this.seekBacks.delete(partition);
      const rest = records.filter((r) => r.offset >= logStart);
      // Fetched from the log start (the consumer's reset after "offset out of range"): the rest of the batch follows on.
      if (fetchedFrom !== undefined && fetchedFrom <= logStart && rest.length > 0) return this.consume(rest, fetchedFrom);
      this.consumer.seek({ topic, partition, offset: String(logStart) });
      return true;
    }
    const previous = this.seekBacks.get(partition);
    const times = previous?.offset === next ? previous.times + 1 : 1;
    if (times > MAX_SEEKS_TO_ONE_OFFSET) {
      throw new NonRetriableError(`partition ${partition} of ${topic}: sought back to offset ${next} ${MAX_SEEKS_TO_ONE_OFFSET} times and got offset ${records[0]?.offset} each time (log start ${logStart}); stopping rather than looping`);
    }
    this.seekBacks.set(partition, { offset: next, times });
    log.warn({ partition, offset: next, got: records[0]?.offset, fetchedFrom, logStart }, 'offset jump: seeking back to the next unconsumed offset');
    this.consumer.seek({ topic, partition, offset: String(next) });
    return true;
  }

  /** Where a partition's log starts now (the broker's earliest offset). */
  private async logStart(partition: number): Promise<number> {
    if (!this.admin) {
      const admin = this.options.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    const offsets = await this.admin.fetchTopicOffsets(this.options.topic);
    const found = offsets.find((o) => o.partition === partition);
    if (!found) throw new NonRetriableError(`partition ${partition} is not in topic ${this.options.topic}`);
    return Number(found.low);
  }

  /** End of a run (idle exit): trains what is buffered, publishes, checkpoints, commits, leaves the group. */
  stop(): Promise<void> {
    return this.stopWith(undefined, 'finish');
  }

  /**
   * A graceful shutdown (SIGTERM): stops fetching, lets the micro-batch in
   * hand finish, trains what is buffered, checkpoints, commits, leaves the
   * group. No version is published (that can take long; the checkpoint keeps
   * what is unpublished and the next run publishes it on schedule).
   */
  drain(): Promise<void> {
    return this.stopWith(undefined, 'drain');
  }

  private stopWith(error: unknown, how: 'finish' | 'drain' = 'finish'): Promise<void> {
    clearInterval(this.idleTimer);
    // Once stopping, a batch already fetched is ignored by eachBatch (its offsets stay unconsumed in the ledger).
    return this.lifecycle.stop(
      error,
      async () => {
        if (error !== undefined) return;
        await this.serially(async () => {
          if (how === 'finish') await this.options.trainer.finish();
          else await this.options.trainer.checkpoint();
          await this.commit();
        });
        log.info({ how, positions: Object.fromEntries(this.options.trainer.positions()) }, how === 'drain' ? 'drained: checkpointed and committed' : 'finished');
      },
      async () => {
        await this.admin?.disconnect();
      },
    );
  }

  /** Moves the group's committed offsets to what the last checkpoint covers. */
  private async commit(): Promise<void> {
    const offsets = [...this.options.trainer.positions()].map(([partition, offset]) => ({ topic: this.options.topic, partition, offset: String(offset) }));
    if (offsets.length === 0) return;
    await this.consumer.commitOffsets(offsets).catch((e: unknown) => log.warn({ err: errorMessage(e) }, 'committing offsets failed (the checkpoint holds them)'));
  }

  /**
   * Runs training work one piece at a time. A failure stops the consumer,
   * except a Kafka error kafkajs recovers from (a heartbeat to a coordinator
   * that died): it goes back to kafkajs, which rejoins or restarts the
   * consumer, and the join seeks to the trainer's positions.
   */
  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.work.then(fn);
    this.work = next.catch(() => {});
    return next.catch((error: unknown) => {
      if (isRecoverableKafkaError(error) && !this.stopping) {
        this.recovering = true;
        log.warn({ err: errorMessage(error) }, 'Kafka error in a batch: kafkajs rejoins the group (training state kept)');
      } else {
        void this.stopWith(error);
      }
      throw error;
    });
  }
}
