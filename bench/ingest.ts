// Sustained ingestion: Kafka → ClickHouse + Redis, on this machine.
//
//   npm run bench -- ingest [--events 15000000] [--partitions 4] [--max-drain-seconds 1800]
//                           [--freshness-rate 10000] [--freshness-seconds 60] [--max-batch 20000]
//                           [--chunk-size 1000] [--in-flight 3] [--consumer-node-options=--max-semi-space-size=128]
//                           [--users 100000] [--items 50000] [--prefill-workers 2] [--consumers 1] [--cpu-prof] [--keep] [--no-progress]
//
// 1. pre-fills a fresh topic with --events synthetic interactions (plus one
//    attribute update per user and item; mean size reported), generated and
//    produced by --prefill-workers processes;
// 2. drains it with --consumers processes in one consumer group
//    (bench/ingest-lib/consumer.ts, the library form of `recsys ingest`; the
//    way to use more than one core for it), the producer not running:
//    events/s committed (both stores written), CPU seconds of each process
//    (the consumers summed, Kafka, ClickHouse, Redis), the consumers' peak RSS;
// 3. with the consumer caught up, produces live-stamped events at
//    --freshness-rate for --freshness-seconds: freshness p50/p99 (event time →
//    visible in Redis);
// 4. with --cpu-prof, where the consumer's CPU goes.
// Everything lives in a random database / topic / key prefix, removed at the end unless --keep.
import { readFileSync, readdirSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { loadavg } from 'node:os';
import { Presets, SingleBar } from 'cli-progress';
import { syntheticEvents } from '../features/datasets/synthetic.js';
import { loadServicesConfig } from '../infra/config.js';
import { createClickHouse } from '../infra/clickhouse/clickhouse-client.js';
import { migrate } from '../infra/clickhouse/migrate.js';
import { sqlIdentifier } from '../infra/clickhouse/escape.js';
import { createKafka, ensureTopics } from '../infra/kafka/kafka-client.js';
import { createRedis } from '../infra/redis/redis-client.js';
import { processCpu } from '../infra/process-cpu.js';
import { EventProducer, RateLimiter } from '../pipelines/ingest/event-producer.js';
import { eventKey } from '../pipelines/ingest/events-kind.js';
import { loadIngestSettings } from '../pipelines/ingest/ingest-config.js';
import { countInteractions } from '../pipelines/ingest/offline-store.js';
import { LoadSampler, quantile } from './lib/harness.js';
import { summarizeProfile } from './ingest-lib/profile-summary.js';
import { heapGrowingNodeFlag } from '../infra/v8-heap.js';

const { values: flags } = parseArgs({
  options: {
    events: { type: 'string', default: '15000000' },
    partitions: { type: 'string', default: '4' },
    'max-drain-seconds': { type: 'string', default: '1800' },
    'freshness-rate': { type: 'string', default: '10000' },
    'freshness-seconds': { type: 'string', default: '60' },
    'max-batch': { type: 'string', default: '20000' },
    'chunk-size': { type: 'string', default: '1000' },
    'in-flight': { type: 'string', default: '3' },
    'prefill-workers': { type: 'string', default: '2' },
    consumers: { type: 'string', default: '1' },
    'no-progress': { type: 'boolean', default: false },
    users: { type: 'string', default: '100000' },
    items: { type: 'string', default: '50000' },
    'cpu-prof': { type: 'boolean', default: false },
    // V8 flags of the consumer process: a young generation large enough that a
    // flush's objects die young instead of being promoted (GC was 16-24% of the consumer's CPU).
    'consumer-node-options': { type: 'string', default: '--max-semi-space-size=128' },
    keep: { type: 'boolean', default: false },
  },
});
const N = Number(flags.events);
const partitions = Number(flags.partitions);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = `bench_ingest_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
const base = loadServicesConfig();
const services = { ...base, clickhouse: { ...base.clickhouse, database: run }, redis: { ...base.redis, keyPrefix: `${run}:` } };
const topic = run;
const groupId = `${run}_group`;
const log = (msg: string) => console.error(`[bench ingest] ${msg}`);
/** A progress bar on stderr (redrawn on a terminal; a line every 15 s otherwise). */
const progressBar = (format: string) =>
  flags['no-progress']
    ? undefined
    : new SingleBar({ format: `[bench ingest] ${format}`, stream: process.stderr, etaBuffer: 30, noTTYOutput: true, notTTYSchedule: 15_000, fps: 2 }, Presets.shades_classic);
const loads = new LoadSampler();

const admin = createClickHouse(services.clickhouse, { database: null });
const db = createClickHouse(services.clickhouse);
await migrate({ admin, db }, run);
const kafka = createKafka(services.kafka);
const kadmin = kafka.admin();
await kadmin.connect();
await ensureTopics(kadmin, [{ topic, numPartitions: partitions }, { topic: `${topic}.dlq`, numPartitions: 1 }]);
const redis = createRedis(services.redis);

// 1. Pre-fill, in --prefill-workers processes: generating a synthetic event
// costs more CPU than producing it, so one process left the broker idle.
// Worker 0 produces the catalog and stream 0 (the events the bench always
// produced); the others streams of their own over the same users and items.
const options = { events: N, users: Number(flags.users), items: Number(flags.items), seed: 1 };
const total = N + options.users + options.items;
let bytes = 0;
let produced = 0;
{
  const workers = Math.max(1, Math.min(Number(flags['prefill-workers']), N || 1));
  const start = performance.now();
  const bar = progressBar('pre-fill [{bar}] {percentage}% | {value}/{total} events | {rate} ev/s | ETA {eta_formatted}');
  bar?.start(total, 0, { rate: 0 });
  const progress = new Array<number>(workers).fill(0);
  await Promise.all(Array.from({ length: workers }, (_, w) => new Promise<void>((resolve, reject) => {
    const events = Math.floor(N / workers) + (w < N % workers ? 1 : 0);
    const worker = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/ingest-lib/prefill-worker.ts')], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env, PREFILL_TOPIC: topic, PREFILL_EVENTS: String(events), PREFILL_USERS: String(options.users), PREFILL_ITEMS: String(options.items),
        PREFILL_SEED: String(options.seed), PREFILL_STREAM: String(w), PREFILL_CATALOG: w === 0 ? '1' : '0', LOG_LEVEL: 'warn',
      },
    });
    let done = false;
    createInterface({ input: worker.stdout! }).on('line', (line) => {
      let report: { produced?: number; bytes?: number; done?: boolean };
      try { report = JSON.parse(line) as typeof report; } catch { return; }
      progress[w] = report.produced ?? progress[w]!;
      if (report.done) { done = true; bytes += report.bytes ?? 0; }
      const sum = progress.reduce((a, b) => a + b, 0);
      bar?.update(sum, { rate: Math.round(sum / ((performance.now() - start) / 1000)) });
    });
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 && done ? resolve() : reject(new Error(`pre-fill worker ${w} exited with ${code}`))));
  })));
  produced = progress.reduce((a, b) => a + b, 0);
  bar?.update(produced);
  bar?.stop();
  if (produced !== total) throw new Error(`pre-filled ${produced} events, expected ${total}`);
  log(`pre-filled ${produced} events in ${workers} processes, mean ${(bytes / produced).toFixed(1)} bytes, in ${((performance.now() - start) / 1000).toFixed(1)} s`);
}

// 2. Drain with --consumers processes in one group.
const pidOf = (name: string) => Number(readFileSync(path.join(ROOT, 'var/run', `${name}.pid`), 'utf8').trim());
const cpuSeconds = (pid: number) => processCpu(pid)?.own ?? Number.NaN;
const peakRss = (pid: number) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
const profDir = path.join(ROOT, 'var', 'bench-ingest-prof', run);
if (flags['cpu-prof']) mkdirSync(profDir, { recursive: true });
// The heap setting `recsys ingest` runs with (infra/v8-heap.ts), then the bench's own V8 flags.
const nodeOptions = [heapGrowingNodeFlag(), ...flags['consumer-node-options'].split(/\s+/).filter(Boolean)];
interface Report { t: number; flushed: number; rss: number; fresh: { n: number; p50: number | null; p99: number | null; max: number | null }; stages: Record<string, number> }
const consumerCount = Math.max(1, Number(flags.consumers));
const consumers = Array.from({ length: consumerCount }, () => {
  const child = spawn(process.execPath, [...nodeOptions, ...(flags['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []), '--import', 'tsx', path.join(ROOT, 'bench/ingest-lib/consumer.ts')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env, CLICKHOUSE_DATABASE: run, REDIS_KEY_PREFIX: `${run}:`, KAFKA_EVENTS_TOPIC: topic, KAFKA_EVENTS_PARTITIONS: String(partitions),
      KAFKA_DEAD_LETTER_TOPIC: `${topic}.dlq`, INGEST_GROUP: groupId, MAX_FLUSH: flags['max-batch'], CHUNK: flags['chunk-size'],
      IN_FLIGHT: flags['in-flight'], LOG_LEVEL: 'warn',
    },
  });
  const state: { child: typeof child; report?: Report; freshness?: number[] } = { child };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      const parsed = JSON.parse(line) as Report | { freshness: number[] };
      if ('freshness' in parsed) state.freshness = parsed.freshness;
      else state.report = parsed;
    } catch { /* not a report */ }
  });
  return state;
});
const reportSum = () => consumers.reduce((n, c) => n + (c.report?.flushed ?? 0), 0);
const reportRss = () => consumers.reduce((n, c) => n + (c.report?.rss ?? 0), 0);
/** Each stage's mean over the consumers' means. */
const stageMeans = () => {
  const out: Record<string, number> = {};
  const reported = consumers.filter((c) => c.report?.stages);
  for (const c of reported) for (const [k, v] of Object.entries(c.report!.stages)) out[k] = (out[k] ?? 0) + v / reported.length;
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Number(v.toFixed(4))]));
};
const servicePids = { kafka: pidOf('kafka'), clickhouse: pidOf('clickhouse'), redis: pidOf('redis') };
/** CPU seconds so far: the consumers summed, then each service. */
const cpuNow = (): Record<string, number> => ({
  consumer: consumers.reduce((s, c) => s + cpuSeconds(c.child.pid!), 0),
  ...Object.fromEntries(Object.entries(servicePids).map(([k, p]) => [k, cpuSeconds(p)])),
});
const cpu0 = cpuNow();
const drainStart = performance.now();
let firstFlushAt: number | undefined;
// Progress is the group's committed offsets, not the consumer's flush count:
// a rebalance replays flushes (the stores absorb them), and counting those
// would end the drain early and overstate its rate.
const committedCount = async () => {
  const [offsets] = await kadmin.fetchOffsets({ groupId, topics: [topic] });
  return (offsets?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
};
const samples: { s: number; flushed: number }[] = [];
const maxDrain = Number(flags['max-drain-seconds']) * 1000;
const drainBar = progressBar('drain [{bar}] {percentage}% | {value}/{total} events | {rate} ev/s | rss {rss} MB | load {load} | ETA {eta_formatted}');
drainBar?.start(produced, 0, { rate: 0, rss: 0, load: 0 });
while (performance.now() - drainStart < maxDrain) {
  await new Promise((r) => setTimeout(r, 1000));
  const flushed = await committedCount();
  if (flushed > 0 && firstFlushAt === undefined) firstFlushAt = performance.now();
  samples.push({ s: (performance.now() - drainStart) / 1000, flushed });
  const recent = samples.at(-11);
  const rate = recent ? Math.round((flushed - recent.flushed) / (samples.at(-1)!.s - recent.s)) : 0;
  drainBar?.update(flushed, { rate, rss: Math.round(reportRss() / 2 ** 20), load: loadavg()[0]!.toFixed(1) });
  if (samples.length % 60 === 0) log(`drain ${flushed}/${produced} after ${Math.round(samples.at(-1)!.s)} s, stage means ${JSON.stringify(stageMeans())}`);
  if (flushed >= produced) break;
}
drainBar?.stop();
const drainSeconds = (performance.now() - drainStart) / 1000;
const drained = samples.at(-1)?.flushed ?? 0;
const flushedMessages = reportSum();
const cpu = Object.fromEntries(Object.entries(cpuNow()).map(([k, v]) => [k, Number((v - cpu0[k]!).toFixed(1))]));
const steady = (() => {
  // Rate between 10% and 90% of the drain: excludes the group join and the tail.
  const a = samples.find((s) => s.flushed >= 0.1 * drained);
  const b = [...samples].reverse().find((s) => s.flushed <= 0.9 * drained);
  return a && b && b.s > a.s ? Math.round((b.flushed - a.flushed) / (b.s - a.s)) : undefined;
})();
const consumerPeakRss = Math.max(...consumers.map((c) => peakRss(c.child.pid!)));
const drainLoad = loads.take();
const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
const serviceRss = Object.fromEntries((['kafka', 'clickhouse', 'redis'] as const).map((k) => [k, Math.round(rssOf(servicePids[k]) / 2 ** 20)]));
log(`drained ${drained} in ${drainSeconds.toFixed(1)} s: ${Math.round(drained / drainSeconds)} events/s overall, ${steady} events/s steady; CPU s ${JSON.stringify(cpu)}`);
if (flushedMessages > drained) log(`the consumer flushed ${flushedMessages - drained} messages twice (a rebalance replayed them)`);

// 3. Freshness at a steady rate, the producer running.
const rate = Number(flags['freshness-rate']);
const freshSeconds = Number(flags['freshness-seconds']);
// The rate the producer reached: on a loaded machine it can fall short of --freshness-rate.
let freshProduced = 0;
{
  const producer = new EventProducer(services.kafka, topic, { batchSize: Math.max(1, Math.ceil(rate / 200)) });
  await producer.connect();
  const limiter = new RateLimiter(rate);
  const end = Date.now() + freshSeconds * 1000;
  let n = 0;
  for (const event of syntheticEvents({ ...options, seed: 2, events: Number.MAX_SAFE_INTEGER })) {
    if (Date.now() >= end) break;
    await limiter.take();
    const now = Date.now();
    const live = { ...event, event_id: `live-${run}-${n++}`, ts: now };
    await producer.send({ key: eventKey(live), value: JSON.stringify(live), timestamp: String(now) });
  }
  await producer.close();
  freshProduced = n;
  log(`produced ${n} live events at ${Math.round(n / freshSeconds)} events/s`);
  await new Promise((r) => setTimeout(r, 3000));
}
const freshLoad = loads.take();
loads.stop();
const stages = stageMeans();

await Promise.all(consumers.map(({ child }) => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); })));
// Every consumer's samples, merged: quantiles of quantiles would not be the run's.
const freshSamples = consumers.flatMap((c) => c.freshness ?? []).sort((a, b) => a - b);
const fresh = freshSamples.length > 0 ? { n: freshSamples.length, p50: quantile(freshSamples, 0.5), p99: quantile(freshSamples, 0.99), max: freshSamples.at(-1)! } : undefined;
const redisMemory = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
const stored = await countInteractions(db);
let profile: ReturnType<typeof summarizeProfile> | undefined;
if (flags['cpu-prof']) {
  // The main thread of the first consumer (--cpu-prof writes one file per thread; the main thread's comes first).
  const file = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).sort()[0];
  if (file) profile = summarizeProfile(path.join(profDir, file));
}

const result = {
  bench: 'ingest', events: produced, mean_event_bytes: Number((bytes / produced).toFixed(1)), partitions, consumers: consumerCount,
  dedupe_window: loadIngestSettings().dedupeWindow,
  drain_seconds: Number(drainSeconds.toFixed(1)), drained, replayed_by_consumer: Math.max(0, flushedMessages - drained), events_per_s: Math.round(drained / drainSeconds), steady_events_per_s: steady,
  cpu_seconds: cpu,
  cpu_us_per_event: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, Number(((v * 1e6) / Math.max(1, drained)).toFixed(1))])),
  load_average_drain: drainLoad.mean, load_average_freshness: freshLoad.mean, cores: (await import('node:os')).cpus().length,
  consumer_peak_rss_mb: Math.round(consumerPeakRss / 2 ** 20), redis_used_memory_mb: Math.round(redisMemory / 2 ** 20), services_rss_mb_after_drain: serviceRss,
  clickhouse_interactions_stored: stored, stage_mean_seconds: stages,
  freshness_rate: rate, freshness_rate_reached: Math.round(freshProduced / freshSeconds), freshness_ms: fresh ? { n: fresh.n, p50: fresh.p50, p99: fresh.p99, max: fresh.max } : undefined,
  profile,
};
console.log(JSON.stringify(result, null, 2));

if (!flags.keep) {
  await kadmin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => {});
  await kadmin.deleteGroups([groupId]).catch(() => {});
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${run}:*`, 'COUNT', 5000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  // Dropping millions of rows can outlast the client's request timeout on a loaded machine: say so, do not fail the run.
  await admin.command(`DROP DATABASE IF EXISTS ${sqlIdentifier(run)}`).catch((error: unknown) => log(`could not drop database ${run} (${String(error)}); drop it by hand`));
}
await kadmin.disconnect();
redis.disconnect();
await Promise.all([admin.close(), db.close()]);
const profileAreas = profile ? Object.fromEntries(Object.entries(profile.areas).filter(([, share]) => share >= 0.01)) : undefined;
console.log(JSON.stringify({ ...result, profile: undefined, consumer_profile_areas: profileAreas }));
