import type { Message } from 'kafkajs';
import type { SqlClient } from '../../infra/clickhouse/sql-client.js';
import { errorMessage, isRetriable } from '../../infra/errors.js';
import { logger } from '../../infra/logger.js';
import { retry, sleep, type RetryOptions } from '../../infra/retry.js';
import { emptyOps } from '../online-store/online-ops.js';
import type { PartitionChunk, RedisOnlineWriter } from '../online-store/redis-online-store.js';
import { deadLetterMessage, deadLetterRow, type DeadLetter } from './dead-letter.js';
import type { IngestKind } from './ingest-kind.js';
import type { IngestMetrics } from './ingest-metrics.js';
import { pushRow, type TableRows } from './offline-rows.js';

const log = logger('ingest');

/** One partition's messages from one Kafka fetch, validated. */
export interface PartitionBatch {
  topic: string;
  partition: number;
  kind: IngestKind;
  firstOffset: number;
  lastOffset: number;
  /** Messages in the batch (valid + dead). */
  messages: number;
  valid: { record: unknown; offset: number; kafkaTs: number }[];
  dead: DeadLetter[];
}

export interface CommitOffset {
  topic: string;
  partition: number;
  /** The next offset to read (last written + 1), as Kafka wants it. */
  offset: string;
}

/** Where a flush goes. */
export interface IngestSinks {
  clickhouse: SqlClient;
  online: RedisOnlineWriter;
  /** Produces dead letters to the dead-letter topic. */
  sendDeadLetters(messages: Message[]): Promise<void>;
  /** Commits consumer offsets; only after both stores hold the flush. */
  commit(offsets: CommitOffset[]): Promise<void>;
}

export interface FlushInfo {
  messages: number;
  valid: number;
  dead: number;
  partitions: { topic: string; partition: number; firstOffset: number; lastOffset: number }[];
  /** When the online store had the flush (epoch ms). */
  visibleAt: number;
  /** Event times of the valid records. */
  eventTimes: number[];
  /** Kafka timestamps of the valid records. */
  kafkaTimes: number[];
}

export interface PipelineHooks {
  /** Called once both stores hold a flush and before its offsets are committed (tests inject crashes here). */
  beforeCommit?(flush: FlushInfo): Promise<void> | void;
}

export interface PipelineOptions {
  /** Messages per flush (one ClickHouse insert per table, Redis in chunks). @default 20_000 */
  maxFlushMessages?: number;
  /** Messages accepted but not yet written; beyond it the consumer stops fetching. @default 3 × maxFlushMessages */
  maxQueuedMessages?: number;
  /** Events per atomic Redis script call (bounds how long Redis is blocked). @default 1000 */
  chunkSize?: number;
  /** Wait this long for more batches before a flush that is not full. @default 0 */
  lingerMs?: number;
  /**
   * Flushes written at once. While one waits on a store the next is already
   * being written; Redis still applies each partition's chunks in offset
   * order and offsets are still committed in flush order, each only after
   * its flush and every earlier one are in both stores. @default 3
   */
  maxFlushesInFlight?: number;
  /** Backoff while a store is unavailable; retries never run out (the consumer waits, never drops). */
  retry?: Omit<RetryOptions, 'retries' | 'signal' | 'onRetry'>;
  metrics?: IngestMetrics;
  hooks?: PipelineHooks;
  onFlushed?(flush: FlushInfo): void;
  /** A write failed in a way no retry cures (schema missing, a bug): the consumer must stop. */
  onFatal(error: unknown): void;
}

/**
 * Batches accepted from the consumer are grouped into flushes, each written
 * to ClickHouse (interactions, attribute updates, dead letters), the
 * dead-letter topic and Redis in parallel, with up to `maxFlushesInFlight`
 * flushes under way at once (pipelined: the stores' latencies overlap
 * instead of adding up). Redis applies each partition's flushes one after
 * the other in offset order; a flush's offsets are committed only after all
 * of its writes succeeded and the flushes before it were committed, so a
 * committed offset always means "everything before it is in both stores".
 * While a store is unavailable the flush is retried with backoff, the queue
 * fills and the consumer stops fetching (`submit` waits, heartbeating), so
 * nothing is dropped and nothing is committed that is not stored.
 */
export class IngestPipeline {
  private readonly queue: PartitionBatch[] = [];
  private queuedMessages = 0;
  private readonly abort = new AbortController();
  private stopping = false;
  private wake: (() => void) | undefined;
  private spaceFreed: (() => void) | undefined;
  private readonly loop: Promise<void>;
  /** Watermark per `topic\0partition` as this process last wrote it; re-read from Redis on a mismatch. */
  private readonly watermarks = new Map<string, number>();
  private readonly maxFlush: number;
  private readonly maxQueued: number;
  private readonly chunkSize: number;
  private readonly lingerMs: number;
  private readonly maxInFlight: number;
  private readonly retryOptions: RetryOptions;
  /** Per `topic\0partition`: the Redis apply of the latest flush holding it (the next one waits for it). */
  private readonly onlineTail = new Map<string, Promise<void>>();
  /** Stores currently failing (retrying); the paused gauge is 1 while any is. */
  private failing = 0;
  private fatal = false;

  constructor(private readonly sinks: IngestSinks, private readonly options: PipelineOptions) {
    this.maxFlush = options.maxFlushMessages ?? 20_000;
    this.maxQueued = options.maxQueuedMessages ?? 3 * this.maxFlush;
    this.chunkSize = options.chunkSize ?? 1000;
    this.lingerMs = options.lingerMs ?? 0;
    this.maxInFlight = Math.max(1, options.maxFlushesInFlight ?? 3);
    this.retryOptions = { maxDelayMs: process.env.NODE_ENV === 'test' ? 200 : 5000, ...options.retry };
    this.loop = this.run();
  }

  /**
   * Hands a batch over; waits while the queue is full (calling `heartbeat`
   * so the group keeps this member). False when the pipeline is stopping:
   * the batch was not taken and its offsets must not be resolved.
   */
  async submit(batch: PartitionBatch, heartbeat: () => Promise<void>): Promise<boolean> {
    while (this.queuedMessages > 0 && this.queuedMessages + batch.messages > this.maxQueued && !this.stopping) {
      await Promise.race([new Promise<void>((resolve) => (this.spaceFreed = resolve)), sleep(1000)]);
      await heartbeat();
    }
    if (this.stopping) return false;
    this.queue.push(batch);
    this.queuedMessages += batch.messages;
    this.wake?.();
    return true;
  }

  /** Forgets batches not yet being written (after a rebalance they are fetched again from the committed offsets). */
  dropQueued(): number {
    const dropped = this.queue.splice(0).reduce((n, b) => n + b.messages, 0);
    this.queuedMessages = 0;
    this.watermarks.clear();
    this.spaceFreed?.();
    return dropped;
  }

  /**
   * Stops taking batches, drops the queue, lets the flush being written
   * finish (and commit) unless it is waiting on an unavailable store, in
   * which case it is abandoned uncommitted.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort(new Error('ingestion stopping'));
    this.dropQueued();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    // Settles when the previous flush was committed (rejects if it was not).
    let previous: Promise<void> = Promise.resolve();
    while (!this.stopping && !this.fatal) {
      if (this.queue.length === 0 || inFlight.size >= this.maxInFlight) {
        const woken = new Promise<void>((resolve) => (this.wake = resolve));
        await (this.queue.length === 0 ? woken : Promise.race([woken, ...inFlight]));
        continue;
      }
      if (this.lingerMs > 0 && this.queuedMessages < this.maxFlush) await sleep(this.lingerMs);
      if (this.queue.length === 0) continue;
      const flush: PartitionBatch[] = [];
      let messages = 0;
      while (this.queue.length > 0 && (flush.length === 0 || messages + this.queue[0]!.messages <= this.maxFlush)) {
        const batch = this.queue.shift()!;
        flush.push(batch);
        messages += batch.messages;
      }
      this.queuedMessages -= messages;
      this.spaceFreed?.();
      const written = this.write(flush, previous);
      previous = written;
      const settled: Promise<void> = written.then(
        () => undefined,
        (error: unknown) => this.failed(error, messages),
      ).finally(() => {
        inFlight.delete(settled);
        this.wake?.();
      });
      inFlight.add(settled);
    }
    await Promise.all(inFlight);
  }

  /** A flush was not committed: abandoned on shutdown, or a failure no retry cures (reported once). */
  private failed(error: unknown, messages: number): void {
    if (this.stopping) {
      log.warn({ messages }, 'in-flight flush abandoned uncommitted on shutdown');
      return;
    }
    if (this.fatal) return;
    this.fatal = true;
    log.error({ err: error }, 'ingestion stopped: a write failed in a way no retry cures');
    this.options.onFatal(error);
  }

  private async untilDone<T>(store: string, fn: () => Promise<T>): Promise<T> {
    const metrics = this.options.metrics;
    let failing = false;
    try {
      return await retry(fn, {
        ...this.retryOptions,
        retries: Number.POSITIVE_INFINITY,
        signal: this.abort.signal,
        onRetry: (error, attempt, delayMs) => {
          if (!failing) this.failing++;
          failing = true;
          metrics?.retries.inc({ store });
          metrics?.paused.set(1);
          log.warn({ store, attempt, delayMs, err: errorMessage(error) }, 'store unavailable; consumption paused, retrying');
        },
      });
    } finally {
      if (failing) {
        this.failing--;
        if (this.failing === 0) metrics?.paused.set(0);
        if (!this.abort.signal.aborted) log.info({ store }, 'store back; consumption resumes');
      }
    }
  }

  /** Writes a flush to the stores, then, once `previous` (the flush before) is committed, commits it. */
  private async write(flush: PartitionBatch[], previous: Promise<void>): Promise<void> {
    const metrics = this.options.metrics;
    const timer = (stage: string) => metrics?.stageSeconds.startTimer({ stage });
    let visibleAt = 0;

    const offline = async () => {
      const end = timer('clickhouse');
      const rows: TableRows = new Map();
      for (const b of flush) {
        for (const v of b.valid) b.kind.addOffline(rows, v.record, { partition: b.partition, offset: v.offset });
        for (const d of b.dead) {
          const { table, row } = deadLetterRow(d);
          pushRow(rows, table, row);
        }
      }
      // TabSeparated of the columns the kind's rows have (rows of one table share their keys).
      await this.untilDone('clickhouse', () => Promise.all([...rows].map(([table, r]) => this.sinks.clickhouse.insert(table, r, { columns: Object.keys(r[0]!) }))));
      end?.();
    };

    const deadLetters = async () => {
      const messages = flush.flatMap((b) => b.dead.map(deadLetterMessage));
      if (messages.length === 0) return;
      const end = timer('dead_letters');
      await this.untilDone('kafka', () => this.sinks.sendDeadLetters(messages));
      end?.();
    };

    const online = async () => {
      const end = timer('redis');
      const byPartition = new Map<string, PartitionBatch[]>();
      for (const b of flush) {
        if (!b.kind.addOnline) continue;
        const id = `${b.topic}\u0000${b.partition}`;
        const list = byPartition.get(id);
        if (list) list.push(b);
        else byPartition.set(id, [b]);
      }
      // Each partition's flushes apply in offset order: after the previous flush's apply for it.
      // A failed predecessor (shutdown, fatal) fails this one too, so no offsets are skipped.
      await Promise.all([...byPartition].map(([id, batches]) => {
        const applied = (this.onlineTail.get(id) ?? Promise.resolve()).then(() => this.untilDone('redis', () => this.applyPartition(batches)));
        this.onlineTail.set(id, applied);
        applied.then(() => { if (this.onlineTail.get(id) === applied) this.onlineTail.delete(id); }, () => {});
        return applied;
      }));
      visibleAt = Date.now();
      end?.();
    };

    await Promise.all([offline(), deadLetters(), online()]);
    if (visibleAt === 0) visibleAt = Date.now();

    const info = this.flushInfo(flush, visibleAt);
    await previous;
    await this.options.hooks?.beforeCommit?.(info);
    const endCommit = timer('commit');
    const last = new Map<string, CommitOffset>();
    for (const b of flush) last.set(`${b.topic}\u0000${b.partition}`, { topic: b.topic, partition: b.partition, offset: String(b.lastOffset + 1) });
    try {
      await this.sinks.commit([...last.values()]);
      metrics?.committed.inc(info.messages);
    } catch (error) {
      // A rebalance took the partitions: their new owner replays from the last
      // commit, and the stores absorb the replay. Not fatal, not retried.
      log.warn({ err: errorMessage(error), retriable: isRetriable(error) }, 'offset commit failed; the flush will be replayed (idempotent)');
    }
    endCommit?.();
    if (metrics) {
      metrics.batches.inc();
      metrics.batchRows.observe(info.messages);
      for (const t of info.eventTimes) metrics.freshness.observe((visibleAt - t) / 1000);
      for (const t of info.kafkaTimes) metrics.kafkaToVisible.observe((visibleAt - t) / 1000);
    }
    this.options.onFlushed?.(info);
  }

  /** Applies one partition's batches (in offset order) to Redis, exactly once per offset. */
  private async applyPartition(batches: PartitionBatch[]): Promise<void> {
    const { topic, partition, kind } = batches[0]!;
    const lastOffset = batches[batches.length - 1]!.lastOffset;
    const records = batches.flatMap((b) => b.valid);
    const id = `${topic}\u0000${partition}`;
    for (let attempt = 0; ; attempt++) {
      this.abort.signal.throwIfAborted();
      let watermark = this.watermarks.get(id);
      if (watermark === undefined || attempt > 0) watermark = (await this.sinks.online.watermarks(topic, [partition])).get(partition)!;
      if (watermark >= lastOffset) {
        this.watermarks.set(id, watermark);
        return;
      }
      const pending = records.filter((r) => r.offset > watermark);
      const chunks: PartitionChunk[] = [];
      let expected = watermark;
      for (let i = 0; i < pending.length || chunks.length === 0; i += this.chunkSize) {
        const slice = pending.slice(i, i + this.chunkSize);
        const last = i + this.chunkSize >= pending.length ? lastOffset : slice[slice.length - 1]!.offset;
        const ops = emptyOps();
        for (const r of slice) kind.addOnline!(ops, r.record);
        chunks.push({ expected, last, ops });
        expected = last;
      }
      const applied = await this.sinks.online.applyChunks(topic, partition, chunks);
      if (applied === chunks.length) {
        this.watermarks.set(id, lastOffset);
        return;
      }
      // Another writer (this partition's owner after a rebalance) moved the
      // watermark: re-read it and apply only what is still missing.
      this.watermarks.delete(id);
      log.info({ topic, partition, applied, chunks: chunks.length }, 'online store watermark moved by another writer; re-reading');
    }
  }

  private flushInfo(flush: PartitionBatch[], visibleAt: number): FlushInfo {
    const eventTimes: number[] = [];
    const kafkaTimes: number[] = [];
    let messages = 0;
    let dead = 0;
    for (const b of flush) {
      messages += b.messages;
      dead += b.dead.length;
      for (const v of b.valid) {
        eventTimes.push(b.kind.eventTime(v.record));
        kafkaTimes.push(v.kafkaTs);
      }
    }
    return {
      messages, valid: eventTimes.length, dead, visibleAt, eventTimes, kafkaTimes,
      partitions: flush.map((b) => ({ topic: b.topic, partition: b.partition, firstOffset: b.firstOffset, lastOffset: b.lastOffset })),
    };
  }
}
