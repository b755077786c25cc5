// The ingesting consumer's own CPU per event, without the services: the
// `recsys ingest` path from a fetched Kafka message to what it sends the
// stores, in this process (its thread and V8's GC helpers).
//
//   npm run bench -- ingest-path [--events 1000000] [--rounds 3] [--partitions 4] [--fetch 5000]
//                                [--users 100000] [--items 50000] [--chunk-size 1000] [--dedupe-window 20000]
//
// Each round feeds the same pre-built messages (the synthetic impressions and
// catalog updates `npm run bench -- ingest` produces, as kafkajs hands them
// over: key, value, offset and timestamp) through validation (validateBatch)
// and IngestPipeline (flushes, chunks per partition with the dedupe window,
// the online store's ops and its script's arguments, the ClickHouse
// TabSeparated body, metrics) into stand-in stores that take everything at
// once: a ClickHouse client whose insert builds the body and drops it, a
// Redis whose script call answers "applied". Not in it: kafkajs's decoding of
// fetch responses, the Redis and ClickHouse clients' encoding and sockets,
// and the services' own CPU (all in `npm run bench -- ingest`). Messages go
// to partitions by a string hash of their key (one key stays on one
// partition, as with Kafka's murmur2, but keys spread differently) and are
// handed over one partition's fetch at a time. Prints µs of
// CPU per event (user + system of this process, GC included) for each round
// (each from a collected heap), their median and best, and ends with one JSON line.
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { KafkaMessage } from 'kafkajs';
import type { Redis } from 'ioredis';
import { syntheticCatalog, syntheticImpressions } from '../features/datasets/synthetic.js';
import type { Event } from '../features/events/event-schema.js';
import { loadFeatureSpec } from '../features/spec/feature-spec.js';
import type { SqlClient } from '../infra/clickhouse/sql-client.js';
import { tabSeparated } from '../infra/clickhouse/tab-separated.js';
import { eventKey, eventsKind } from '../pipelines/ingest/events-kind.js';
import { IngestMetrics } from '../pipelines/ingest/ingest-metrics.js';
import { IngestPipeline } from '../pipelines/ingest/ingest-pipeline.js';
import { validateBatch } from '../pipelines/ingest/validate-batch.js';
import { onlineSpecFrom } from '../pipelines/online-store/online-ops.js';
import { RedisOnlineWriter } from '../pipelines/online-store/redis-online-store.js';
import { loadIngestSettings } from '../pipelines/ingest/ingest-config.js';

const { values: flags } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    rounds: { type: 'string', default: '3' },
    partitions: { type: 'string', default: '4' },
    fetch: { type: 'string', default: '5000' },
    users: { type: 'string', default: '100000' },
    items: { type: 'string', default: '50000' },
    'chunk-size': { type: 'string', default: '1000' },
    'dedupe-window': { type: 'string', default: '20000' },
  },
});
const N = Number(flags.events);
const rounds = Number(flags.rounds);
const partitions = Number(flags.partitions);
const fetchSize = Number(flags.fetch);
const log = (msg: string) => console.error(`[bench ingest-path] ${msg}`);

const spec = onlineSpecFrom(loadFeatureSpec(loadIngestSettings().featuresFile));
const kind = eventsKind(spec);

// The messages as kafkajs hands them over, spread over partitions by key as Kafka's default partitioner would keep a key on one.
const byPartition: KafkaMessage[][] = Array.from({ length: partitions }, () => []);
const options = { events: N, users: Number(flags.users), items: Number(flags.items), seed: 1 };
const t0 = Date.now();
let bytes = 0;
const add = (event: Event) => {
  const key = eventKey(event);
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) | 0;
  const list = byPartition[(h >>> 0) % partitions]!;
  const value = Buffer.from(JSON.stringify(event));
  bytes += value.byteLength;
  list.push({ key: Buffer.from(key), value, timestamp: String(event.ts), attributes: 0, offset: String(list.length), headers: {} });
};
for (const event of syntheticCatalog(options)) add(event);
for (const { event } of syntheticImpressions(options)) add(event);
const total = byPartition.reduce((n, m) => n + m.length, 0);
log(`${total} messages (mean ${(bytes / total).toFixed(1)} bytes) in ${partitions} partitions built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

/** A Redis that applies every chunk: the writer's script call is answered at once. */
function standInRedis(): Redis {
  const watermarks = new Map<string, Map<string, string>>();
  return {
    recsysApplyOps: async (watermarkKey: string, _seenKey: string, partition: string | number, _expected: number, last: number) => {
      let hash = watermarks.get(watermarkKey);
      if (!hash) watermarks.set(watermarkKey, (hash = new Map()));
      hash.set(String(partition), String(last));
      return 1;
    },
    hmget: async (key: string, ...fields: string[]) => fields.map((f) => watermarks.get(key)?.get(f) ?? null),
    hgetall: async () => ({}),
  } as unknown as Redis;
}

/** A ClickHouse client whose insert builds the TabSeparated body (as the real one does) and drops it. */
function standInClickHouse(): SqlClient {
  return {
    insert: async (_table: string, rows: readonly Record<string, unknown>[], insertOptions: { columns: readonly string[] }) => {
      Buffer.from(tabSeparated(rows, insertOptions.columns));
    },
  } as unknown as SqlClient;
}

async function round(): Promise<{ cpuUs: number; wallMs: number; flushed: number }> {
  const online = new RedisOnlineWriter(standInRedis(), 'bench:', spec.behaviour.maxLength, Number(flags['dedupe-window']));
  const metrics = new IngestMetrics();
  let flushed = 0;
  let done!: (error?: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => { done = (error) => (error === undefined ? resolve() : reject(error)); });
  const pipeline = new IngestPipeline(
    { clickhouse: standInClickHouse(), online, sendDeadLetters: async () => {}, commit: async () => {} },
    {
      chunkSize: Number(flags['chunk-size']), metrics,
      onFlushed: (f) => { flushed += f.messages; if (flushed >= total) done(); },
      onFatal: (error) => done(error ?? new Error('ingestion failed')),
    },
  );
  const heartbeat = async () => {};
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  // Fetches taken in turn from each partition, as a consumer's fetch sessions hand them over.
  for (let start = 0; ; start += fetchSize) {
    let any = false;
    for (let p = 0; p < partitions; p++) {
      const messages = byPartition[p]!.slice(start, start + fetchSize);
      if (messages.length === 0) continue;
      any = true;
      metrics.eventsIn.inc({ topic: 'bench' }, messages.length);
      const batch = validateBatch(kind, 'bench', p, messages, Number(messages[messages.length - 1]!.offset));
      metrics.eventsValid.inc({ kind: kind.name }, batch.valid.length);
      await pipeline.submit(batch, heartbeat);
    }
    if (!any) break;
  }
  await finished;
  const wallMs = performance.now() - wall0;
  const cpu = process.cpuUsage(cpu0);
  await pipeline.stop();
  return { cpuUs: cpu.user + cpu.system, wallMs, flushed };
}

// Each round starts from a collected heap, so a full GC left over from the last one does not land in it.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;
const results: { us_per_event: number; events_per_s_wall: number }[] = [];
for (let r = 1; r <= rounds; r++) {
  collect();
  const { cpuUs, wallMs, flushed } = await round();
  const usPerEvent = cpuUs / flushed;
  results.push({ us_per_event: Number(usPerEvent.toFixed(3)), events_per_s_wall: Math.round(flushed / (wallMs / 1000)) });
  log(`round ${r}: ${flushed} events, ${usPerEvent.toFixed(2)} µs of CPU per event, ${Math.round(flushed / (wallMs / 1000))} events/s (wall)`);
}
const sorted = results.map((r) => r.us_per_event).sort((a, b) => a - b);
const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
console.log(JSON.stringify({
  bench: 'ingest-path', events: total, mean_event_bytes: Number((bytes / total).toFixed(1)), partitions, fetch: fetchSize,
  chunk_size: Number(flags['chunk-size']), dedupe_window: Number(flags['dedupe-window']), rounds: results,
  median_us_per_event: median, best_us_per_event: sorted[0], load_average: loadavg()[0], node: process.version,
}));
