import { Queue } from 'bullmq';
import { z } from 'zod';
import { defaultRegistryDir, parseWith, type ServicesConfig } from '../../infra/config.js';
import type { Redis } from '../../infra/redis/redis-client.js';
import { GRAPH_MODEL_TYPES } from '../../models/graph/graph-config.js';

/**
 * Scheduled retraining of a retrieval model from the offline store: a BullMQ
 * job scheduler per registry name adds a `retrain` job every `everyMs`; a
 * worker (retrain-worker.ts) runs `recsys train-cf --source clickhouse
 * --production` over the last `windowMs` of events, publishes, and with
 * `promote` moves the serving alias so serving hot-reloads the new version.
 */
export const RETRAIN_JOB = 'retrain';

export const RetrainJobSchema = z.object({
  model: z.enum(GRAPH_MODEL_TYPES),
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lowercase letters, digits, - or _'),
  /** Events in [tick − windowMs, tick) train the model. */
  windowMs: z.number().int().positive(),
  epochs: z.number().int().positive().optional(),
  minRating: z.number().nonnegative().optional(),
  config: z.string().optional(),
  /** Promote each new version to serving (serving hot-reloads it). */
  promote: z.boolean().default(false),
}).strict();
export type RetrainJob = z.infer<typeof RetrainJobSchema>;

export const RetrainSettingsSchema = z.object({
  queueName: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'letters, digits, . _ -'),
  prefix: z.string().min(1),
  registry: z.string().min(1),
  /** Attempts per tick (the first run and retries after failures). @default 2 */
  attempts: z.number().int().min(1).max(20),
});
export type RetrainSettings = z.infer<typeof RetrainSettingsSchema>;

/** RETRAIN_QUEUE (default `retrain`) under `<REDIS_KEY_PREFIX>bull`; the registry RECSYS_REGISTRY. */
export function loadRetrainSettings(services: ServicesConfig, env: NodeJS.ProcessEnv = process.env, overrides: Partial<RetrainSettings> = {}): RetrainSettings {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return parseWith(RetrainSettingsSchema, {
    queueName: env.RETRAIN_QUEUE || 'retrain',
    prefix: `${services.redis.keyPrefix}bull`,
    registry: defaultRegistryDir(env),
    attempts: 2,
    ...defined,
  }, 'invalid retrain settings (check RETRAIN_QUEUE, RECSYS_REGISTRY)');
}

export interface RetrainSchedule {
  name: string;
  everyMs: number | null;
  next: number | null;
  job: RetrainJob | null;
}

export interface RetrainRun {
  id: string;
  state: string;
  name: string | null;
  scheduledAt: number;
  finishedAt: number | null;
  result: unknown;
  failedReason: string | null;
}

const schedulerId = (name: string) => `retrain-${name}`;

export class RetrainQueue {
  readonly queue: Queue;

  constructor(connection: Redis, readonly settings: RetrainSettings) {
    this.queue = new Queue(settings.queueName, { connection, prefix: settings.prefix });
  }

  /** Creates or replaces the schedule of `job.name`; the first tick comes after `everyMs`. Returns the scheduler id. */
  async schedule(input: z.input<typeof RetrainJobSchema>, everyMs: number): Promise<string> {
    const job = parseWith(RetrainJobSchema, input, 'invalid retrain schedule');
    const id = schedulerId(job.name);
    await this.queue.upsertJobScheduler(id, { every: everyMs, startDate: Date.now() + everyMs }, {
      name: RETRAIN_JOB, data: job, opts: { attempts: this.settings.attempts, backoff: { type: 'exponential', delay: 30_000 }, removeOnComplete: 50, removeOnFail: 50 },
    });
    return id;
  }

  unschedule(name: string): Promise<boolean> {
    return this.queue.removeJobScheduler(schedulerId(name));
  }

  async schedules(): Promise<RetrainSchedule[]> {
    const all = await this.queue.getJobSchedulers(0, -1, true);
    return all.map((s) => {
      const parsed = RetrainJobSchema.safeParse(s.template?.data);
      return { name: s.key.replace(/^retrain-/, ''), everyMs: s.every ? Number(s.every) : null, next: s.next ?? null, job: parsed.success ? parsed.data : null };
    });
  }

  /** The latest runs, newest first. */
  async runs(limit = 10): Promise<RetrainRun[]> {
    const jobs = await this.queue.getJobs(['active', 'waiting', 'delayed', 'completed', 'failed'], 0, limit - 1, false);
    const runs = await Promise.all(jobs.filter((j) => j?.id).map(async (j) => ({
      id: j.id!, state: await j.getState(), name: (j.data as { name?: string } | undefined)?.name ?? null,
      scheduledAt: j.timestamp, finishedAt: j.finishedOn ?? null, result: j.returnvalue ?? null, failedReason: j.failedReason || null,
    })));
    return runs.sort((a, b) => b.scheduledAt - a.scheduledAt).slice(0, limit);
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
