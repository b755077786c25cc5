import type { KafkaEndpoint } from '../../infra/kafka/kafka-client.js';
import { RdKafkaProducer, type OutgoingMessage } from '../../infra/kafka/rdkafka-producer.js';
import { sleep } from '../../infra/retry.js';

export interface EventProducerOptions {
  /** Messages per produce call. @default 500 */
  batchSize?: number;
  /**
   * Idempotent producer (acks from all in-sync replicas, no duplicates from
   * retries, order kept per partition). Off only for benchmarks' pre-fill.
   * @default true
   */
  idempotent?: boolean;
  /** Batches awaiting their acknowledgement at once (librdkafka keeps them in order). @default 4 */
  concurrency?: number;
}

/**
 * Produces messages to one topic in batches, on librdkafka (see
 * RdKafkaProducer: kafkajs's producer loses acknowledged records when a
 * leader is killed). `send` resolves when the message is queued; `flush`
 * when everything queued is acknowledged by the broker.
 */
export class EventProducer {
  private producer: RdKafkaProducer | undefined;
  private pending: OutgoingMessage[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly idempotent: boolean;
  /** Messages the broker acknowledged. */
  acknowledged = 0;

  constructor(private readonly endpoint: KafkaEndpoint, private readonly topic: string, { batchSize = 500, idempotent = true, concurrency = 4 }: EventProducerOptions = {}) {
    this.batchSize = batchSize;
    this.concurrency = concurrency;
    this.idempotent = idempotent;
  }

  async connect(): Promise<void> {
    this.producer ??= await RdKafkaProducer.connect({ brokers: this.endpoint.brokers, clientId: this.endpoint.clientId, idempotent: this.idempotent });
  }

  async send(message: OutgoingMessage): Promise<void> {
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
      await this.producer?.disconnect();
      this.producer = undefined;
    }
  }

  private async dispatch(): Promise<void> {
    if (!this.producer) throw new Error('EventProducer.send before connect()');
    while (this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
    const messages = this.pending;
    this.pending = [];
    const request: Promise<void> = this.producer
      .send(this.topic, messages)
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
