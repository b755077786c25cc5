import type { Message } from 'kafkajs';
import type { SqlClient } from '../../infra/clickhouse/sql-client.js';
import { errorMessage, isRetriable, RecsysError } from '../../infra/errors.js';
import { logger } from '../../infra/logger.js';
import { retry, sleep, type RetryOptions } from '../../infra/retry.js';
import { emptyOps } from '../online-store/online-ops.js';
import type { PartitionChunk, RedisOnlineWriter } from '../online-store/redis-online-store.js';
import { deadLetterBatches, deadLetterMessage, deadLetterRow, type DeadLetter } from './dead-letter.js';
import type { IngestKind } from './ingest-kind.js';
import type { IngestMetrics } from './ingest-metrics.js';
import { RecentIds } from './recent-ids.js';
import { BucketRouter } from './bucket-router.js';
import { pushRow, type TableRows } from './offline-rows.js';
import { classifyWriteError, WriteFailedError } from './write-errors.js';

const log = logger('ingest');

/** A valid record and where it came from (its original bytes, for a dead letter should no store take it). */
export interface ValidRecord {
  record: unknown;
  offset: number;
  kafkaTs: number;
  key?: Buffer | null;
  value?: Buffer | null;
}

/** One partition's messages from one Kafka fetch, validated. */
export interface PartitionBatch {
  topic: string;
  partition: number;
  kind: IngestKind;
  firstOffset: number;
  lastOffset: number;
  /** Messages in the batch (valid + dead). */
  messages: number;
  /** Bytes of the messages' keys and values (flushes and the queue are bounded by it). @default 0 */
  bytes?: number;
  valid: ValidRecord[];
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
  /** Valid records no store would take, dead-lettered instead (see `unknownErrorRetries`). */
  unwritable: number;
}

export interface PipelineHooks {
  /** Called once both stores hold a flush and before its offsets are committed (tests inject crashes here). */
  beforeCommit?(flush: FlushInfo): Promise<void> | void;
}

export interface PipelineOptions {
  /** Messages per flush (one ClickHouse insert per table, Redis in chunks). @default 20_000 */
  maxFlushMessages?: number;
  /**
   * Message bytes (keys and values) per flush, so a flush of large messages
   * cannot build an insert body V8 or ClickHouse refuses (20,000 messages at
   * the 64 KiB cap are 1.3 GB). A batch larger than this alone is a flush of
   * its own. @default 16 MiB
   */
  maxFlushBytes?: number;
  /** Messages accepted but not yet written; beyond it the consumer stops fetching. @default 3 × maxFlushMessages */
  maxQueuedMessages?: number;
  /** Message bytes accepted but not yet written; beyond it the consumer stops fetching. @default 3 × maxFlushBytes */
  maxQueuedBytes?: number;
  /**
   * Bytes per produce request to the dead-letter topic: below the broker's
   * `message.max.bytes` (1 MiB by default). @default 900 KiB
   */
  maxDeadLetterBatchBytes?: number;
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
  /**
   * Retries of a write that failed with an error no store client recognises
   * (not a store outage): after these, the flush's records are written in
   * halves to find the ones no store takes, which are dead-lettered with the
   * cause; the rest are stored. @default 3
   */
  unknownErrorRetries?: number;
  /**
   * Records per flush that may be dead-lettered as unwritable; beyond it the
   * failure is taken for the store's, not the records' (a table missing), and
   * ingestion stops. @default 16
   */
  maxUnwritablePerFlush?: number;
  /** How long `stop()` lets the flushes in flight finish and commit before abandoning them. @default 8000 */
  drainTimeoutMs?: number;
  /** Backoff while a store is unavailable; retries never run out (the consumer waits, never drops). */
  retry?: Omit<RetryOptions, 'retries' | 'signal' | 'onRetry'>;
  metrics?: IngestMetrics;
  hooks?: PipelineHooks;
  onFlushed?(flush: FlushInfo): void;
  /** A write failed in a way no retry cures (schema missing, a bug): the consumer must stop. */
  onFatal(error: unknown): void;
}

type PipelineSettings = Required<Pick<PipelineOptions, 'maxFlushMessages' | 'maxFlushBytes' | 'maxQueuedMessages' | 'maxQueuedBytes' | 'maxDeadLetterBatchBytes'
  | 'chunkSize' | 'lingerMs' | 'maxFlushesInFlight' | 'unknownErrorRetries' | 'maxUnwritablePerFlush' | 'drainTimeoutMs'>> & { retry: RetryOptions };

/** PipelineOptions with every default filled in, checked once (errors name the option and the value). */
export function resolvePipelineOptions(options: PipelineOptions): PipelineSettings {
  const maxFlushMessages = options.maxFlushMessages ?? 20_000;
  const maxFlushBytes = options.maxFlushBytes ?? 16 * MiB;
  const settings: PipelineSettings = {
    maxFlushMessages,
    maxFlushBytes,
    maxQueuedMessages: options.maxQueuedMessages ?? 3 * maxFlushMessages,
    maxQueuedBytes: options.maxQueuedBytes ?? 3 * maxFlushBytes,
    maxDeadLetterBatchBytes: options.maxDeadLetterBatchBytes ?? 900 * 1024,
    chunkSize: options.chunkSize ?? 1000,
    lingerMs: options.lingerMs ?? 0,
    maxFlushesInFlight: Math.max(1, options.maxFlushesInFlight ?? 3),
    unknownErrorRetries: Math.max(0, options.unknownErrorRetries ?? 3),
    maxUnwritablePerFlush: Math.max(1, options.maxUnwritablePerFlush ?? 16),
    drainTimeoutMs: options.drainTimeoutMs ?? 8000,
    retry: { maxDelayMs: process.env.NODE_ENV === 'test' ? 200 : 5000, ...options.retry },
  };
  for (const name of ['maxFlushMessages', 'maxFlushBytes', 'maxDeadLetterBatchBytes', 'chunkSize'] as const) {
    const value = settings[name];
    if (!(Number.isInteger(value) && value > 0)) throw new RecsysError(`ingest pipeline option ${name} must be a positive integer, got ${value}`, { retriable: false });
  }
  return settings;
}

/** A valid record of a flush with its batch. */
interface FlushRecord {
  batch: PartitionBatch;
  valid: ValidRecord;
}

const MiB = 1024 * 1024;

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
 * nothing is dropped and nothing is committed that is not stored. A write
 * that fails otherwise is retried a bounded number of times, then the
 * records no store takes are found (bisection) and dead-lettered, so one
 * message can never hold a partition up.
 */
export class IngestPipeline {
  private readonly queue: PartitionBatch[] = [];
  private queuedMessages = 0;
  private queuedBytes = 0;
  private readonly abort = new AbortController();
  private stopping = false;
  private wake: (() => void) | undefined;
  private spaceFreed: (() => void) | undefined;
  private readonly loop: Promise<void>;
  /** Watermarks (one per bucket) per `topic\0partition` as this process last wrote them; re-read from Redis on a mismatch. */
  private readonly watermarks = new Map<string, number[]>();
  /** Per partition and bucket, the ids applied within the dedupe window (see recentIds). */
  private readonly recent = new Map<string, RecentIds[]>();
  /** The options with their defaults, merged and checked once. */
  private readonly settings: PipelineSettings;
  /** Per `topic\0partition`: the Redis apply of the latest flush holding it (the next one waits for it). */
  private readonly onlineTail = new Map<string, Promise<void>>();
  /** Partitions whose online store is known to miss events (reported once each). */
  private readonly behind = new Set<string>();
  /** Stores currently failing (retrying); the paused gauge is 1 while any is. */
  private failing = 0;
  private fatal = false;

  constructor(private readonly sinks: IngestSinks, private readonly options: PipelineOptions) {
    this.settings = resolvePipelineOptions(options);
    this.loop = this.run();
  }

  /**
   * Hands a batch over; waits while the queue is full, by messages or bytes
   * (calling `heartbeat` so the group keeps this member). False when the
   * pipeline is stopping: the batch was not taken and its offsets must not be
   * resolved.
   */
  async submit(batch: PartitionBatch, heartbeat: () => Promise<void>): Promise<boolean> {
    const bytes = batch.bytes ?? 0;
    while (this.queuedMessages > 0 && (this.queuedMessages + batch.messages > this.settings.maxQueuedMessages || this.queuedBytes + bytes > this.settings.maxQueuedBytes) && !this.stopping) {
      await Promise.race([new Promise<void>((resolve) => (this.spaceFreed = resolve)), sleep(1000)]);
      await heartbeat();
    }
    if (this.stopping) return false;
    this.queue.push(batch);
    this.queuedMessages += batch.messages;
    this.queuedBytes += bytes;
    this.wake?.();
    return true;
  }

  /** Messages and bytes accepted and not yet being written. */
  get queued(): { messages: number; bytes: number } {
    return { messages: this.queuedMessages, bytes: this.queuedBytes };
  }

  /** Forgets batches not yet being written (after a rebalance they are fetched again from the committed offsets). */
  dropQueued(): number {
    const dropped = this.queue.splice(0).reduce((n, b) => n + b.messages, 0);
    this.queuedMessages = 0;
    this.queuedBytes = 0;
    this.watermarks.clear();
    this.spaceFreed?.();
    return dropped;
  }

  /**
   * Stops taking batches and drops the queue; the flushes being written
   * finish and commit (within `drainTimeoutMs`), except one waiting on an
   * unavailable store, which is abandoned uncommitted (replayed by the next
   * consumer; the stores absorb the replay).
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.dropQueued();
    this.wake?.();
    if (this.failing > 0) this.abort.abort(new Error('ingestion stopping while a store is unavailable'));
    const timer = setTimeout(() => this.abort.abort(new Error(`ingestion stopping: flushes not done within ${this.settings.drainTimeoutMs} ms`)), this.settings.drainTimeoutMs);
    try {
      await this.loop;
    } finally {
      clearTimeout(timer);
    }
  }

  private async run(): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    // Settles when the previous flush was committed (rejects if it was not).
    let previous: Promise<void> = Promise.resolve();
    while (!this.stopping && !this.fatal) {
      if (this.queue.length === 0 || inFlight.size >= this.settings.maxFlushesInFlight) {
        const woken = new Promise<void>((resolve) => (this.wake = resolve));
        await (this.queue.length === 0 ? woken : Promise.race([woken, ...inFlight]));
        continue;
      }
      if (this.settings.lingerMs > 0 && this.queuedMessages < this.settings.maxFlushMessages && this.queuedBytes < this.settings.maxFlushBytes) await sleep(this.settings.lingerMs);
      if (this.queue.length === 0 || this.stopping) continue;
      const flush: PartitionBatch[] = [];
      let messages = 0;
      let bytes = 0;
      while (this.queue.length > 0 && (flush.length === 0 || (messages + this.queue[0]!.messages <= this.settings.maxFlushMessages && bytes + (this.queue[0]!.bytes ?? 0) <= this.settings.maxFlushBytes))) {
        const batch = this.queue.shift()!;
        flush.push(batch);
        messages += batch.messages;
        bytes += batch.bytes ?? 0;
      }
      this.queuedMessages -= messages;
      this.queuedBytes -= bytes;
      this.spaceFreed?.();
      const written = this.write(flush, previous);
      previous = written;
      const settled: Promise<void> = written.then(
        () => undefined,
        (error: unknown) => this.failed(error, flush),
      ).finally(() => {
        inFlight.delete(settled);
        this.wake?.();
      });
      inFlight.add(settled);
    }
    await Promise.all(inFlight);
  }

  /** A flush was not committed: abandoned on shutdown, or a failure no retry cures (reported once). */
  private failed(error: unknown, flush: PartitionBatch[]): void {
    const messages = flush.reduce((n, b) => n + b.messages, 0);
    if (this.abort.signal.aborted && !(error instanceof WriteFailedError)) {
      log.warn({ messages, partitions: positions(flush) }, 'in-flight flush abandoned uncommitted on shutdown');
      return;
    }
    if (this.fatal) return;
    this.fatal = true;
    this.options.metrics?.failed.set(1);
    log.error({ err: errorMessage(error), partitions: positions(flush) }, 'ingestion stopped: a write failed in a way no retry cures; nothing from these offsets on is committed');
    this.options.onFatal(error);
  }

  /**
   * Runs one write of `store`: a store outage (transient error) is retried
   * with backoff for as long as it lasts; an error no client recognises is
   * retried `unknownRetries` times; then (or at once for an error classified
   * as permanent) it throws WriteFailedError.
   */
  private async attempt<T>(store: string, fn: () => Promise<T>, unknownRetries = this.settings.unknownErrorRetries): Promise<T> {
    const metrics = this.options.metrics;
    let failing = false;
    let attempts = 0;
    let unknown = 0;
    try {
      return await retry(async () => {
        attempts++;
        try {
          return await fn();
        } catch (error) {
          const kind = classifyWriteError(error);
          if (kind === 'transient') throw new RecsysError(errorMessage(error), { retriable: true, cause: error });
          if (kind === 'unknown' && unknown++ < unknownRetries) throw new RecsysError(errorMessage(error), { retriable: true, cause: error, context: { unknown: true } });
          throw new WriteFailedError(store, attempts, error);
        }
      }, {
        ...this.settings.retry,
        retries: Number.POSITIVE_INFINITY,
        signal: this.abort.signal,
        onRetry: (error, attempt, delayMs) => {
          if ((error as RecsysError).context?.unknown) {
            log.warn({ store, attempt, delayMs, err: errorMessage(error) }, 'write failed with an unrecognised error; retrying a bounded number of times');
            return;
          }
          if (!failing) this.failing++;
          failing = true;
          metrics?.retries.inc({ store });
          metrics?.paused.set(1);
          log.warn({ store, attempt, delayMs, err: errorMessage(error) }, 'store unavailable; consumption paused, retrying');
          // Stopping while a store is away: do not wait for it.
          if (this.stopping) this.abort.abort(new Error('ingestion stopping while a store is unavailable'));
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
    // Valid records a store refused for good, by `topic\0partition\0offset` (dead-lettered below).
    const unwritable = new Map<string, { record: FlushRecord; reason: string }>();

    const offline = async () => {
      const end = timer('clickhouse');
      const dead = flush.flatMap((b) => b.dead);
      const records = flush.flatMap((batch) => batch.valid.map((valid) => ({ batch, valid })));
      try {
        await this.attempt('clickhouse', () => this.insertOffline(records, dead));
      } catch (error) {
        if (!(error instanceof WriteFailedError)) throw error;
        this.reportFailure(error, flush);
        // Dead letters alone first: if even they fail, the table is at fault, not a record.
        await this.attempt('clickhouse', () => this.insertOffline([], dead));
        for (const r of await this.isolate('clickhouse', records, (part) => this.insertOffline(part, []), flush)) {
          unwritable.set(recordId(r), { record: r, reason: `unwritable: ClickHouse refused the record: ${errorMessage(error.cause)}` });
        }
      }
      end?.();
    };

    const deadLetters = async () => {
      const dead = flush.flatMap((b) => b.dead);
      if (dead.length === 0) return;
      const end = timer('dead_letters');
      await this.sendDeadLetters(dead);
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
        const applied = (this.onlineTail.get(id) ?? Promise.resolve()).then(async () => {
          try {
            await this.applyPartition(batches);
          } catch (error) {
            if (!(error instanceof WriteFailedError)) throw error;
            this.reportFailure(error, batches);
            for (const r of await this.applyPartitionIsolating(batches)) {
              unwritable.set(recordId(r), { record: r, reason: `unwritable: the online store (Redis) refused the record: ${errorMessage(error.cause)}` });
            }
          }
        });
        this.onlineTail.set(id, applied);
        applied.then(() => { if (this.onlineTail.get(id) === applied) this.onlineTail.delete(id); }, () => {});
        return applied;
      }));
      visibleAt = Date.now();
      end?.();
    };

    await Promise.all([offline(), deadLetters(), online()]);
    if (visibleAt === 0) visibleAt = Date.now();
    if (unwritable.size > 0) await this.deadLetterUnwritable([...unwritable.values()]);

    const info = this.flushInfo(flush, visibleAt, unwritable.size);
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

  /** One insert per table of the records' rows and the dead letters' rows (TabSeparated of the columns the rows have). */
  private async insertOffline(records: readonly FlushRecord[], dead: readonly DeadLetter[]): Promise<void> {
    const rows: TableRows = new Map();
    for (const { batch, valid } of records) batch.kind.addOffline(rows, valid.record, { partition: batch.partition, offset: valid.offset });
    for (const d of dead) {
      const { table, row } = deadLetterRow(d);
      pushRow(rows, table, row);
    }
    await Promise.all([...rows].map(([table, r]) => this.sinks.clickhouse.insert(table, r, { columns: Object.keys(r[0]!) })));
  }

  /** Produces dead letters in requests bounded by bytes, one after the other. */
  private async sendDeadLetters(dead: readonly DeadLetter[]): Promise<void> {
    for (const batch of deadLetterBatches(dead.map(deadLetterMessage), this.settings.maxDeadLetterBatchBytes)) {
      await this.attempt('kafka', () => this.sinks.sendDeadLetters(batch));
    }
  }

  /** Records no store takes become dead letters (topic and table), so the partition moves on and nothing is lost. */
  private async deadLetterUnwritable(found: { record: FlushRecord; reason: string }[]): Promise<void> {
    const dead: DeadLetter[] = found.map(({ record: { batch, valid }, reason }) => ({
      topic: batch.topic, partition: batch.partition, offset: valid.offset, timestamp: valid.kafkaTs, kind: batch.kind.name, reason,
      key: valid.key ?? null,
      value: valid.value ?? Buffer.from(JSON.stringify(valid.record)),
    }));
    await Promise.all([this.attempt('clickhouse', () => this.insertOffline([], dead)), this.sendDeadLetters(dead)]);
    for (const d of dead) {
      this.options.metrics?.deadLettered.inc({ kind: d.kind, reason: 'unwritable' });
      log.error({ topic: d.topic, partition: d.partition, offset: d.offset, reason: d.reason }, 'record dead-lettered: no retry got it into the store');
    }
  }

  /** The failed state of one flush's write: counted, and logged with the cause and the offsets. */
  private reportFailure(error: WriteFailedError, batches: readonly PartitionBatch[]): void {
    this.options.metrics?.writeFailures.inc({ store: error.store });
    log.error({ store: error.store, attempts: error.attempts, err: errorMessage(error.cause), partitions: positions(batches) },
      'write failed and retries did not cure it; looking for the records the store refuses (they go to the dead-letter topic)');
  }

  /**
   * The records `write` fails on alone, found by writing halves (each part
   * that succeeds is stored; writes are idempotent). More than
   * `maxUnwritable` of them, or all of several, means the store is at fault,
   * not the records: throws.
   */
  private async isolate(store: string, records: readonly FlushRecord[], write: (part: readonly FlushRecord[]) => Promise<void>, flush: readonly PartitionBatch[]): Promise<FlushRecord[]> {
    const refused: FlushRecord[] = [];
    let lastError: WriteFailedError | undefined;
    const visit = async (part: readonly FlushRecord[]): Promise<void> => {
      if (part.length === 0) return;
      try {
        await this.attempt(store, () => write(part), 0);
      } catch (error) {
        if (!(error instanceof WriteFailedError)) throw error;
        lastError = error;
        if (part.length > 1) {
          const mid = part.length >> 1;
          await visit(part.slice(0, mid));
          await visit(part.slice(mid));
          return;
        }
        refused.push(part[0]!);
        if (refused.length > this.settings.maxUnwritablePerFlush) throw this.storeAtFault(store, error, flush);
      }
    };
    const mid = records.length >> 1;
    await visit(records.slice(0, mid));
    await visit(records.slice(mid));
    if (records.length > 1 && refused.length === records.length) throw this.storeAtFault(store, lastError!, flush);
    return refused;
  }

  private storeAtFault(store: string, error: WriteFailedError, flush: readonly PartitionBatch[]): WriteFailedError {
    log.error({ store, err: errorMessage(error.cause), partitions: positions(flush) }, 'the store refuses most records of the flush: taken for a fault of the store, not of the records');
    return new WriteFailedError(store, error.attempts, error.cause);
  }

  /** Reads a partition's watermarks (one per bucket) from Redis and reports it if the store lost events this process expected there. */
  private async readWatermarks(topic: string, partition: number, expectedAtLeast: number): Promise<number[]> {
    const watermarks = await this.attempt('redis', () => this.sinks.online.watermarks(topic, partition));
    const low = Math.min(...watermarks);
    const id = `${topic}\u0000${partition}`;
    if (low < expectedAtLeast && !this.behind.has(id)) {
      this.behind.add(id);
      const detail = `watermark ${low} found behind offset ${expectedAtLeast} (bucket ${watermarks.indexOf(low)} of ${watermarks.length}) at ${new Date().toISOString()}`;
      this.options.metrics?.onlineStoreBehind.set({ topic, partition: String(partition) }, 1);
      log.error({ topic, partition, watermark: low, bucket: watermarks.indexOf(low), expectedAtLeast },
        'online store (Redis) is missing events: its watermark is behind what was applied or committed (Redis restarted without persistence, restored from an old snapshot, or failed over to a lagging replica); ingestion goes on, run `recsys ingest --rebuild-online-store` to refill it from ClickHouse');
      await this.attempt('redis', () => this.sinks.online.markBehind(topic, partition, detail));
    }
    return watermarks;
  }

  /**
   * Applies one partition's batches (in offset order) to Redis, exactly once
   * per offset and bucket: chunk by chunk, each bucket's share with the
   * bucket's own watermark.
   */
  private async applyPartition(batches: PartitionBatch[]): Promise<void> {
    const { topic, partition, kind } = batches[0]!;
    const lastOffset = batches[batches.length - 1]!.lastOffset;
    const records = batches.flatMap((b) => b.valid);
    const id = `${topic}\u0000${partition}`;
    const { bucketOf } = this.sinks.online.keys;
    for (let attempt = 0; ; attempt++) {
      this.abort.signal.throwIfAborted();
      const cached = this.watermarks.get(id);
      // The first batch after an assignment starts at the committed offset: everything before it should be in Redis.
      let watermarks = cached;
      if (watermarks === undefined || attempt > 0) watermarks = await this.readWatermarks(topic, partition, cached ? Math.min(...cached) : batches[0]!.firstOffset - 1);
      const low = Math.min(...watermarks);
      if (low >= lastOffset) {
        this.watermarks.set(id, watermarks);
        return;
      }
      const pending = records.filter((r) => r.offset > low);
      const recent = await this.recentIds(topic, partition, kind, cached === undefined || attempt > 0);
      let duplicates = 0;
      const chunks: PartitionChunk[][] = watermarks.map(() => []);
      const expected = [...watermarks];
      for (let i = 0, first = true; i < pending.length || first; i += this.settings.chunkSize, first = false) {
        const slice = pending.slice(i, i + this.settings.chunkSize);
        const last = i + this.settings.chunkSize >= pending.length ? lastOffset : slice[slice.length - 1]!.offset;
        const router = new BucketRouter(bucketOf, watermarks, recent);
        for (const r of slice) {
          router.next(r.offset, recent ? kind.recordId!(r.record) : undefined);
          kind.addOnline!(router.target, r.record);
          if (router.duplicate) duplicates++;
        }
        for (let b = 0; b < chunks.length; b++) {
          if (watermarks[b]! >= last) continue;
          // The window moves chunk by chunk, as the script moves it in Redis: a flush can span more than the
          // window (one record batch of a fast producer can hold thousands), and an id further back counts again.
          // Added before the chunk applies; a chunk that does not apply makes the next attempt reload the window.
          recent?.[b]!.add(last, router.ids[b]!);
          chunks[b]!.push({ expected: expected[b]!, last, ops: router.ops[b]!, ids: router.ids[b]! });
          expected[b] = last;
        }
      }
      let applied: number[];
      try {
        applied = await this.attempt('redis', () => this.sinks.online.applyChunks(topic, partition, chunks));
      } catch (error) {
        // The windows hold this flush's ids already: reloaded from Redis before the flush is tried again.
        this.recent.delete(id);
        throw error;
      }
      if (applied.every((n, b) => n === chunks[b]!.length)) {
        this.watermarks.set(id, watermarks.map((w) => Math.max(w, lastOffset)));
        if (duplicates > 0) {
          this.options.metrics?.duplicates.inc({ topic }, duplicates);
          log.warn({ topic, partition, duplicates, offsets: [pending[0]!.offset, lastOffset] }, 'records produced twice (same id within the dedupe window): applied to the online store once');
        }
        return;
      }
      // Another writer (this partition's owner after a rebalance) moved a
      // watermark, or the store lost it: re-read them and apply only what is still missing.
      log.info({ topic, partition, applied, chunks: chunks.map((c) => c.length) }, 'online store watermark moved; re-reading');
    }
  }

  /**
   * The ids the partition applied within its dedupe window, per bucket: kept
   * in memory between flushes, reloaded from Redis whenever the watermarks
   * are re-read (a window there moves only with its bucket's watermark, so
   * while this process's compare-and-set chunks apply, its copy is Redis's).
   * Undefined for kinds without ids or with the window off.
   */
  private async recentIds(topic: string, partition: number, kind: IngestKind, reload: boolean): Promise<RecentIds[] | undefined> {
    const window = this.sinks.online.dedupeWindow;
    if (!kind.recordId || window === 0) return undefined;
    const id = `${topic}\u0000${partition}`;
    let recent = this.recent.get(id);
    if (!recent || reload) {
      recent = (await this.attempt('redis', () => this.sinks.online.seenWindows(topic, partition))).map((w) => RecentIds.from(window, w));
      this.recent.set(id, recent);
    }
    return recent;
  }

  /**
   * After an apply failed for good: the partition's records one by one, each
   * with the watermarks; one that Redis refuses is skipped by chunks that
   * only move the watermarks past it, and returned (to be dead-lettered).
   */
  private async applyPartitionIsolating(batches: PartitionBatch[]): Promise<FlushRecord[]> {
    const { topic, partition, kind } = batches[0]!;
    const lastOffset = batches[batches.length - 1]!.lastOffset;
    const id = `${topic}\u0000${partition}`;
    const { bucketOf } = this.sinks.online.keys;
    const refused: FlushRecord[] = [];
    const cached = this.watermarks.get(id);
    let watermarks = await this.readWatermarks(topic, partition, cached ? Math.min(...cached) : batches[0]!.firstOffset - 1);
    const records = batches.flatMap((batch) => batch.valid.map((valid) => ({ batch, valid })));
    let recent = await this.recentIds(topic, partition, kind, true);
    const skipTo = (offset: number) => watermarks.map((w) => (w >= offset ? [] : [{ expected: w, last: offset, ops: emptyOps() }]));
    for (const r of records) {
      const offset = r.valid.offset;
      if (offset <= Math.min(...watermarks)) continue;
      const router = new BucketRouter(bucketOf, watermarks, recent);
      router.next(offset, recent ? kind.recordId!(r.valid.record) : undefined);
      kind.addOnline!(router.target, r.valid.record);
      if (router.duplicate) this.options.metrics?.duplicates.inc({ topic });
      let sent: PartitionChunk[][] = watermarks.map((w, b) => (w >= offset ? [] : [{ expected: w, last: offset, ops: router.ops[b]!, ids: router.ids[b]! }]));
      let applied: number[];
      try {
        applied = await this.attempt('redis', () => this.sinks.online.applyChunks(topic, partition, sent), 0);
      } catch (error) {
        if (!(error instanceof WriteFailedError)) throw error;
        refused.push(r);
        if (refused.length > this.settings.maxUnwritablePerFlush || refused.length === records.length && records.length > 1) throw this.storeAtFault('redis', error, batches);
        // Buckets that took the record before one refused it keep it; the others move past it empty.
        watermarks = await this.attempt('redis', () => this.sinks.online.watermarks(topic, partition));
        sent = skipTo(offset);
        applied = await this.attempt('redis', () => this.sinks.online.applyChunks(topic, partition, sent));
        recent = await this.recentIds(topic, partition, kind, true);
      }
      if (applied.every((n, b) => n === sent[b]!.length)) {
        sent.forEach((chunks, b) => { if (chunks.length > 0) recent?.[b]!.add(offset, chunks[0]!.ids ?? []); });
        watermarks = watermarks.map((w) => Math.max(w, offset));
      } else {
        // Another writer moved a watermark: go on from where they are (and from their windows).
        watermarks = await this.readWatermarks(topic, partition, Math.min(...watermarks));
        recent = await this.recentIds(topic, partition, kind, true);
      }
    }
    if (Math.min(...watermarks) < lastOffset) await this.attempt('redis', () => this.sinks.online.applyChunks(topic, partition, skipTo(lastOffset)));
    this.watermarks.delete(id);
    this.recent.delete(id);
    return refused;
  }

  private flushInfo(flush: PartitionBatch[], visibleAt: number, unwritable: number): FlushInfo {
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
      messages, valid: eventTimes.length, dead, visibleAt, eventTimes, kafkaTimes, unwritable,
      partitions: flush.map((b) => ({ topic: b.topic, partition: b.partition, firstOffset: b.firstOffset, lastOffset: b.lastOffset })),
    };
  }
}

function recordId(r: FlushRecord): string {
  return `${r.batch.topic}\u0000${r.batch.partition}\u0000${r.valid.offset}`;
}

function positions(batches: readonly PartitionBatch[]): string[] {
  return batches.map((b) => `${b.topic}[${b.partition}]@${b.firstOffset}-${b.lastOffset}`);
}
