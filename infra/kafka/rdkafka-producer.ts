import { createRequire } from 'node:module';
import type * as NodeRdKafka from 'node-rdkafka';
import type { DeliveryReport, LibrdKafkaError, MessageHeader, Producer, ProducerGlobalConfig, ProducerTopicConfig } from 'node-rdkafka';
import { RecsysError, SetupError, errorMessage } from '../errors.js';
import { logger } from '../logger.js';

const log = logger('kafka');

// node-rdkafka is CommonJS with a native addon: loaded on first use, so that
// modules importing this one (and their tests) do not pay for it.
const require = createRequire(import.meta.url);
let rdkafka: typeof NodeRdKafka | undefined;
function library(): typeof NodeRdKafka {
  try {
    return (rdkafka ??= require('node-rdkafka') as typeof NodeRdKafka);
  } catch (error) {
    throw new SetupError(`node-rdkafka (librdkafka) cannot be loaded: ${errorMessage(error)} (run npm run setup; it builds from source)`, { cause: error });
  }
}

/** The librdkafka the producers run on (throws a SetupError naming the fix when the addon cannot load). */
export function librdkafkaVersion(): string {
  return library().librdkafkaVersion;
}

/** librdkafka's code for a full local queue: wait for deliveries, then produce again. */
const ERR_QUEUE_FULL = -184;

/** How often the producer is polled for delivery reports while records await theirs: a report waits for the next poll. */
const BUSY_POLL_MS = 1;
/** How often it is polled while nothing is outstanding (errors and logs only). */
const IDLE_POLL_MS = 100;
/** The same librdkafka error is logged at most once this often. */
const ERROR_LOG_EVERY_MS = 10_000;

/**
 * librdkafka's topic-level producer properties. node-rdkafka installs its own
 * default topic configuration over the one librdkafka builds from the global
 * settings, so these are silently dropped (message.timeout.ms stayed at
 * 300 s) unless given with the topic configuration.
 */
const TOPIC_PROPERTIES = new Set([
  'request.required.acks', 'acks', 'request.timeout.ms', 'message.timeout.ms', 'delivery.timeout.ms', 'queuing.strategy',
  'produce.offset.report', 'partitioner', 'partitioner_cb', 'msg_order_cmp', 'compression.codec', 'compression.type', 'compression.level',
]);

/** One record to write; the shape kafkajs's `Message` has, so callers move between clients unchanged. */
export interface OutgoingMessage {
  key?: string | Buffer | null;
  value: string | Buffer | null;
  /** Milliseconds since the epoch (a string, as kafkajs takes it, or a number); the broker's time when absent. */
  timestamp?: string | number;
  /** A key given several values is written once per value, in order. */
  headers?: Record<string, string | Buffer | readonly (string | Buffer)[] | undefined>;
}

export interface RdKafkaProducerOptions {
  brokers: readonly string[];
  clientId: string;
  /**
   * Idempotent: acks from all in-sync replicas, retries without duplicates
   * and order kept per partition, across leader changes. Off only for
   * benchmarks' pre-fill. @default true
   */
  idempotent?: boolean;
  /** How long librdkafka batches records before a request. @default 5 */
  lingerMs?: number;
  /** A record not acknowledged within this long after its send fails it (librdkafka's message.timeout.ms; must be above lingerMs). @default 120000 */
  deliveryTimeoutMs?: number;
  /** librdkafka settings of the caller's, over ours; topic-level ones (acks, message.timeout.ms, request.timeout.ms, …) are applied as such. */
  overrides?: ProducerGlobalConfig & ProducerTopicConfig;
}

interface Batch {
  remaining: number;
  failure: LibrdKafkaError | undefined;
  settle: (error?: LibrdKafkaError) => void;
}

/**
 * A producer on librdkafka, the client Kafka's own tests measure against.
 * kafkajs's producer loses records it has acknowledged when a partition
 * leader is killed mid-write, and its idempotent mode writes duplicates
 * after a failover (tulios/kafkajs#1303; measured in
 * test/cluster/kafka/broker-kill-ingest.test.ts); librdkafka's idempotent
 * producer does neither. Records are keyed with murmur2, as the Java client
 * and kafkajs's default partitioner do, so a key keeps its partition
 * whichever client wrote it. kafkajs stays for consumers and the admin.
 */
export class RdKafkaProducer {
  private closed = false;
  /** Records produced whose delivery reports have not come yet. */
  private outstanding = 0;
  private pollTimer: NodeJS.Timeout | undefined;
  private pollEveryMs = 0;

  private constructor(private readonly producer: Producer) {
    producer.on('delivery-report', (error, report: DeliveryReport) => {
      const batch = report.opaque as Batch | undefined;
      if (!batch) return;
      this.outstanding--;
      if (error) batch.failure ??= error;
      if (--batch.remaining === 0) batch.settle(batch.failure);
      if (this.outstanding === 0) this.pollEvery(IDLE_POLL_MS);
    });
    this.pollEvery(IDLE_POLL_MS);
  }

  static async connect(options: RdKafkaProducerOptions): Promise<RdKafkaProducer> {
    const { Producer } = library();
    const idempotent = options.idempotent ?? true;
    const settings: Record<string, unknown> = {
      'client.id': options.clientId,
      'bootstrap.servers': options.brokers.join(','),
      'enable.idempotence': idempotent,
      acks: idempotent ? -1 : 1,
      'linger.ms': options.lingerMs ?? 5,
      'message.timeout.ms': options.deliveryTimeoutMs ?? 120_000,
      'dr_cb': true,
      partitioner: 'murmur2_random',
      ...options.overrides,
    };
    const global: Record<string, unknown> = {};
    const topic: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(settings)) (TOPIC_PROPERTIES.has(key) ? topic : global)[key] = value;
    const producer = new Producer(global as ProducerGlobalConfig, topic as ProducerTopicConfig);
    // librdkafka repeats an error on every reconnect attempt (hundreds while a broker is down, delivered at once when connecting ends): each once per ERROR_LOG_EVERY_MS.
    const logged = new Map<string, { at: number; repeated: number }>();
    producer.on('event.error', (error: LibrdKafkaError) => {
      const key = `${error.code} ${error.message}`;
      const last = logged.get(key);
      if (last && Date.now() - last.at < ERROR_LOG_EVERY_MS) {
        last.repeated++;
        return;
      }
      log.warn({ code: error.code, err: error.message, ...(last ? { repeatedSinceLastLogged: last.repeated } : {}) }, 'librdkafka producer error');
      logged.set(key, { at: Date.now(), repeated: 0 });
    });
    await new Promise<void>((resolve, reject) => {
      producer.connect({ timeout: 30_000 }, (error) => (error ? reject(new RecsysError(`cannot connect a producer to Kafka at ${options.brokers.join(',')}: ${error.message}`, { cause: error })) : resolve()));
    });
    return new RdKafkaProducer(producer);
  }

  /**
   * Delivery reports reach us only when the producer is polled: every
   * BUSY_POLL_MS while records await theirs (a report would otherwise wait up
   * to a slow interval, on every write), every IDLE_POLL_MS otherwise.
   */
  private pollEvery(ms: number): void {
    if (this.closed || ms === this.pollEveryMs) return;
    clearInterval(this.pollTimer);
    this.pollEveryMs = ms;
    this.pollTimer = setInterval(() => {
      try {
        this.producer.poll();
      } catch {
        // Not connected (any more): the disconnect stops the timer.
      }
    }, ms);
    // Records awaiting their reports keep the process alive (a CLI awaiting its last send); an idle producer does not.
    if (ms === IDLE_POLL_MS) this.pollTimer.unref();
  }

  private stopPolling(): void {
    clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    this.pollEveryMs = 0;
  }

  /** Resolves once the broker has acknowledged every record (all in-sync replicas when idempotent); rejects with the first failure. */
  async send(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.closed) throw new RecsysError(`the producer to ${topic} is closed`, { retriable: false });
    if (messages.length === 0) return;
    let settle!: (error?: LibrdKafkaError) => void;
    const acknowledged = new Promise<void>((resolve, reject) => {
      settle = (error) => (error ? reject(new RecsysError(`writing to Kafka topic ${topic} failed: ${error.message} (code ${error.code})`, { cause: error })) : resolve());
    });
    const batch: Batch = { remaining: messages.length, failure: undefined, settle };
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      const value = m.value === null ? null : Buffer.isBuffer(m.value) ? m.value : Buffer.from(m.value);
      const timestamp = m.timestamp === undefined ? null : Number(m.timestamp);
      const headers = m.headers && Object.entries(m.headers).flatMap(([k, v]): MessageHeader[] => (v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((one: string | Buffer) => ({ [k]: one }))));
      for (;;) {
        try {
          this.producer.produce(topic, null, value, m.key ?? null, timestamp, batch, headers);
          this.outstanding++;
          this.pollEvery(BUSY_POLL_MS);
          break;
        } catch (error) {
          if ((error as LibrdKafkaError).code !== ERR_QUEUE_FULL) {
            // What was queued before still reports; this record and the rest never will.
            batch.failure ??= error as LibrdKafkaError;
            batch.remaining -= messages.length - i;
            if (batch.remaining === 0) batch.settle(batch.failure);
            return acknowledged;
          }
          this.pollEvery(BUSY_POLL_MS);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }
    }
    return acknowledged;
  }

  /** Waits for every record in flight, then leaves. */
  async disconnect(timeoutMs = 30_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => this.producer.flush(timeoutMs, (error) => {
      if (error) log.warn({ err: error.message }, 'records still unacknowledged when the producer closed');
      resolve();
    }));
    this.stopPolling();
    await new Promise<void>((resolve) => this.producer.disconnect(() => resolve()));
  }
}
