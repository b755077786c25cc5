import type { Command } from 'commander';
import { createReadStream, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { SingleBar, Presets } from 'cli-progress';
import { loadMovieLens } from '../../features/datasets/movielens.js';
import { movieLensEvents } from '../../features/datasets/movielens-events.js';
import { parseEvent } from '../../features/events/parse-event.js';
import { ValidationError } from '../../infra/errors.js';
import { sleep } from '../../infra/retry.js';
import { RateLimiter } from '../../pipelines/ingest/event-producer.js';
import { eventKey } from '../../pipelines/ingest/events-kind.js';
import { nonNegative } from '../options.js';
import { eventsTopicOptions } from '../kafka-options.js';
import { openEventsProducer } from '../runs/events-producer.js';

interface ProduceFlags {
  file: string;
  brokers?: string;
  topic?: string;
  partitions?: number;
  rate: number;
  speedup: number;
  validate: boolean;
  progress: boolean;
}

/** One line to send: the original bytes and, when it parsed, its key and event time. */
interface Outgoing {
  value: string;
  key: string | null;
  ts: number | undefined;
}

function isMovieLens(file: string): string | undefined {
  if (existsSync(file) && statSync(file).isDirectory()) return existsSync(path.join(file, 'u.data')) ? file : undefined;
  return path.basename(file) === 'u.data' ? path.dirname(file) : undefined;
}

async function* outgoing(file: string, validate: boolean, onInvalid: (line: number, reason: string) => void): AsyncGenerator<Outgoing> {
  const movieLensDir = isMovieLens(file);
  if (movieLensDir) {
    for (const event of movieLensEvents(await loadMovieLens(movieLensDir, { download: false }))) {
      yield { value: JSON.stringify(event), key: eventKey(event), ts: event.ts };
    }
    return;
  }
  if (!existsSync(file)) throw new ValidationError(`--file ${file} does not exist`);
  let line = 0;
  for await (const text of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    line++;
    if (text.trim() === '') continue;
    const parsed = parseEvent(text);
    if (parsed.ok) yield { value: text, key: eventKey(parsed.event), ts: parsed.event.ts };
    else if (validate) onInvalid(line, parsed.reason);
    else yield { value: text, key: null, ts: undefined };
  }
}

export function registerProduce(program: Command): void {
  const command = program
    .command('produce')
    .description('produce events to Kafka from a file: JSONL events (one per line) or MovieLens-100K (its directory or u.data) as a timed event stream')
    .requiredOption('--file <path>', 'JSONL file of events, or a MovieLens-100K directory / u.data')
    .option('--rate <n>', 'at most n events per second (0 = as fast as possible)', nonNegative('rate'), 0)
    .option('--speedup <x>', 'timed replay: keep the gaps between event times, divided by x (0 = no timing)', nonNegative('speedup'), 0)
    .option('--no-validate', 'send invalid lines as they are (to exercise the dead-letter path) instead of skipping and reporting them')
    .option('--no-progress', 'no progress bar');
  eventsTopicOptions(command)
    .action(async (opts: ProduceFlags) => {
      const { producer, topic } = await openEventsProducer(opts);
      const movieLens = isMovieLens(opts.file) !== undefined;
      const total = movieLens ? 0 : statSync(opts.file).size;
      const bar = opts.progress
        ? new SingleBar({ format: `producing [{bar}] {percentage}% | {events} events | {rate} ev/s | ETA {eta}s`, etaBuffer: 200, stream: process.stderr }, Presets.shades_classic)
        : undefined;
      bar?.start(movieLens ? 101_000 : total, 0, { events: 0, rate: 0 });
      const limiter = new RateLimiter(opts.rate);
      const invalid: string[] = [];
      let invalidCount = 0;
      let sent = 0;
      let bytes = 0;
      let firstTs: number | undefined;
      const start = performance.now();
      try {
        for await (const item of outgoing(opts.file, opts.validate, (line, reason) => {
          if (++invalidCount <= 10) invalid.push(`line ${line}: ${reason}`);
        })) {
          if (opts.speedup > 0 && item.ts !== undefined) {
            firstTs ??= item.ts;
            const due = start + (item.ts - firstTs) / opts.speedup;
            const ahead = due - performance.now();
            if (ahead > 5) await sleep(ahead);
          }
          await limiter.take();
          await producer.send({ key: item.key, value: item.value });
          sent++;
          bytes += Buffer.byteLength(item.value) + 1;
          if (sent % 2000 === 0) {
            const rate = Math.round(sent / ((performance.now() - start) / 1000));
            bar?.update(movieLens ? sent : bytes, { events: sent, rate });
          }
        }
        await producer.close();
      } finally {
        bar?.update(movieLens ? sent : bytes, { events: sent, rate: Math.round(sent / ((performance.now() - start) / 1000)) });
        bar?.stop();
      }
      const seconds = (performance.now() - start) / 1000;
      for (const line of invalid) console.error(`skipped invalid ${line}`);
      if (invalidCount > invalid.length) console.error(`... and ${invalidCount - invalid.length} more invalid lines`);
      console.log(`${sent} events to ${topic} in ${seconds.toFixed(1)} s (${Math.round(sent / seconds)} events/s)${invalidCount ? `, ${invalidCount} invalid lines skipped` : ''}`);
      console.log(JSON.stringify({ topic: topic, produced: sent, invalid_skipped: invalidCount, seconds: Number(seconds.toFixed(3)) }));
    });
}
