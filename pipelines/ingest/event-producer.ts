import { Partitioners, type Kafka, type Message, type Producer } from 'kafkajs';
import { sleep } from '../../infra/retry.js';

export interface EventProducerOptions {
  /** Messages per produce request. @default 500 */
  batchSize?: number;
  /**
   * Idempotent producer (no duplicates from retries, order kept per
   * partition, one request in flight). Off trades that for throughput: only
   * for benchmarks' pre-fill. @default true
   */
  idempotent?: boolean;
  /** Produce requests in flight when not idempotent. @default 4 */
  concurrency?: number;
}

/**
 * Produces messages to one topic in batches. `send` resolves when the
 * message is queued; `flush` when everything queued is acknowledged by the
 * broker (acks = all).
 */
export class EventProducer {
  private readonly producer: Producer;
  private pending: Message[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;
  private readonly batchSize: number;
  private readonly concurrency: number;
  /** Messages the broker acknowledged. */
  acknowledged = 0;

  constructor(kafka: Kafka, private readonly topic: string, { batchSize = 500, idempotent = true, concurrency = 4 }: EventProducerOptions = {}) {
    // The default partitioner (murmur2 of the key, as the Java client): one user's events on one partition.
    const createPartitioner = Partitioners.DefaultPartitioner;
    this.producer = idempotent
      ? kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner })
      : kafka.producer({ allowAutoTopicCreation: false, createPartitioner });
    this.batchSize = batchSize;
    this.concurrency = idempotent ? 1 : concurrency;
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async send(message: Message): Promise<void> {
    if (this.failure) throw this.failure;
    this.pending.push(message);
    if (this.pending.length >= this.batchSize) await this.dispatch();
  }

  async flush(): Promise<void> {
    if (this.pending.length > 0) await this.dispatch();
    await Promise.all(this.inFlight);
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.producer.disconnect();
    }
  }

  private async dispatch(): Promise<void> {
    while (this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
    const messages = this.pending;
    this.pending = [];
    const request: Promise<void> = this.producer
      .send({ topic: this.topic, messages, acks: -1 })
      .then(() => { this.acknowledged += messages.length; })
      .catch((error: unknown) => { this.failure ??= error; })
      .finally(() => this.inFlight.delete(request));
    this.inFlight.add(request);
  }
}

/** Paces a loop to `rate` items per second (0 = unpaced), in bursts of a few ms so timers stay cheap. */
export class RateLimiter {
  private readonly start = performance.now();
  private count = 0;

  constructor(private readonly rate: number) {}

  async take(n = 1): Promise<void> {
    this.count += n;
    if (this.rate <= 0) return;
    const due = this.start + (this.count / this.rate) * 1000;
    const ahead = due - performance.now();
    if (ahead > 5) await sleep(ahead);
  }
}
