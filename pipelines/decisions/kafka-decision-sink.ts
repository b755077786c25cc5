import type { KafkaEndpoint } from '../../infra/kafka/kafka-client.js';
import { RdKafkaProducer } from '../../infra/kafka/rdkafka-producer.js';
import { errorMessage, RecsysError, ValidationError } from '../../infra/errors.js';
import { logger, type Logger } from '../../infra/logger.js';
import { MAX_DECISION_BYTES, type DecisionRecord } from './decision-record.js';
import type { DecisionSink } from './decision-sink.js';

export interface KafkaDecisionSinkOptions {
  /** The brokers (the sink's producers are librdkafka's, see RdKafkaProducer). */
  kafka: KafkaEndpoint;
  topic: string;
  /** Records waiting at most this long are sent together in one batch; 0 = those of the same turn of the event loop. @default 0 */
  lingerMs?: number;
  /** Records per batch; also librdkafka's batch.num.messages. @default 500 */
  maxBatch?: number;
  /**
   * Bytes per batch (keys, values and ~70 bytes of framing per record); also
   * librdkafka's batch.size, the bound of each partition's record batch in a
   * produce request, which must stay under the broker's message.max.bytes
   * (1 MiB by default) or it is refused. @default 1_000_000
   */
  maxBatchBytes?: number;
  /**
   * Full batches (maxBatch records or maxBatchBytes bytes waiting) sent while
   * others are in flight, at most; a smaller batch waits until none is, so
   * that writes arriving meanwhile share it. librdkafka's idempotent producer
   * keeps each partition in order with up to 5 requests in flight. @default 5
   */
  maxBatchesInFlight?: number;
  /**
   * A write not acknowledged within this long fails (serving answers 503 and
   * shows nothing); one still waiting in the queue is dropped and never sent.
   * Also librdkafka's message.timeout.ms (a batch settles within this long
   * of being sent) and the broker's acknowledgement timeout of each produce
   * request. @default 2000
   */
  writeTimeoutMs?: number;
  /** Records waiting to be sent at most; a write beyond is refused at once. @default 5000 */
  maxQueueRecords?: number;
  /** Bytes waiting to be sent at most. @default 64 MiB */
  maxQueueBytes?: number;
  log?: Logger;
}

/** The sink's bounded queue is full: Kafka has not been taking writes for a while. */
export class DecisionQueueFullError extends RecsysError {}
/** A write was not acknowledged within writeTimeoutMs. */
export class DecisionWriteTimeoutError extends RecsysError {}

/** A record's framing in a record batch (length, attributes, varint offsets and lengths, headers count), with room to spare, counted against maxBatchBytes. */
const RECORD_OVERHEAD_BYTES = 70;
/** A user id is at most 256 characters: 1 KiB of UTF-8. */
const MAX_KEY_BYTES = 1024;
/** How many request ids of records possibly written after their requests failed are kept for inspection. */
const KEEP_UNCERTAIN = 1000;

interface Pending {
  requestId: string;
  key: string;
  json: string;
  bytes: number;
  state: 'queued' | 'in-flight' | 'settled';
  timer: NodeJS.Timeout | undefined;
  resolve: () => void;
  reject: (error: Error) => void;
}

export interface KafkaDecisionSinkStats {
  queuedRecords: number;
  queuedBytes: number;
  /** Whether a batch is in flight (sent, or waiting for a connection, and not settled). */
  inFlight: boolean;
  batchesInFlight: number;
  /** Batches handed to a producer since the sink was created. */
  batchesSent: number;
  /** The largest of them, in the bytes counted against maxBatchBytes (0 before the first). */
  largestBatchBytes: number;
  /** Epoch ms of the last acknowledged batch (or of connecting). */
  lastAckAt: number;
  lastError: string | null;
  /** Request ids whose records may have reached Kafka although their write failed (newest last). */
  uncertain: readonly string[];
}

/**
 * Decision records to Kafka with librdkafka's idempotent producer (acks =
 * all; see RdKafkaProducer), keyed by user so one user's decisions stay in
 * order on one partition. Writes that arrive within `lingerMs`, or while a
 * batch is in flight, share the next batch, up to maxBatch records and
 * maxBatchBytes bytes; full batches go out while others are in flight (up to
 * maxBatchesInFlight), a smaller one once none is.
 *
 * Bounded for outages: the queue holds at most maxQueueRecords /
 * maxQueueBytes (a write beyond fails at once with DecisionQueueFullError),
 * and every write settles within writeTimeoutMs. A failed batch retires its
 * producer and the next batch starts a new one (a new producer id, so the
 * broker never takes a new batch for a retry of a lost one) once the retired
 * producer's other batches have settled (so a user's records keep their
 * order), and the sink recovers by itself once Kafka is back. A record whose
 * write failed after it was sent may still have been written (the
 * acknowledgement was lost, or came late): its request id is logged and kept
 * in stats().uncertain.
 */
export class KafkaDecisionSink implements DecisionSink {
  readonly name = 'kafka';
  /** The largest record value that always fits in one batch with its key. */
  readonly maxRecordBytes: number;
  private readonly log: Logger;
  private queue: Pending[] = [];
  private queuedRecords = 0;
  private queuedBytes = 0;
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  /** Each batch in flight, with the producer it went to. */
  private readonly inFlight = new Map<Promise<void>, Promise<RdKafkaProducer>>();
  private producer: Promise<RdKafkaProducer> | undefined;
  /** Retired producers still disconnecting. */
  private readonly retiring = new Set<Promise<void>>();
  private batchesSent = 0;
  private largestBatchBytes = 0;
  private lastAckAt = Date.now();
  private lastError: string | null = null;
  private readonly uncertain: string[] = [];
  private readonly lingerMs: number;
  private readonly maxBatch: number;
  private readonly maxBatchBytes: number;
  private readonly maxBatchesInFlight: number;
  private readonly writeTimeoutMs: number;
  private readonly maxQueueRecords: number;
  private readonly maxQueueBytes: number;

  private constructor(private readonly options: KafkaDecisionSinkOptions) {
    // No linger by default: writes that come while a batch is in flight batch behind it anyway.
    this.lingerMs = options.lingerMs ?? 0;
    this.maxBatch = options.maxBatch ?? 500;
    this.maxBatchBytes = options.maxBatchBytes ?? 1_000_000;
    this.maxBatchesInFlight = options.maxBatchesInFlight ?? 5;
    this.writeTimeoutMs = options.writeTimeoutMs ?? 2000;
    this.maxQueueRecords = options.maxQueueRecords ?? 5000;
    this.maxQueueBytes = options.maxQueueBytes ?? 64 * 1024 * 1024;
    this.log = options.log ?? logger('decision-sink');
    for (const [field, value, min] of [
      ['lingerMs', this.lingerMs, 0], ['maxBatch', this.maxBatch, 1], ['maxBatchBytes', this.maxBatchBytes, 16 * 1024],
      ['maxBatchesInFlight', this.maxBatchesInFlight, 1], ['writeTimeoutMs', this.writeTimeoutMs, 1],
      ['maxQueueRecords', this.maxQueueRecords, 1], ['maxQueueBytes', this.maxQueueBytes, 16 * 1024],
    ] as const) {
      if (!Number.isFinite(value) || value < min) throw new ValidationError(`KafkaDecisionSink ${field} must be a number ≥ ${min} (got ${value})`);
    }
    this.maxRecordBytes = Math.min(MAX_DECISION_BYTES, this.maxBatchBytes, this.maxQueueBytes) - RECORD_OVERHEAD_BYTES - MAX_KEY_BYTES;
  }

  static async connect(options: KafkaDecisionSinkOptions): Promise<KafkaDecisionSink> {
    const sink = new KafkaDecisionSink(options);
    await sink.connected();
    return sink;
  }

  get topic(): string {
    return this.options.topic;
  }

  stats(): KafkaDecisionSinkStats {
    return {
      queuedRecords: this.queuedRecords, queuedBytes: this.queuedBytes, inFlight: this.inFlight.size > 0, batchesInFlight: this.inFlight.size,
      batchesSent: this.batchesSent, largestBatchBytes: this.largestBatchBytes, lastAckAt: this.lastAckAt, lastError: this.lastError, uncertain: [...this.uncertain],
    };
  }

  /** The current producer, connecting a new one when there is none (at start, or after a failed batch retired the last). */
  private connected(): Promise<RdKafkaProducer> {
    if (!this.producer) {
      const ready = RdKafkaProducer.connect({
        brokers: this.options.kafka.brokers,
        clientId: this.options.kafka.clientId,
        idempotent: true,
        // The sink batches already: librdkafka sends what it is given at once.
        lingerMs: 0,
        // A batch settles within the write timeout; librdkafka retries within it (and never beyond: the next batch starts a new producer).
        deliveryTimeoutMs: Math.ceil(this.writeTimeoutMs),
        overrides: {
          'request.timeout.ms': Math.min(900_000, Math.ceil(this.writeTimeoutMs)),
          'batch.num.messages': Math.min(1_000_000, Math.ceil(this.maxBatch)),
          'batch.size': Math.ceil(this.maxBatchBytes),
          // A record must fit in one request whatever maxBatchBytes is (librdkafka's default is 1,000,000).
          'message.max.bytes': Math.max(1_000_000, Math.ceil(this.maxBatchBytes)),
        },
      });
      this.producer = ready;
      ready.catch((error: unknown) => {
        if (this.producer === ready) this.producer = undefined;
        this.lastError = `cannot connect to Kafka: ${errorMessage(error)}`;
      });
    }
    return this.producer;
  }

  /** Retires `used` (unless it is retired already): the next batch starts a new producer; it disconnects once its batches have settled. */
  private retire(used: Promise<RdKafkaProducer>): void {
    if (this.producer !== used) return;
    this.producer = undefined;
    const batches = [...this.inFlight].filter(([, p]) => p === used).map(([b]) => b);
    const done = Promise.allSettled(batches).then(() => used).then((p) => p.disconnect(), () => {}).catch(() => {});
    this.retiring.add(done);
    void done.finally(() => this.retiring.delete(done));
  }

  write(record: DecisionRecord, json: string = JSON.stringify(record)): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const key = record.user_id;
      const bytes = Buffer.byteLength(json) + Buffer.byteLength(key) + RECORD_OVERHEAD_BYTES;
      if (bytes > this.maxBatchBytes) {
        reject(new ValidationError(`decision record ${record.request_id} is ${bytes} bytes, more than one batch to Kafka may carry (${this.maxBatchBytes})`));
        return;
      }
      if (this.queuedRecords + 1 > this.maxQueueRecords || this.queuedBytes + bytes > this.maxQueueBytes) {
        reject(new DecisionQueueFullError(
          `the decision queue is full (${this.queuedRecords} records, ${this.queuedBytes} bytes wait for Kafka topic ${this.options.topic}; `
          + `nothing acknowledged for ${Date.now() - this.lastAckAt} ms${this.lastError ? `; last error: ${this.lastError}` : ''}); `
          + 'recommendations resume by themselves once Kafka takes writes again',
        ));
        return;
      }
      const pending: Pending = { requestId: record.request_id, key, json, bytes, state: 'queued', timer: undefined, resolve, reject };
      pending.timer = setTimeout(() => this.timeOut(pending), this.writeTimeoutMs);
      this.queue.push(pending);
      this.queuedRecords++;
      this.queuedBytes += bytes;
      if (this.queuedRecords >= this.maxBatch || this.queuedBytes >= this.maxBatchBytes) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        if (this.lingerMs > 0) this.timer = setTimeout(() => this.flush(), this.lingerMs);
        else setImmediate(() => this.flush());
      }
    });
  }

  private timeOut(p: Pending): void {
    if (p.state === 'settled') return;
    const wasQueued = p.state === 'queued';
    if (wasQueued) this.unqueue(p);
    p.state = 'settled';
    p.reject(new DecisionWriteTimeoutError(
      `Kafka topic ${this.options.topic} did not acknowledge the decision record within ${this.writeTimeoutMs} ms`
      + (wasQueued ? ' (it was still queued and will not be sent)' : ' (it was sent and may still be written)')
      + (this.lastError ? `; last error: ${this.lastError}` : ''),
    ));
  }

  /** Takes a queued write out of the counts; the array entry is skipped (and dropped) when a batch is cut. */
  private unqueue(p: Pending): void {
    this.queuedRecords--;
    this.queuedBytes -= p.bytes;
    // Timed-out entries stay in the array until a batch passes them; compact when they are most of it.
    if (this.queue.length > 64 && this.queue.length > 2 * this.queuedRecords) this.queue = this.queue.filter((q) => q.state === 'queued' && q !== p);
  }

  /** The next batch: queued writes in order, up to maxBatch records and maxBatchBytes bytes. */
  private cutBatch(): Pending[] {
    const batch: Pending[] = [];
    let bytes = 0;
    let taken = 0;
    for (const p of this.queue) {
      if (p.state !== 'queued') { taken++; continue; }
      if (batch.length >= this.maxBatch || (batch.length > 0 && bytes + p.bytes > this.maxBatchBytes)) break;
      batch.push(p);
      bytes += p.bytes;
      taken++;
    }
    this.queue.splice(0, taken);
    for (const p of batch) {
      p.state = 'in-flight';
      this.queuedRecords--;
      this.queuedBytes -= p.bytes;
    }
    return batch;
  }

  /**
   * Sends what waits: at once when nothing is in flight; while batches are,
   * only full ones (up to maxBatchesInFlight), and none while a retired
   * producer's batches are still settling. Each completion sends the rest.
   */
  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.scheduled = false;
    while (this.queuedRecords > 0) {
      if (this.inFlight.size > 0) {
        if (this.inFlight.size >= this.maxBatchesInFlight) return;
        if (this.queuedRecords < this.maxBatch && this.queuedBytes < this.maxBatchBytes) return;
        if (this.producer === undefined || [...this.inFlight.values()].some((p) => p !== this.producer)) return;
      }
      const batch = this.cutBatch();
      if (batch.length === 0) return;
      const producer = this.connected();
      const sent = this.send(batch, producer);
      this.inFlight.set(sent, producer);
      void sent.finally(() => {
        this.inFlight.delete(sent);
        if (this.queuedRecords > 0) this.flush();
      });
    }
  }

  private async send(batch: Pending[], connecting: Promise<RdKafkaProducer>): Promise<void> {
    let connectTimer: NodeJS.Timeout | undefined;
    let sent = false;
    try {
      const producer = await Promise.race([
        connecting,
        new Promise<never>((_, reject) => { connectTimer = setTimeout(() => reject(new Error(`no connection to Kafka within ${this.writeTimeoutMs} ms`)), this.writeTimeoutMs); }),
      ]);
      clearTimeout(connectTimer);
      sent = true;
      this.batchesSent++;
      this.largestBatchBytes = Math.max(this.largestBatchBytes, batch.reduce((n, p) => n + p.bytes, 0));
      await producer.send(this.options.topic, batch.map((p) => ({ key: p.key, value: p.json })));
    } catch (error) {
      clearTimeout(connectTimer);
      const reason = errorMessage(error);
      this.lastError = reason;
      // Only a batch that went out can have been written; it also leaves the producer's sequence numbers in doubt.
      if (sent) {
        this.retire(connecting);
        this.noteUncertain(batch.map((p) => p.requestId), `a batch failed (${reason}); its records may have been written although their requests failed`);
      }
      for (const p of batch) {
        clearTimeout(p.timer);
        if (p.state === 'settled') continue;
        p.state = 'settled';
        p.reject(new Error(`decision record not written to Kafka topic ${this.options.topic}: ${reason}`));
      }
      return;
    }
    this.lastAckAt = Date.now();
    this.lastError = null;
    const late = batch.filter((p) => p.state === 'settled').map((p) => p.requestId);
    if (late.length > 0) this.noteUncertain(late, `Kafka acknowledged ${late.length} decision records after their requests had failed with a timeout (they were never shown)`);
    for (const p of batch) {
      clearTimeout(p.timer);
      if (p.state === 'settled') continue;
      p.state = 'settled';
      p.resolve();
    }
  }

  private noteUncertain(requestIds: readonly string[], message: string): void {
    this.uncertain.push(...requestIds);
    if (this.uncertain.length > KEEP_UNCERTAIN) this.uncertain.splice(0, this.uncertain.length - KEEP_UNCERTAIN);
    this.log.warn({ topic: this.options.topic, records: requestIds.length, requestIds: requestIds.slice(0, 20) }, message);
  }

  /** Sends what still waits (each write is bounded by writeTimeoutMs), then disconnects. */
  async close(): Promise<void> {
    while (this.queuedRecords > 0 || this.inFlight.size > 0) {
      this.flush();
      if (this.inFlight.size > 0) await Promise.race(this.inFlight.keys());
    }
    const producer = this.producer;
    this.producer = undefined;
    await producer?.then((p) => p.disconnect(), () => {});
    await Promise.allSettled([...this.retiring]);
  }
}
