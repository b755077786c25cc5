import { UnrecoverableError, Worker, type Job } from 'bullmq';
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
 * retried with backoff. A worker that dies mid-job loses its lock; after
 * `lockMs` the job is found stalled and requeued, and its rerun writes the
 * same rows (the computation depends on the spec and the data only).
 */
export interface ReplayWorkerOptions {
  connection: Redis;
  /** A second connection for the queue the recurring ticks add jobs to. */
  queueConnection: Redis;
  settings: ReplaySettings;
  db: SqlClient;
  /** Jobs at once in this process. @default 1 */
  concurrency?: number;
}

export function startReplayWorker({ connection, queueConnection, settings, db, concurrency = 1 }: ReplayWorkerOptions): { worker: Worker; close: () => Promise<void> } {
  const queue = new ReplayQueue(queueConnection, settings);
  const processor = async (job: Job): Promise<unknown> => {
    try {
      if (job.name === RECURRING_JOB) {
        const tick = await recurringSpec(settings.registry, db, job.data, job.timestamp);
        if ('skipped' in tick) return tick;
        const { job: replay, created } = await queue.enqueue(tick.spec);
        return { enqueued: replay.id, created };
      }
      const spec = parseReplaySpec(job.data);
      // TensorFlow loads on the first job, not when the worker starts.
      const { runReplay } = await import('./replay-run.js');
      const result = await runReplay(spec, { db, registry: settings.registry, reportsDir: settings.reportsDir, onProgress: (p) => job.updateProgress({ ...p }) });
      const { rows, ...summary } = result;
      return { ...summary, rows: rows.length };
    } catch (error) {
      log.warn({ err: error, jobId: job.id, attempt: job.attemptsMade + 1 }, 'replay job failed');
      // By flag as well as by class: the run module is imported dynamically, and a
      // loader that instantiates infra/errors twice would defeat instanceof.
      if (!isRetriable(error) || (error as { retriable?: unknown }).retriable === false) throw new UnrecoverableError(errorMessage(error));
      throw error;
    }
  };
  const worker = new Worker(settings.queueName, processor, {
    connection, prefix: settings.prefix, concurrency,
    lockDuration: settings.lockMs, stalledInterval: settings.lockMs, maxStalledCount: settings.maxStalled,
  });
  worker.on('failed', (job, error) => log.warn({ jobId: job?.id, reason: error.message }, 'job failed'));
  worker.on('completed', (job) => log.info({ jobId: job.id }, 'job completed'));
  return {
    worker,
    close: async () => {
      await worker.close();
      await queue.close();
    },
  };
}
