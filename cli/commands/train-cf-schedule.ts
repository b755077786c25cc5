import type { Command } from 'commander';
import { loadServicesConfig } from '../../infra/config.js';
import { ValidationError } from '../../infra/errors.js';
import { createRedis } from '../../infra/redis/redis-client.js';
import { onShutdown } from '../../infra/shutdown.js';
import type { GraphModelType } from '../../models/graph/graph-config.js';
import { createServicesNotifier } from '../../pipelines/registry/services-notifier.js';
import { RetrainQueue, loadRetrainSettings } from '../../pipelines/training/retrain-queue.js';
import { startRetrainWorker } from '../../pipelines/training/retrain-worker.js';
import { formatTable } from '../output/format-table.js';
import { duration } from '../options.js';

/** The training flags of `recsys train-cf` that a schedule keeps (given before or after the subcommand). */
interface ParentFlags {
  model?: GraphModelType;
  name?: string;
  epochs?: number;
  minRating?: number;
  config?: string;
  registry: string;
  source?: string;
}

async function withQueue<T>(registry: string | undefined, fn: (queue: RetrainQueue) => Promise<T>): Promise<T> {
  const services = loadServicesConfig();
  const redis = createRedis(services.redis);
  const queue = new RetrainQueue(redis, loadRetrainSettings(services, process.env, registry ? { registry } : {}));
  try {
    return await fn(queue);
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

const ms = (x: number) => {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) if (x % size === 0) return `${x / size}${unit}`;
  return `${x}ms`;
};

/** `recsys train-cf schedule|unschedule|status|worker`: retraining from the offline store on BullMQ. */
export function registerTrainCfSchedule(trainCf: Command): void {
  trainCf.command('schedule')
    .description('retrain from the offline store on a schedule (a BullMQ job scheduler, queue RETRAIN_QUEUE): every tick trains --model on the last --window of events with --production and publishes; `recsys train-cf worker` runs the ticks')
    .requiredOption('--every <duration>', 'time between ticks, e.g. 6h', duration('every'))
    .requiredOption('--window <duration>', 'events used by each tick, ending at the tick, e.g. 30d', duration('window'))
    .option('--promote', 'promote each new version to serving (serving hot-reloads it)')
    .addHelpText('after', '\nThe training flags come from train-cf: recsys train-cf schedule --model lightgcn --name stream-lightgcn --source clickhouse --every 6h --window 30d --promote')
    .action(async (flags: { every: number; window: number; promote?: boolean }, command: Command) => {
      const parent = command.parent!.opts<ParentFlags>();
      if (!parent.model) throw new ValidationError('train-cf schedule needs --model');
      if (!parent.name) throw new ValidationError('train-cf schedule needs --name (the registry name each tick publishes)');
      if (parent.source !== undefined && parent.source !== 'clickhouse') throw new ValidationError('a schedule trains from the offline store: --source clickhouse (or leave --source out)');
      const id = await withQueue(parent.registry, (queue) => queue.schedule({
        model: parent.model!, name: parent.name!, windowMs: flags.window, promote: flags.promote ?? false,
        ...(parent.epochs !== undefined ? { epochs: parent.epochs } : {}),
        ...(parent.minRating !== undefined ? { minRating: parent.minRating } : {}),
        ...(parent.config !== undefined ? { config: parent.config } : {}),
      }, flags.every));
      console.log(`scheduled ${id}: ${parent.model} → ${parent.name} every ${ms(flags.every)} on the last ${ms(flags.window)} of events${flags.promote ? ', promoted' : ''}; run the ticks with \`recsys train-cf worker\``);
    });

  trainCf.command('unschedule')
    .description('remove the retrain schedule of a registry name (--name)')
    .action(async (_flags: unknown, command: Command) => {
      const parent = command.parent!.opts<ParentFlags>();
      if (!parent.name) throw new ValidationError('train-cf unschedule needs --name');
      const removed = await withQueue(parent.registry, (queue) => queue.unschedule(parent.name!));
      console.log(removed ? `removed retrain-${parent.name}` : `no retrain schedule for ${parent.name}`);
    });

  trainCf.command('status')
    .description('the retrain schedules and the latest ticks (state, version published, or why a tick failed)')
    .option('--json', 'one JSON line')
    .action(async (flags: { json?: boolean }, command: Command) => {
      const parent = command.parent!.opts<ParentFlags>();
      const [schedules, runs] = await withQueue(parent.registry, async (queue) => [await queue.schedules(), await queue.runs(10)] as const);
      if (flags.json) return void console.log(JSON.stringify({ schedules, runs }));
      console.log(schedules.length === 0 ? 'no retrain schedules' : formatTable(['name', 'model', 'every', 'window', 'promote', 'next tick'], schedules.map((s) => [
        s.name, s.job?.model ?? '?', s.everyMs ? ms(s.everyMs) : '?', s.job ? ms(s.job.windowMs) : '?', s.job?.promote ? 'yes' : 'no', s.next ? new Date(s.next).toISOString() : '-',
      ])));
      if (runs.length > 0) {
        console.log(`\n${formatTable(['tick', 'name', 'state', 'result'], runs.map((r) => [
          new Date(r.scheduledAt).toISOString(), r.name ?? '?', r.state, r.failedReason ?? (r.result ? JSON.stringify(r.result) : ''),
        ]))}`);
      }
    });

  trainCf.command('worker')
    .description('run retrain ticks until stopped (SIGTERM/SIGINT let the current tick finish); each tick runs `recsys train-cf --production` in a child process')
    .action(async (_flags: unknown, command: Command) => {
      const parent = command.parent!.opts<ParentFlags>();
      const services = loadServicesConfig();
      const connection = createRedis(services.redis);
      const settings = loadRetrainSettings(services, process.env, { registry: parent.registry });
      const notifier = createServicesNotifier(services);
      const { close } = startRetrainWorker({ connection, settings, notifier });
      onShutdown('retrain-worker', async () => {
        await close();
        await notifier.close();
        connection.disconnect();
      }, { timeoutMs: 3_600_000 });
      console.error(`retrain worker: queue ${settings.queueName} (prefix ${settings.prefix}), registry ${settings.registry}`);
      await new Promise<never>(() => {});
    });
}
