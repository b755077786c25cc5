import type { Consumer } from 'kafkajs';
import { NonRetriableError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';

/** Group states kafkajs's runner answers by rejoining (its `isRebalancing`, and a member the coordinator forgot). */
const REJOIN_TYPES = new Set(['REBALANCE_IN_PROGRESS', 'NOT_COORDINATOR_FOR_GROUP', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);

/**
 * A kafkajs error its consumer recovers from by itself when eachBatch throws
 * it back: a rejoin, or a restart (the test kafkajs applies before it
 * restarts a crashed consumer: retries exhausted, or a retriable root
 * cause). A heartbeat's failure when the group's coordinator dies is one.
 * The owner must not stop on it: its state is intact, and the rejoin seeks
 * to where it stands.
 */
export function isRecoverableKafkaError(error: unknown): boolean {
  if (!(error instanceof Error) || !error.name.startsWith('KafkaJS')) return false;
  let root: unknown = error;
  while (root instanceof Error && root.cause !== undefined) root = root.cause;
  const type = (error as { type?: unknown }).type;
  return error.name === 'KafkaJSNumberOfRetriesExceeded'
    || (typeof type === 'string' && REJOIN_TYPES.has(type))
    || (root as { retriable?: unknown }).retriable === true;
}

/**
 * The life of a kafkajs consumer as ingestion and streaming training both
 * need it: a `done` promise that settles once, a crash kafkajs will not
 * restart turned into a stop with the error, and one stop sequence (stop
 * fetching, let the owner finish its work, leave the group). Each owner keeps
 * only what differs: what to finish before leaving.
 */
export class ConsumerLifecycle {
  /** Settles when the consumer has stopped: resolves after a clean stop, rejects with the error that stopped it. */
  readonly done: Promise<void>;
  private settle!: { resolve: () => void; reject: (error: unknown) => void };
  private stopping = false;

  constructor(
    private readonly consumer: Consumer,
    private readonly topics: () => readonly string[],
    private readonly log: Logger,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // Owners await `done` when they want the outcome; an unobserved rejection must not crash the process.
    this.done.catch(() => {});
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /** A crash kafkajs restarts by itself is logged; one it does not stops the consumer through `stop`. */
  watchCrashes(stop: (error: unknown) => unknown): void {
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) void stop(new NonRetriableError(`Kafka consumer crashed: ${errorMessage(payload.error)}`, { cause: payload.error }));
      else this.log.warn({ err: errorMessage(payload.error) }, 'Kafka consumer crashed; kafkajs restarts it');
    });
  }

  /**
   * Stops once: fetching stops, `finish` runs (the owner's work in hand: its
   * failure becomes the stop's error unless there was one already), then the
   * group is left and `done` settles. Later calls wait for the first.
   */
  async stop(error: unknown, finish: () => Promise<void>, cleanup: () => Promise<void> = async () => {}): Promise<void> {
    if (this.stopping) return this.done.catch(() => {});
    this.stopping = true;
    try {
      this.consumer.pause(this.topics().map((topic) => ({ topic })));
    } catch (pauseError) {
      this.log.debug({ err: errorMessage(pauseError) }, 'pausing the consumer failed (not running yet): nothing is being fetched');
    }
    try {
      await finish();
    } catch (finishError) {
      error ??= finishError;
    }
    await this.consumer.disconnect().catch((e: unknown) => this.log.warn({ err: errorMessage(e) }, 'error while leaving the group'));
    await cleanup().catch((e: unknown) => this.log.warn({ err: errorMessage(e) }, 'error while closing'));
    if (error === undefined) this.settle.resolve();
    else this.settle.reject(error);
  }
}
