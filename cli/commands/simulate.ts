import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { syntheticEvents } from '../../features/datasets/synthetic.js';
import type { Event } from '../../features/events/event-schema.js';
import { onShutdown } from '../../infra/shutdown.js';
import { RateLimiter } from '../../pipelines/ingest/event-producer.js';
import { eventKey } from '../../pipelines/ingest/events-kind.js';
import { nonNegative, positiveInt } from '../options.js';
import { eventsTopicOptions } from '../kafka-options.js';
import { openEventsProducer } from '../runs/events-producer.js';

interface SimulateFlags {
  rate: number;
  events?: number;
  duration?: number;
  users: number;
  items: number;
  seed: number;
  streamSeed?: number;
  runId?: string;
  eventTime: 'live' | 'synthetic';
  topic?: string;
  partitions?: number;
  brokers?: string;
}

/**
 * Live mode (default): each event's `ts` is the wall clock when it is sent and
 * its id is `sim-<run>-<n>`, so a rerun never collides with an earlier run
 * and ingestion freshness (event time → visible) is measurable.
 */
export function liveEvent(event: Event, runId: string, n: number, now: number): Event {
  return { ...event, event_id: `sim-${runId}-${n}`, ts: now };
}

export function registerSimulate(program: Command): void {
  const command = program
    .command('simulate')
    .description('produce the synthetic click stream (catalog updates, then impressions) to Kafka at a target rate; stops after --events or --duration, or on SIGINT')
    .requiredOption('--rate <n>', 'events per second (0 = as fast as possible)', nonNegative('rate'))
    .option('--events <n>', 'impressions to produce (default: unbounded until --duration or SIGINT)', positiveInt('events'))
    .option('--duration <s>', 'stop after this many seconds', nonNegative('duration'))
    .option('--users <n>', 'users', positiveInt('users'), 2000)
    .option('--items <n>', 'items', positiveInt('items'), 5000)
    .option('--seed <n>', 'the world: users, items, interests and click model (keep it to keep the world)', positiveInt('seed'), 42)
    .option('--stream-seed <n>', 'the impressions drawn from that world (default: random per run and printed, so a second run sends fresh impressions instead of replaying the first)', positiveInt('stream-seed'))
    .option('--run-id <id>', 'event ids are sim-<run-id>-<n> (default: random)')
    .option('--event-time <mode>', "'live' stamps events with the send time; 'synthetic' keeps the generator's times and ids", 'live');
  eventsTopicOptions(command)
    .action(async (opts: SimulateFlags) => {
      if (opts.eventTime !== 'live' && opts.eventTime !== 'synthetic') throw new Error(`--event-time must be live or synthetic, got ${opts.eventTime}`);
      const { producer, topic } = await openEventsProducer(opts, { batchSize: Math.max(1, Math.min(500, Math.ceil(opts.rate / 100) || 500)) });

      const runId = opts.runId ?? randomBytes(4).toString('hex');
      const streamSeed = opts.streamSeed ?? randomBytes(4).readUInt32BE(0) % 2 ** 31;
      console.error(`simulate: world seed ${opts.seed}, stream seed ${streamSeed} (--stream-seed ${streamSeed} repeats this run's impressions)`);
      const events = opts.events ?? Number.MAX_SAFE_INTEGER;
      const deadline = opts.duration === undefined ? Infinity : Date.now() + opts.duration * 1000;
      let stopping = false;
      onShutdown('simulate', () => { stopping = true; });
      const limiter = new RateLimiter(opts.rate);
      const start = Date.now();
      let sent = 0;
      let lastReport = start;
      for (const event of syntheticEvents({ events, users: opts.users, items: opts.items, seed: opts.seed, streamSeed })) {
        if (stopping || Date.now() >= deadline) break;
        await limiter.take();
        const now = Date.now();
        const out = opts.eventTime === 'live' ? liveEvent(event, runId, sent, now) : event;
        await producer.send({ key: eventKey(out), value: JSON.stringify(out), timestamp: String(now) });
        sent++;
        if (now - lastReport >= 5000) {
          lastReport = now;
          console.error(`simulate: ${sent} events, ${Math.round(sent / ((now - start) / 1000))} events/s`);
        }
      }
      await producer.close();
      const seconds = (Date.now() - start) / 1000;
      console.log(`${sent} events to ${topic} in ${seconds.toFixed(1)} s (${Math.round(sent / seconds)} events/s), run ${runId}`);
      console.log(JSON.stringify({ topic: topic, run_id: runId, seed: opts.seed, stream_seed: streamSeed, produced: sent, seconds: Number(seconds.toFixed(3)) }));
    });
}
