import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { parseWith } from '../../infra/config.js';
import { logger } from '../../infra/logger.js';
import type { Redis } from '../../infra/redis/redis-client.js';
import { ModelRegistry } from '../registry/model-registry.js';
import type { RegistryNotifier } from '../registry/registry-notifier.js';
import { RetrainJobSchema, type RetrainJob, type RetrainSettings } from './retrain-queue.js';

const log = logger('retrain-worker');

/** The `recsys` entry point a tick runs (a child process: training holds its event loop for minutes, and BullMQ must keep renewing the job's lock). */
const CLI = fileURLToPath(new URL('../../bin/recsys.js', import.meta.url));

export interface RetrainWorkerOptions {
  connection: Redis;
  settings: RetrainSettings;
  /** Tells serving about a promotion (Redis channel, ClickHouse audit). */
  notifier?: RegistryNotifier;
  /** Environment of the training child (services, registry). @default process.env */
  env?: NodeJS.ProcessEnv;
}

export interface RetrainResult {
  name: string;
  version: number;
  positives: number;
  from: number;
  to: number;
  promoted: boolean;
}

/** The `recsys train-cf` arguments of one tick at time `now`. */
export function retrainArgs(job: RetrainJob, now: number, registry: string): string[] {
  return [
    'train-cf', '--model', job.model, '--name', job.name, '--source', 'clickhouse', '--production',
    '--from', String(now - job.windowMs), '--to', String(now), '--registry', registry, '--no-progress',
    ...(job.epochs !== undefined ? ['--epochs', String(job.epochs)] : []),
    ...(job.minRating !== undefined ? ['--min-rating', String(job.minRating)] : []),
    ...(job.config !== undefined ? ['--config', job.config] : []),
  ];
}

function runTrainCf(args: string[], env: NodeJS.ProcessEnv): Promise<{ version: number; positives: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let summary: { version?: number; positives?: number } | undefined;
    const stderr: string[] = [];
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('{')) {
        try { summary = JSON.parse(line); } catch { /* a progress line, not the summary */ }
      }
    });
    createInterface({ input: child.stderr! }).on('line', (line) => { stderr.push(line); if (stderr.length > 20) stderr.shift(); });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0 && summary?.version !== undefined) resolve({ version: summary.version, positives: summary.positives ?? 0 });
      else reject(Object.assign(new Error(`train-cf exited with ${signal ?? code}: ${stderr.slice(-5).join(' | ')}`), { retriable: code !== 2 }));
    });
  });
}

/**
 * Runs retrain ticks. A tick trains on the window ending at its scheduled
 * time, so a retried tick trains on the same events. Bad input (exit code 2:
 * an empty window, a bad config) fails the tick without retries; anything
 * else is retried with backoff.
 */
export function startRetrainWorker({ connection, settings, notifier, env = process.env }: RetrainWorkerOptions): { worker: Worker; close(): Promise<void> } {
  const registry = new ModelRegistry(settings.registry, notifier ? { notifier } : {});
  const processor = async (job: Job): Promise<RetrainResult> => {
    const spec = parseWith(RetrainJobSchema, job.data, 'invalid retrain job');
    const to = job.timestamp;
    try {
      const trained = await runTrainCf(retrainArgs(spec, to, settings.registry), { ...env, RECSYS_REGISTRY: settings.registry });
      if (spec.promote) await registry.promote(spec.name, trained.version, { actor: 'retrain-schedule', reason: `scheduled retrain (window ${spec.windowMs} ms to ${new Date(to).toISOString()})` });
      const result = { name: spec.name, version: trained.version, positives: trained.positives, from: to - spec.windowMs, to, promoted: spec.promote };
      log.info(result, 'retrained');
      return result;
    } catch (error) {
      log.warn({ err: error, jobId: job.id }, 'retrain tick failed');
      if ((error as { retriable?: unknown }).retriable === false) throw new UnrecoverableError((error as Error).message);
      throw error;
    }
  };
  const worker = new Worker(settings.queueName, processor, { connection, prefix: settings.prefix, concurrency: 1 });
  worker.on('failed', (job, error) => log.warn({ jobId: job?.id, reason: error.message }, 'retrain failed'));
  return { worker, close: () => worker.close() };
}
