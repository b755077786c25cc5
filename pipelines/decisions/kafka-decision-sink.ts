import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import { errorMessage } from '../../infra/errors.js';
import type { DecisionRecord } from './decision-record.js';
import type { DecisionSink } from './decision-sink.js';

export interface KafkaDecisionSinkOptions {
  kafka: Kafka;
  topic: string;
  /** Records waiting at most this long are sent together in one produce request; 0 = those of the same turn of the event loop. @default 0 */
  lingerMs?: number;
  /** Send as soon as this many records wait. @default 500 */
  maxBatch?: number;
}

interface Pending {
  record: DecisionRecord;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * Decision records to Kafka with kafkajs's idempotent producer (acks = all),
 * keyed by user so one user's decisions stay in order on one partition.
 * Concurrent writes within `lingerMs` share one produce request, and so do
 * writes that arrive while a request is in flight: the idempotent producer
 * sends one request at a time, so one request per write would queue behind
 * each other (measured: p50 17 ms at 100 writes/s). Each write resolves when
 * its batch is acknowledged and rejects if it is not.
 */
export class KafkaDecisionSink implements DecisionSink {
  readonly name = 'kafka';
  private readonly producer: Producer;
  private queue: Pending[] = [];
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = new Set<Promise<void>>();
  private readonly lingerMs: number;
  private readonly maxBatch: number;

  private constructor(private readonly options: KafkaDecisionSinkOptions) {
    this.producer = options.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    // No linger by default: writes that come while a request is in flight batch behind it anyway.
    this.lingerMs = options.lingerMs ?? 0;
    this.maxBatch = options.maxBatch ?? 500;
  }

  static async connect(options: KafkaDecisionSinkOptions): Promise<KafkaDecisionSink> {
    const sink = new KafkaDecisionSink(options);
    await sink.producer.connect();
    return sink;
  }

  get topic(): string {
    return this.options.topic;
  }

  write(record: DecisionRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ record, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        if (this.lingerMs > 0) this.timer = setTimeout(() => this.flush(), this.lingerMs);
        else setImmediate(() => this.flush());
      }
    });
  }

  /** Sends what waits, unless a request is in flight: its completion sends the rest. */
  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.scheduled = false;
    if (this.inFlight.size > 0 && this.queue.length < this.maxBatch) return;
    const batch = this.queue.splice(0, this.maxBatch);
    if (batch.length === 0) return;
    const sent = this.producer
      .send({ topic: this.options.topic, acks: -1, messages: batch.map((p) => ({ key: p.record.user_id, value: JSON.stringify(p.record) })) })
      .then(
        () => batch.forEach((p) => p.resolve()),
        (error: unknown) => batch.forEach((p) => p.reject(new Error(`decision record not written to Kafka topic ${this.options.topic}: ${errorMessage(error)}`))),
      );
    this.inFlight.add(sent);
    void sent.finally(() => {
      this.inFlight.delete(sent);
      if (this.queue.length > 0) this.flush();
    });
  }

  async close(): Promise<void> {
    while (this.queue.length > 0 || this.inFlight.size > 0) {
      if (this.inFlight.size === 0) this.flush();
      await Promise.all(this.inFlight);
    }
    await this.producer.disconnect();
  }
}
