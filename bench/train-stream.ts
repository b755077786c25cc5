// Online training from Kafka, on this machine.
//
//   npm run bench -- train-stream [--events 200000] [--users 50000] [--items 50000] [--rows 65536]
//                                 [--expire-after 2000] [--publish-seconds 10] [--rate 1000] [--live-seconds 60] [--keep]
//
// 1. throughput and memory: pre-fills a fresh topic (one partition) with the
//    synthetic stream and trains through it from scratch (DIN on a dynamic
//    Unified Embedding table of --rows rows, rows unseen for --expire-after
//    lookups expire): examples/s from the first to the last training step,
//    RSS and live table rows sampled every 2 s;
// 2. event → published-version latency: the trainer resumes from its
//    checkpoint with a version every --publish-seconds while live events
//    arrive at --rate for --live-seconds: for each version, the age of the
//    oldest and newest event it added (Kafka timestamp → version visible).
// Prints figures and one JSON line at the end. The topic and folders are removed unless --keep.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { syntheticEvents } from '../features/datasets/synthetic.js';
import { loadServicesConfig } from '../infra/config.js';
import { createKafka, ensureTopics } from '../infra/kafka/kafka-client.js';
import { EventProducer, RateLimiter } from '../pipelines/ingest/event-producer.js';
import { eventKey } from '../pipelines/ingest/events-kind.js';
import { runTrainStream } from '../pipelines/streaming/run-train-stream.js';
import { loadStreamConfig, type StreamConfig } from '../pipelines/streaming/stream-config.js';
import type { StreamTrainer } from '../pipelines/streaming/stream-trainer.js';
import type { PublishedVersion } from '../pipelines/streaming/version-publisher.js';
import { LoadSampler } from './lib/harness.js';

const { values: flags } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    users: { type: 'string', default: '50000' },
    items: { type: 'string', default: '50000' },
    rows: { type: 'string', default: '65536' },
    'expire-after': { type: 'string', default: '2000' },
    'publish-seconds': { type: 'string', default: '10' },
    rate: { type: 'string', default: '1000' },
    'live-seconds': { type: 'string', default: '60' },
    keep: { type: 'boolean', default: false },
  },
});
const log = (msg: string) => console.error(`[bench train-stream] ${msg}`);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = `bench_train_stream_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(path.join(tmpdir(), `${run}-`));
const kafka = createKafka(loadServicesConfig().kafka);
const admin = kafka.admin();
await admin.connect();
await ensureTopics(admin, [{ topic: run, numPartitions: 1 }]);

const base = loadStreamConfig(path.join(ROOT, 'configs/models/synthetic-din-stream.json'));
const config: StreamConfig = {
  ...base,
  name: 'bench-stream',
  initFrom: 'scratch',
  model: { ...base.model, embedding: { kind: 'unified', rows: Number(flags.rows), chunkDim: 8, defaultChunks: 2, chunks: {}, dynamic: { admitAfter: 1, expireAfter: Number(flags['expire-after']) } } },
  stream: { ...base.stream, groupId: `${run}_group` },
  publish: { ...base.publish, everyExamples: 1e9, everySeconds: 3600, fullEvery: 10 },
  checkpoint: { ...base.checkpoint, dir: path.join(dir, 'checkpoints'), everySeconds: 3600 },
  progressive: { ...base.progressive, logEverySeconds: 30 },
};
const registry = path.join(dir, 'registry');
const synthetic = { events: Number(flags.events), users: Number(flags.users), items: Number(flags.items), seed: 7 };
const loads = new LoadSampler();

// 1. Pre-fill, then train through it with expiry on.
let produced = 0;
{
  const producer = new EventProducer(loadServicesConfig().kafka, run, { idempotent: false, batchSize: 2000, concurrency: 4 });
  await producer.connect();
  for (const e of syntheticEvents(synthetic)) {
    await producer.send({ key: eventKey(e), value: JSON.stringify(e) });
    produced++;
  }
  await producer.close();
  log(`pre-filled ${produced} messages`);
}
let first = 0, last = 0;
const memory: { s: number; rssMb: number; heapMb: number; liveRows: number | null; expired: number | null; trained: number }[] = [];
let trainer: StreamTrainer | undefined;
const t0 = performance.now();
const sampler = setInterval(() => {
  if (!trainer) return;
  const table = trainer.model.layout.tables[0]!;
  const m = process.memoryUsage();
  memory.push({ s: Math.round((performance.now() - t0) / 1000), rssMb: Math.round(m.rss / 2 ** 20), heapMb: Math.round(m.heapUsed / 2 ** 20), liveRows: table.stats()?.liveRows ?? null, expired: table.stats()?.expired ?? null, trained: trainer.counters.trained });
}, 2000);
const throughputRun = await runTrainStream(config, {
  kafka, registry, topic: run, idleExitMs: 6000,
  onStarted: (r) => { trainer = r.trainer; },
  onScored: () => { const now = performance.now(); if (!first) first = now; last = now; },
});
clearInterval(sampler);
const trained = throughputRun.status.counters.trained;
const examplesPerS = trained / ((last - first) / 1000);
const table = throughputRun.status.tables[0]!;
log(`trained ${trained} examples at ${Math.round(examplesPerS)} examples/s; table ${table.liveRows}/${table.rows} live rows`);

// 2. Live events, a version every --publish-seconds.
const publishSeconds = Number(flags['publish-seconds']);
const versions: PublishedVersion[] = [];
const liveRun = runTrainStream({ ...config, publish: { ...config.publish, everySeconds: publishSeconds } }, { kafka, registry, topic: run, idleExitMs: 8000, onPublished: (v) => versions.push(v) });
{
  const rate = Number(flags.rate);
  const producer = new EventProducer(loadServicesConfig().kafka, run, { batchSize: Math.max(1, Math.ceil(rate / 100)) });
  await producer.connect();
  const limiter = new RateLimiter(rate);
  const end = Date.now() + Number(flags['live-seconds']) * 1000;
  let n = 0;
  for (const e of syntheticEvents({ ...synthetic, seed: 8, events: Number.MAX_SAFE_INTEGER })) {
    if (e.type !== 'impression') continue;
    if (Date.now() >= end) break;
    await limiter.take();
    const now = Date.now();
    const live = { ...e, event_id: `live-${run}-${n++}`, ts: now };
    await producer.send({ key: eventKey(live), value: JSON.stringify(live), timestamp: String(now) });
  }
  await producer.close();
  log(`produced ${n} live events at ${rate}/s`);
}
await liveRun;
const load = loads.take();
loads.stop();
const timed = versions.filter((v) => v.freshness);
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const pct = (xs: number[], p: number) => (xs.length ? sorted(xs)[Math.min(xs.length - 1, Math.floor(p * xs.length))]! : null);
const oldest = timed.map((v) => v.freshness!.oldestEventAgeMs);
const newest = timed.map((v) => v.freshness!.newestEventAgeMs);
const mean = (xs: number[]) => (xs.length ? Math.round(xs.reduce((a, b) => a + b, 0) / xs.length) : null);

const result = {
  bench: 'train-stream', cores: (await import('node:os')).cpus().length, load_average: load.mean,
  messages: produced, trained, examples_per_s: Math.round(examplesPerS), batch_size: config.stream.batchSize,
  table: { rows: table.rows, live_rows_end: table.liveRows, expire_after_lookups: Number(flags['expire-after']), bytes: table.bytes },
  memory: {
    rss_mb_max: Math.max(...memory.map((m) => m.rssMb)), rss_mb_first: memory[0]?.rssMb, rss_mb_last: memory.at(-1)?.rssMb,
    samples: memory.filter((_, i) => i % Math.max(1, Math.floor(memory.length / 12)) === 0),
  },
  latency: {
    publish_seconds: publishSeconds, rate: Number(flags.rate), versions: versions.length, kinds: versions.map((v) => v.kind).join(''),
    delta_rows_mean: mean(versions.filter((v) => v.kind === 'delta').map((v) => v.rows)),
    oldest_event_to_version_ms: { p50: pct(oldest, 0.5), max: pct(oldest, 1) },
    newest_event_to_version_ms: { p50: pct(newest, 0.5), max: pct(newest, 1) },
    mean_event_to_version_ms: mean(timed.map((v) => (v.freshness!.oldestEventAgeMs + v.freshness!.newestEventAgeMs) / 2)),
  },
};
console.log(JSON.stringify(result));
if (!flags.keep) {
  await admin.deleteTopics({ topics: [run] }).catch(() => {});
  await admin.deleteGroups([config.stream.groupId]).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
await admin.disconnect();
