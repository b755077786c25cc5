import type { Command } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import { randomBytes } from 'node:crypto';
import { ValidationError } from '../../infra/errors.js';
import { JsonlOutcomeSink, KafkaOutcomeSink, type OutcomeSink } from '../../pipelines/simulation/outcome-sink.js';
import { NeedsCandidatesError, simulateUsers, type SimulationStats } from '../../pipelines/simulation/simulate-users.js';
import { integer, nonNegative, positiveInt } from '../options.js';
import { eventsTopicOptions } from '../kafka-options.js';
import { openEventsProducer } from '../runs/events-producer.js';

interface SimulateUsersFlags {
  serveUrl: string;
  users: number;
  requests: number;
  rate: number;
  seed: number;
  items: number;
  k: number;
  concurrency: number;
  candidates: number;
  userIdPrefix: string;
  itemIdPrefix: string;
  progress: number;
  eventsOut?: string;
  kafka?: boolean;
  topic?: string;
  partitions?: number;
  brokers?: string;
  runId?: string;
}

const DEFAULT_EVENTS_FILE = 'var/simulated-outcomes.jsonl';

const unitInterval = (flag: string) => (value: string): number => {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new ValidationError(`--${flag} must be a number in [0, 1], got ${JSON.stringify(value)}`);
  return n;
};

export function registerSimulateUsers(program: Command): void {
  const command = program
    .command('simulate-users')
    .description('simulated users of the synthetic world call POST /v1/recommend and click shown items with the generator\'s true probabilities; each click is a `click` event with the decision\'s request_id, to Kafka (the events topic) or a JSONL file; progress bar, then one JSON line (requests, clicks, CTR, latency p50/p99)')
    .requiredOption('--serve-url <url>', 'the server, e.g. http://127.0.0.1:8080')
    .option('--users <n>', "simulated users: the synthetic world's u0..u<n-1>", positiveInt('users'), 100)
    .option('--requests <n>', 'recommend calls in all', positiveInt('requests'), 1000)
    .option('--rate <r>', 'requests per second (0 = as fast as --concurrency allows)', nonNegative('rate'), 20)
    .option('--seed <n>', 'seed of the synthetic world (the one the served model was trained on; recsys data synthetic --seed) and of the draws', integer('seed'), 42)
    .option('--items <n>', "the synthetic world's catalog size (the stream's --items)", positiveInt('items'), 5000)
    .option('--k <n>', 'items asked per request', positiveInt('k'), 10)
    .option('--concurrency <n>', 'requests in flight at most', positiveInt('concurrency'), 4)
    .option('--candidates <n>', 'each request supplies this many candidates drawn from the catalog by popularity (for a server without a retrieval model); 0 = the server retrieves', (v: string) => (v === '0' ? 0 : positiveInt('candidates')(v)), 0)
    .option('--user-id-prefix <p>', 'user ids sent are <p><n>', 'u')
    .option('--item-id-prefix <p>', 'served item ids <p><n> are world item n (mod --items); other ids are hashed onto the catalog', 'i')
    .option('--progress <f>', "users' interests at this point of the synthetic stream's drift (0 start, 1 end)", unitInterval('progress'), 1)
    .option('--events-out <file>', `append outcome events to this JSONL file (default ${DEFAULT_EVENTS_FILE} unless --kafka)`)
    .option('--kafka', 'produce outcome events to the events topic (env KAFKA_EVENTS_TOPIC, default recsys.events)')
    .option('--run-id <id>', 'event ids are simu-<run-id>-<request>-<position> (default: random)');
  eventsTopicOptions(command, 'events topic with --kafka (env KAFKA_EVENTS_TOPIC, default recsys.events)')
    .action(async (opts: SimulateUsersFlags) => {
      if (opts.kafka && opts.eventsOut) throw new ValidationError('--events-out and --kafka exclude each other: pick one sink');
      let url: URL;
      try {
        url = new URL(opts.serveUrl);
      } catch {
        throw new ValidationError(`--serve-url must be a URL such as http://127.0.0.1:8080, got ${JSON.stringify(opts.serveUrl)}`);
      }
      const sink = opts.kafka ? await kafkaSink(opts) : new JsonlOutcomeSink(opts.eventsOut ?? DEFAULT_EVENTS_FILE);
      const runId = opts.runId ?? randomBytes(4).toString('hex');
      // SIGINT/SIGTERM end the run early; the requests in flight finish and the summary is still printed.
      let stopping = false;
      const stop = () => { stopping = true; };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);

      const bar = new SingleBar({
        format: 'simulate-users [{bar}] {value}/{total} requests | {clicks} clicks | CTR {ctr} | p50 {p50} ms | {failed} failed | ETA {eta_formatted}',
        hideCursor: process.stderr.isTTY === true,
        stream: process.stderr,
        etaBuffer: 100,
      }, Presets.shades_classic);
      bar.start(opts.requests, 0, { clicks: 0, ctr: '-', p50: '-', failed: 0 });
      let lastDraw = 0;
      const onProgress = (s: Readonly<SimulationStats>) => {
        const now = performance.now();
        if (now - lastDraw < 200 && s.requests < opts.requests) return;
        lastDraw = now;
        const sorted = [...s.latenciesMs].sort((a, b) => a - b);
        const p50 = sorted.length > 0 ? sorted[Math.ceil(sorted.length / 2) - 1]!.toFixed(1) : '-';
        bar.update(s.requests, { clicks: s.clicks, ctr: s.shown > 0 ? (s.clicks / s.shown).toFixed(4) : '-', p50, failed: s.failed });
      };

      let summary;
      try {
        summary = await simulateUsers({
          serveUrl: url.toString(), sink, runId, onProgress, stopped: () => stopping,
          users: opts.users, requests: opts.requests, rate: opts.rate, seed: opts.seed, items: opts.items, k: opts.k,
          concurrency: opts.concurrency, candidates: opts.candidates, userIdPrefix: opts.userIdPrefix, itemIdPrefix: opts.itemIdPrefix, progress: opts.progress,
        });
      } catch (error) {
        if (error instanceof NeedsCandidatesError) {
          throw new ValidationError(`${error.serveUrl} serves no retrieval model, so every request needs candidates: rerun with --candidates N (e.g. --candidates 200) to send N catalog items per request, or serve a retrieval model (recsys serve --retrieval <name>)`);
        }
        throw error;
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        bar.stop();
        await sink.close();
      }
      for (const error of summary.errors) console.error(`simulate-users: request failed: ${error}`);
      console.log(`${summary.requests} requests (${summary.failed} failed) in ${summary.seconds} s: ${summary.clicks} clicks on ${summary.shown} shown items, CTR ${summary.ctr} (expected ${summary.expected_ctr}); latency p50 ${summary.latency_p50_ms} ms, p99 ${summary.latency_p99_ms} ms; events → ${sink.target}`);
      console.log(JSON.stringify({ serve_url: opts.serveUrl, run_id: runId, events: sink.target, ...summary }));
      if (summary.requests > 0 && summary.failed === summary.requests) throw new Error(`every request to ${opts.serveUrl} failed (first: ${summary.errors[0] ?? 'unknown'})`);
    });
}

async function kafkaSink(opts: SimulateUsersFlags): Promise<OutcomeSink> {
  const { producer, topic } = await openEventsProducer(opts, { batchSize: 100 });
  return new KafkaOutcomeSink(producer, topic);
}
