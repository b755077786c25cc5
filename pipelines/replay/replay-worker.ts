import { hostname } from 'node:os';
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { SqlClient } from '../../infra/clickhouse/sql-client.js';
import { errorMessage, isRetriable } from '../../infra/errors.js';
import { logger } from '../../infra/logger.js';
import type { Redis } from '../../infra/redis/redis-client.js';
import { RECURRING_JOB, ReplayQueue } from './replay-queue.js';
import { recurringSpec } from './recurring-replay.js';
import type { ReplaySettings } from './replay-settings.js';
import { parseReplaySpec } from './replay-spec.js';

const log = logger('replay-worker');

/**
 * A worker process's share of the replay queue. A job that fails for a
 * reason no retry can fix (bad spec, model gone, window now overlapping) is
 * failed at once with that reason (UnrecoverableError); other failures are
 * retried with backoff. The run gives the event loop back every `sliceMs`,
 * so the lock is renewed however long the job takes. A worker that dies
 * mid-job loses its lock; after `lockMs` the job is found stalled and
 * requeued, and its rerun writes the same rows (the computation depends on
 * the spec and the data only).
 *
 * Stopping (close) takes no new job and lets the current one finish; if it
 * is still running after `drainMs`, it stops at its next checkpoint (a slice
 * boundary, before anything is written) and goes back to the queue without
 * using an attempt.
 */
export interface ReplayWorkerOptions {
  connection: Redis;
  /** A second connection for the queue the recurring ticks add jobs to. */
  queueConnection: Redis;
  settings: ReplaySettings;
  db: SqlClient;
  /** Jobs at once in this process. @default 1 */
  concurrency?: number;
  /** Longest CPU stretch without returning to the event loop. @default 50 */
  sliceMs?: number;
  /**
   * Recorded on every job this worker takes (BullMQ's `processedBy`), so a
   * job taken over after a worker died says which worker finished it.
   * @default `<hostname>:<pid>`
   */
  name?: string;
}

export interface RunningReplayWorker {
  worker: Worker;
  /** Stops taking jobs, waits up to `drainMs` (default settings.drainMs) for the running ones, then stops them at a checkpoint. */
  close(options?: { drainMs?: number }): Promise<void>;
}

class StoppedForShutdown extends Error {
  override readonly name = 'StoppedForShutdown';
}

export function startReplayWorker({ connection, queueConnection, settings, db, concurrency = 1, sliceMs, name = `${hostname()}:${process.pid}` }: ReplayWorkerOptions): RunningReplayWorker {
  const queue = new ReplayQueue(queueConnection, settings);
  const stop = new AbortController();
  const processor = async (job: Job, token?: string): Promise<unknown> => {
    try {
      if (job.name === RECURRING_JOB) {
        const tick = await recurringSpec(settings.registry, db, job.data, job.timestamp);
        if ('skipped' in tick) return tick;
        const { job: replay, created } = await queue.enqueue(tick.spec);
        return { enqueued: replay.id, created };
      }
      const spec = parseReplaySpec(job.data);
      const { runReplay } = await import('./replay-run.js');
      const result = await runReplay(spec, {
        db, registry: settings.registry, reportsDir: settings.reportsDir, signal: stop.signal,
        ...(sliceMs !== undefined ? { sliceMs } : {}),
        onProgress: (p) => job.updateProgress({ ...p }),
      });
      const { rows, ...summary } = result;
      return { ...summary, rows: rows.length };
    } catch (error) {
      if (stop.signal.aborted && error === stop.signal.reason && token) {
        log.warn({ jobId: job.id }, 'stopping: the job goes back to the queue from its last checkpoint');
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      log.warn({ err: error, jobId: job.id, attempt: job.attemptsMade + 1 }, 'replay job failed');
      // By flag as well as by class: the run module is imported dynamically, and a
      // loader that instantiates infra/errors twice would defeat instanceof.
      if (!isRetriable(error) || (error as { retriable?: unknown }).retriable === false) throw new UnrecoverableError(errorMessage(error));
      throw error;
    }
  };
  const worker = new Worker(settings.queueName, processor, {
    name, connection, prefix: settings.prefix, concurrency, autorun: false,
    lockDuration: settings.lockMs, stalledInterval: settings.lockMs, maxStalledCount: settings.maxStalled,
  });
  let closing: Promise<void> | undefined;
  // TensorFlow's native load holds the event loop for a second or more (longer on a busy machine):
  // done before the first job is taken, while there is no lock to lose. Only workers load it, not submit or status.
  const started = import('./replay-run.js').then(() => {
    if (closing) return;
    worker.run().catch((error: unknown) => log.error({ err: error }, 'replay worker stopped'));
    log.info({ name }, 'taking jobs');
  }, (error: unknown) => log.error({ err: error }, 'cannot load the replay runner (TensorFlow): this worker takes no jobs'));
  worker.on('failed', (job, error) => log.warn({ jobId: job?.id, reason: error.message }, 'job failed'));
  worker.on('completed', (job) => log.info({ jobId: job.id }, 'job completed'));
  return {
    worker,
    close: ({ drainMs = settings.drainMs } = {}) => (closing ??= (async () => {
      await started;
      const timer = setTimeout(() => stop.abort(new StoppedForShutdown(`worker stopping: the job ran past the ${drainMs} ms drain period`)), drainMs);
      try {
        await worker.close();
      } finally {
        clearTimeout(timer);
      }
      await queue.close();
    })()),
  };
}
