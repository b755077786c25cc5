// A/B replay throughput on the real ClickHouse, in-process.
//
//   npm run bench -- replay [--impressions 1000000] [--candidates 20] [--shown 10] [--bootstrap 200]
//                           [--users 20000] [--items 5000] [--hours 24] [--keep] [--no-progress]
//
// 1. trains two small DINs on the synthetic stream (other seeds) and publishes
//    them to a temporary registry with a training cut-off before the window;
// 2. writes a window of logged traffic into a private ClickHouse database with
//    the decision store's own row code: --impressions / --shown epsilon-greedy
//    decisions over --candidates candidates each (propensities from serving's
//    exploration), an outcome per shown item (impression events carrying the
//    request id, labelled clicks), the synthetic catalog and a day of earlier
//    clicks that fill users' histories;
// 3. runs runReplay (what `recsys replay worker` runs for a job) on it: read
//    (time inside ClickHouse queries), score (the rest of the streaming phase:
//    point-in-time state, feature encoding, two predict calls), estimate
//    (bootstrap estimators), write; impressions/s, candidate scores/s, peak RSS
//    and where the memory is when the scored window is held;
// 4. drops the database and the registry (unless --keep).
// Ends with one JSON line.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Presets, SingleBar } from 'cli-progress';
import { syntheticCatalog, syntheticEvents } from '../features/datasets/synthetic.js';
import { syntheticCtrSplits } from '../features/datasets/ctr-sources.js';
import type { Event } from '../features/events/event-schema.js';
import { createRng } from '../features/math/rng.js';
import { loadFeatureSpec } from '../features/spec/feature-spec.js';
import { loadServicesConfig } from '../infra/config.js';
import { createClickHouse } from '../infra/clickhouse/clickhouse-client.js';
import { migrate } from '../infra/clickhouse/migrate.js';
import { sqlIdentifier } from '../infra/clickhouse/escape.js';
import type { SqlClient } from '../infra/clickhouse/sql-client.js';
import { tf } from '../infra/tf.js';
import { createCtrModel } from '../models/create-model.js';
import { saveCtrModel } from '../models/ctr-artifact/model-artifact.js';
import { trainCtr } from '../models/train/train-ctr.js';
import type { DecisionRecord } from '../pipelines/decisions/decision-record.js';
import { addDecisionRows } from '../pipelines/decisions/decision-rows.js';
import { eventRow, pushRow, type TableRows } from '../pipelines/ingest/offline-rows.js';
import { runReplay, type ReplayProgress } from '../pipelines/replay/replay-run.js';
import { parseReplaySpec } from '../pipelines/replay/replay-spec.js';
import { explore } from '../serving/exploration.js';
import { LoadSampler } from './lib/harness.js';

const { values: flags } = parseArgs({
  options: {
    impressions: { type: 'string', default: '1000000' },
    candidates: { type: 'string', default: '20' },
    shown: { type: 'string', default: '10' },
    bootstrap: { type: 'string', default: '200' },
    users: { type: 'string', default: '20000' },
    items: { type: 'string', default: '5000' },
    hours: { type: 'string', default: '24' },
    epsilon: { type: 'string', default: '0.2' },
    'no-progress': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const S = {
  impressions: Number(flags.impressions), candidates: Number(flags.candidates), shown: Number(flags.shown),
  bootstrap: Number(flags.bootstrap), users: Number(flags.users), items: Number(flags.items), hours: Number(flags.hours), epsilon: Number(flags.epsilon),
};
if (!(S.shown >= 1 && S.candidates >= S.shown && S.impressions >= S.shown)) throw new Error(`need 1 ≤ --shown ≤ --candidates and --impressions ≥ --shown (got ${JSON.stringify(S)})`);
const DECISIONS = Math.ceil(S.impressions / S.shown);
const HOUR = 3_600_000;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = `bench_replay_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
const log = (msg: string) => console.error(`[bench replay] ${msg}`);
const progressBar = (format: string) =>
  flags['no-progress']
    ? undefined
    : new SingleBar({ format: `[bench replay] ${format}`, stream: process.stderr, etaBuffer: 30, noTTYOutput: true, notTTYSchedule: 15_000, fps: 2 }, Presets.shades_classic);
const mb = (bytes: number) => Math.round(bytes / 1048576);
const loads = new LoadSampler();
if (tf.getBackend() !== 'tensorflow') throw new Error(`the native TensorFlow backend is not loaded (${tf.getBackend()}); run npm run setup`);

// Time: the synthetic stream (training data) ends at trainedUntil; the window starts an hour later.
const TRAIN = { users: S.users, items: S.items, events: 60_000, seed: 7, startTs: Date.UTC(2025, 0, 1), durationMs: 7 * 24 * HOUR };
const trainedUntil = TRAIN.startTs + TRAIN.durationMs;
const from = trainedUntil + HOUR;
const to = from + S.hours * HOUR;

const base = loadServicesConfig();
const services = { ...base, clickhouse: { ...base.clickhouse, database: run } };
const admin = createClickHouse(services.clickhouse, { database: null });
const raw = createClickHouse(services.clickhouse);
const registry = mkdtempSync(path.join(tmpdir(), 'replay-bench-'));
const reportsDir = path.join(registry, 'reports');

/** Counts time spent inside ClickHouse calls (the read phase of the replay). */
class TimedSql implements SqlClient {
  queryMs = 0;
  queries = 0;
  constructor(private readonly inner: SqlClient) {}
  command(sql: string) { return this.inner.command(sql); }
  insert(...args: Parameters<SqlClient['insert']>) { return this.inner.insert(...args); }
  close() { return this.inner.close(); }
  async query<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    const t = performance.now();
    try {
      return await this.inner.query<T>(sql);
    } finally {
      this.queryMs += performance.now() - t;
      this.queries++;
    }
  }
}

async function trainModels(): Promise<void> {
  const spec = loadFeatureSpec(path.join(ROOT, 'configs/features/synthetic.json'));
  const splits = syntheticCtrSplits(spec, TRAIN);
  for (const seed of [1, 2]) {
    const model = createCtrModel(splits.encoder, { type: 'din', seed, mlpUnits: [32, 16], attentionUnits: [16], embedding: { kind: 'per-field', dim: 8 } });
    try {
      trainCtr(model, splits.encoder.encode(splits.train), splits.encoder.encode(splits.validation), { epochs: 1, batchSize: 512, seed });
      await saveCtrModel(model, { registry, name: 'bench-din', trainedUntil });
    } finally {
      model.dispose();
    }
  }
}

async function insertRows(rows: TableRows): Promise<void> {
  for (const [table, list] of rows) if (list.length > 0) await raw.insert(table, list, { columns: Object.keys(list[0]!) });
}

/** The catalog and the training stream (histories), then the window's decisions and outcomes, in chunks. */
async function writeTraffic(): Promise<{ clicks: number; seconds: number }> {
  const start = performance.now();
  let rows: TableRows = new Map();
  let pending = 0;
  const flush = async () => {
    await insertRows(rows);
    rows = new Map();
    pending = 0;
  };
  const pushEvent = (e: Event) => {
    const { table, row } = eventRow(e);
    pushRow(rows, table, row as unknown as Record<string, unknown>);
    pending++;
  };
  for (const e of syntheticCatalog(TRAIN)) pushEvent(e);
  for (const e of syntheticEvents({ ...TRAIN, events: TRAIN.events })) if (e.type !== 'item_update' && e.type !== 'user_update') pushEvent(e);
  await flush();

  const rng = createRng(99);
  const exploration = { scheme: 'epsilon-greedy', epsilon: S.epsilon } as const;
  const itemAffinity = Float64Array.from({ length: S.items }, () => rng.normal());
  let clicks = 0;
  const bar = progressBar('insert [{bar}] {percentage}% | {value}/{total} decisions | ETA {eta_formatted}');
  bar?.start(DECISIONS, 0);
  for (let n = 0; n < DECISIONS; n++) {
    const ts = from + Math.floor((n * (to - from)) / DECISIONS);
    const userId = `u${rng.int(S.users)}`;
    const ids = new Set<number>();
    while (ids.size < S.candidates) ids.add(rng.int(S.items));
    const items = [...ids];
    // The logging model's scores: item affinity plus noise, sorted best first.
    const scored = items.map((i) => ({ i, score: 1 / (1 + Math.exp(-(-2 + 0.8 * itemAffinity[i]! + 0.5 * rng.normal()))) })).sort((a, b) => b.score - a.score);
    const placements = explore(scored.map((s) => s.score), S.shown, exploration, () => rng.next());
    const requestId = `b${n}`;
    const record: DecisionRecord = {
      schema_version: 1, request_id: requestId, user_id: userId, ts,
      models: { ranker: { name: 'bench-logging', version: 1 }, retrieval: null }, exploration, k: S.shown,
      candidates: scored.map((s) => ({ item_id: `i${s.i}`, score: s.score, retrieval_score: null })),
      shown: placements.map((p, position) => ({ item_id: `i${scored[p.index]!.i}`, position, score: scored[p.index]!.score, propensity: p.propensity })),
    };
    addDecisionRows(rows, record, { partition: -1, offset: -1 });
    for (const s of record.shown) {
      const item = Number(s.item_id.slice(1));
      const p = 1 / (1 + Math.exp(-(-2.2 + itemAffinity[item]! - 0.15 * s.position)));
      const label = rng.next() < p ? 1 : 0;
      clicks += label;
      pushEvent({ schema_version: 1, type: 'impression', event_id: `${requestId}:${s.position}`, ts: ts + 500, user_id: userId, item_id: s.item_id, label, request_id: requestId });
    }
    if (pending >= 20_000) {
      await flush();
      bar?.update(n + 1);
    }
  }
  await flush();
  bar?.update(DECISIONS);
  bar?.stop();
  return { clicks, seconds: (performance.now() - start) / 1000 };
}

/** Memory at phase ends; peakRss is the process's high-water mark so far (resourceUsage().maxRSS). */
const memory: { phase: string; rss: number; peakRss: number; heapUsed: number; external: number; arrayBuffers: number }[] = [];
const sampleMemory = (phase: string) => {
  const m = process.memoryUsage();
  memory.push({ phase, rss: mb(m.rss), peakRss: mb(process.resourceUsage().maxRSS * 1024), heapUsed: mb(m.heapUsed), external: mb(m.external), arrayBuffers: mb(m.arrayBuffers) });
};

let exitCode = 0;
try {
  await migrate({ admin, db: raw }, run);
  log(`database ${run}; training two DINs (synthetic, ${TRAIN.events} impressions, ${S.users} users × ${S.items} items)…`);
  let t = performance.now();
  await trainModels();
  const trainSeconds = (performance.now() - t) / 1000;
  log(`trained in ${trainSeconds.toFixed(1)} s; writing ${DECISIONS} decisions × ${S.candidates} candidates, ${DECISIONS * S.shown} shown impressions…`);
  const written = await writeTraffic();
  const [counts] = await raw.query<{ d: number; i: number; o: number }>(
    `SELECT (SELECT count() FROM decisions) AS d, (SELECT count() FROM decision_items) AS i, (SELECT count() FROM outcomes) AS o`,
  );
  log(`inserted in ${written.seconds.toFixed(1)} s: ${counts!.d} decisions, ${counts!.i} candidate rows, ${counts!.o} outcomes (${written.clicks} clicks)`);
  sampleMemory('before replay');

  const spec = parseReplaySpec({ a: { model: 'bench-din', version: 1 }, b: { model: 'bench-din', version: 2 }, from, to, bootstrapSamples: S.bootstrap, historyMs: 8 * 24 * HOUR });
  const db = new TimedSql(raw);
  const phaseAt: Partial<Record<ReplayProgress['phase'], number>> = {};
  const bar = progressBar('replay {phase} [{bar}] {percentage}% | {value}/{total} decisions | RSS {rss} MB | ETA {eta_formatted}');
  bar?.start(DECISIONS, 0, { phase: 'loading', rss: 0 });
  let readAtScoringEnd = 0;
  let peakHeap = 0;
  t = performance.now();
  const result = await runReplay(spec, {
    db, registry, reportsDir,
    onProgress: (p) => {
      const now = performance.now();
      phaseAt[p.phase] ??= now;
      const m = process.memoryUsage();
      peakHeap = Math.max(peakHeap, m.heapUsed);
      if (p.phase === 'estimating' && readAtScoringEnd === 0) {
        readAtScoringEnd = db.queryMs;
        sampleMemory('all decisions scored');
      }
      if (p.phase === 'writing' && !memory.some((m) => m.phase === 'estimated')) sampleMemory('estimated');
      if (p.phase === 'done') sampleMemory('done');
      bar?.update(p.decisions, { phase: p.phase, rss: mb(m.rss) });
    },
  });
  const total = (performance.now() - t) / 1000;
  bar?.stop();
  const seconds = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? (b - a) / 1000 : NaN);
  const streaming = seconds(phaseAt.loading, phaseAt.estimating);
  const read = readAtScoringEnd / 1000;
  const phases = {
    setup: seconds(t, phaseAt.loading),
    read,
    score: streaming - read,
    estimate: seconds(phaseAt.estimating, phaseAt.writing),
    write: seconds(phaseAt.writing, phaseAt.done),
    total,
  };
  const impressions = result.evaluation.impressions;
  const scores = 2 * result.evaluation.decisions * S.candidates;
  const peakRss = process.resourceUsage().maxRSS * 1024;
  const summary = {
    bench: 'replay', database: run,
    decisions: result.evaluation.decisions, impressions, candidates: S.candidates, shown: S.shown, users: result.evaluation.users, clicks: result.evaluation.clicks,
    bootstrap: S.bootstrap, rows: result.rows.length,
    seconds: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Math.round(v * 100) / 100])),
    impressionsPerSecond: Math.round(impressions / streaming),
    impressionsPerSecondScoringOnly: Math.round(impressions / phases.score),
    candidateScoresPerSecond: Math.round(scores / streaming),
    impressionsPerSecondEndToEnd: Math.round(impressions / total),
    readQueries: db.queries,
    peakRssMb: mb(peakRss), peakHeapMb: mb(peakHeap), memory,
    insertSeconds: Math.round(written.seconds * 10) / 10, trainSeconds: Math.round(trainSeconds * 10) / 10,
    loadAverage: (({ mean, max }) => ({ mean, max }))(loads.take()),
    metrics: Object.fromEntries(result.rows.filter((r) => ['a', 'b', 'b-a'].includes(r.arm) && ['auc', 'ips', 'snips', 'dr', 'replay'].includes(r.metric)).map((r) => [`${r.arm}.${r.metric}`, r.value])),
  };
  log(`read ${phases.read.toFixed(1)} s, score ${phases.score.toFixed(1)} s, estimate ${phases.estimate.toFixed(1)} s, write ${phases.write.toFixed(1)} s; `
    + `${summary.impressionsPerSecond} impressions/s (${summary.candidateScoresPerSecond} candidate scores/s over both models); peak RSS ${summary.peakRssMb} MB`);
  for (const m of memory) log(`memory ${m.phase}: rss ${m.rss} MB (peak so far ${m.peakRss} MB), heap ${m.heapUsed} MB, external ${m.external} MB (array buffers ${m.arrayBuffers} MB)`);
  console.log(JSON.stringify(summary));
} catch (error) {
  exitCode = 1;
  log(`failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
} finally {
  loads.stop();
  if (!flags.keep) {
    await admin.command(`DROP DATABASE IF EXISTS ${sqlIdentifier(run)}`).catch((error: unknown) => log(`could not drop database ${run} (${String(error)}); drop it by hand`));
    rmSync(registry, { recursive: true, force: true });
  } else log(`kept database ${run} and registry ${registry}`);
  await Promise.all([admin.close(), raw.close()]);
  process.exitCode = exitCode;
}
