import { Queue, type Job, type JobsOptions } from 'bullmq';
import type { SqlClient } from '../../infra/clickhouse/sql-client.js';
import type { Redis } from '../../infra/redis/redis-client.js';
import { ModelRegistry } from '../registry/model-registry.js';
import { checkReplay, checkWindow, checkWindowTime, pinModel } from './replay-checks.js';
import { parseReplaySpec, replayJobId, type ReplaySpec, type ReplaySpecInput } from './replay-spec.js';
import type { ReplaySettings } from './replay-settings.js';

/**
 * The replay queue (BullMQ): submit with every check done first (a refused
 * replay never reaches the queue), status of a job, recurring schedules.
 * Job ids are the spec's hash, so submitting a replay that is already queued
 * or done returns that job.
 */
export const REPLAY_JOB = 'replay';
export const RECURRING_JOB = 'recurring';

export type SubmitInput = Omit<ReplaySpecInput, 'a' | 'b'> & { a: string; b: string };

export interface SubmitResult {
  jobId: string;
  /** False when the same replay was already in the queue (its job is returned). */
  created: boolean;
  state: string;
  spec: ReplaySpec;
  decisions: number;
  impressions: number;
}

export interface JobStatus {
  id: string;
  name: string;
  state: string;
  progress: unknown;
  attemptsMade: number;
  failedReason: string | null;
  result: unknown;
  data: unknown;
  createdAt: number;
  finishedAt: number | null;
}

export function jobOptions(settings: ReplaySettings, jobId: string): JobsOptions {
  return { jobId, attempts: settings.attempts, backoff: { type: 'exponential', delay: 5000 }, removeOnComplete: false, removeOnFail: false };
}

export class ReplayQueue {
  readonly queue: Queue;

  constructor(connection: Redis, readonly settings: ReplaySettings) {
    this.queue = new Queue(settings.queueName, { connection, prefix: settings.prefix });
  }

  async submit(input: SubmitInput, db: SqlClient): Promise<SubmitResult> {
    const registry = new ModelRegistry(this.settings.registry);
    const [a, b] = [await pinModel(registry, input.a, 'A'), await pinModel(registry, input.b, 'B')];
    const spec = parseReplaySpec({ ...input, a, b });
    checkWindowTime(spec, Date.now());
    await checkReplay(registry, spec);
    const counts = await checkWindow(db, spec);
    const { job, created } = await this.enqueue(spec);
    return { jobId: job.id!, created, state: await job.getState(), spec, ...counts };
  }

  /** Adds a checked spec under its hash id, or returns the job already there. */
  async enqueue(spec: ReplaySpec): Promise<{ job: Job; created: boolean }> {
    const jobId = replayJobId(spec);
    const existing = await this.queue.getJob(jobId);
    if (existing) return { job: existing, created: false };
    return { job: await this.queue.add(REPLAY_JOB, spec, jobOptions(this.settings, jobId)), created: true };
  }

  async status(jobId: string): Promise<JobStatus | undefined> {
    // State first, then the job: a job that completes in between is then read with its result, never 'completed' without one.
    const state = await this.queue.getJobState(jobId);
    const job = await this.queue.getJob(jobId);
    if (!job) return undefined;
    return {
      id: job.id!, name: job.name, state: state === 'unknown' ? await job.getState() : state, progress: job.progress, attemptsMade: job.attemptsMade,
      failedReason: job.failedReason || null, result: job.returnvalue ?? null, data: job.data, createdAt: job.timestamp, finishedAt: job.finishedOn ?? null,
    };
  }

  /**
   * A recurring replay of `model`: at each tick (cron `pattern` or `every` ms)
   * a worker replays the most recent day after both cut-offs, serving version
   * against the newest version that is not serving (recurring-replay.ts).
   */
  async schedule(model: string, repeat: { pattern: string } | { every: number }, options: Partial<ReplaySpecInput> = {}): Promise<string> {
    const id = `recurring-${model}`;
    await this.queue.upsertJobScheduler(id, repeat, { name: RECURRING_JOB, data: { model, options }, opts: { attempts: this.settings.attempts, backoff: { type: 'exponential', delay: 5000 } } });
    return id;
  }

  async unschedule(model: string): Promise<boolean> {
    return this.queue.removeJobScheduler(`recurring-${model}`);
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
