import path from 'node:path';
import { z } from 'zod';
import { defaultRegistryDir, parseWith, type ServicesConfig } from '../../infra/config.js';

/**
 * Where replay jobs queue and write: the BullMQ queue REPLAY_QUEUE (default
 * `replay`) under the Redis prefix `<REDIS_KEY_PREFIX>bull`, the registry
 * (RECSYS_REGISTRY), reports in RECSYS_REPLAY_REPORTS (default var/replay).
 * REPLAY_LOCK_MS is how long a worker's lock on a job lasts without renewal:
 * a killed worker's job goes back to the queue about that long after it died.
 * REPLAY_DRAIN_MS is how long a stopping worker (SIGTERM) lets its current
 * job run on before stopping it at its next checkpoint and handing it back
 * to the queue.
 */
export const ReplaySettingsSchema = z.object({
  queueName: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'letters, digits, . _ -'),
  prefix: z.string().min(1),
  registry: z.string().min(1),
  reportsDir: z.string().min(1),
  /** @default 30000 */
  lockMs: z.number().int().min(1000),
  /** Attempts per job (the first run and retries after failures). @default 3 */
  attempts: z.number().int().min(1).max(20),
  /** Times a job may be found stalled (its worker died) and requeued before it fails. @default 3 */
  maxStalled: z.number().int().min(1).max(20),
  /** How long a stopping worker waits for its current job before stopping it at a checkpoint (requeued, no attempt used). @default 600000 */
  drainMs: z.number().int().min(0).max(86_400_000),
});
export type ReplaySettings = z.infer<typeof ReplaySettingsSchema>;

const num = (v: string | undefined, fallback: number) => (v === undefined || v === '' ? fallback : Number(v));

export function loadReplaySettings(services: ServicesConfig, env: NodeJS.ProcessEnv = process.env, overrides: Partial<ReplaySettings> = {}): ReplaySettings {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return parseWith(ReplaySettingsSchema, {
    queueName: env.REPLAY_QUEUE || 'replay',
    prefix: `${services.redis.keyPrefix}bull`,
    registry: defaultRegistryDir(env),
    reportsDir: path.resolve(env.RECSYS_REPLAY_REPORTS ?? 'var/replay'),
    lockMs: num(env.REPLAY_LOCK_MS, 30_000),
    attempts: num(env.REPLAY_ATTEMPTS, 3),
    maxStalled: num(env.REPLAY_MAX_STALLED, 3),
    drainMs: num(env.REPLAY_DRAIN_MS, 600_000),
    ...defined,
  }, 'invalid replay settings (check REPLAY_QUEUE, REPLAY_LOCK_MS, REPLAY_ATTEMPTS, REPLAY_MAX_STALLED, REPLAY_DRAIN_MS, RECSYS_REPLAY_REPORTS)');
}
