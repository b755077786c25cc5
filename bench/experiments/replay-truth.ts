// The A/B replay against the exact truth (issue 19 §3), in process: a
// synthetic world, four CTR models trained on its stream (good: all of it;
// early: its first 15%; good-copy: the good one published again; worse:
// untrained), and for each scenario (a pair A → B, an exploration scheme and
// rate, a slate size) --requests requests served by A through the real
// serving code path (startServer: HTTP app, online store, batcher, explorer,
// decision builder; memory online store and decision sink), clicks drawn with
// the world's true probabilities, then the replay's scoring and estimators on
// the logged decisions. The truth of a greedy policy on the same requests is
// exact: the sum of the world's click probabilities of its top k (the world
// has no position effect), averaged over requests; no sampling noise.
// Per estimator over the scenarios: how often it called itself reliable, the
// coverage of the true B − A by its 95% interval, sign agreement, intervals
// that exclude zero on the wrong side, and the mean interval width.
//
//   npm run experiment -- replay-truth [--requests 1000] [--seed 42] [--bootstrap 200] [--only N]
//
// Progress on stderr; the table, then one JSON line on stdout.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import request from 'supertest';
import { examplesFromEvents, splitByTime } from '../../features/datasets/ctr-sources.js';
import { buildSyntheticWorld, clickProbability, sampleItems } from '../../features/datasets/synthetic-world.js';
import { syntheticEvents } from '../../features/datasets/synthetic.js';
import type { Event } from '../../features/events/event-schema.js';
import { createRng } from '../../features/math/rng.js';
import { loadFeatureSpec } from '../../features/spec/feature-spec.js';
import { FeatureEncoder } from '../../features/spec/feature-encoder.js';
import { loadServicesConfig } from '../../infra/config.js';
import { createCtrModel } from '../../models/create-model.js';
import { loadCtrModel, saveCtrModel } from '../../models/ctr-artifact/model-artifact.js';
import { trainCtr } from '../../models/train/train-ctr.js';
import type { DecisionRecord, Exploration } from '../../pipelines/decisions/decision-record.js';
import { MemoryDecisionSink } from '../../pipelines/decisions/decision-sink.js';
import { decisionItemRows, decisionRow } from '../../pipelines/decisions/decision-rows.js';
import type { StoredDecision } from '../../pipelines/decisions/decision-store.js';
import { MemoryOnlineStore } from '../../pipelines/online-store/memory-online-store.js';
import { onlineSpecFrom } from '../../pipelines/online-store/online-ops.js';
import { ModelRegistry } from '../../pipelines/registry/model-registry.js';
import { toLoggedDecision } from '../../pipelines/replay/decision-window.js';
import { ESTIMATORS, type Estimator } from '../../pipelines/replay/estimators/policy-stats.js';
import { evaluateDecisions, type ScoredDecision } from '../../pipelines/replay/replay-evaluation.js';
import { ReplayScorer } from '../../pipelines/replay/replay-scorer.js';
import { drawClicks } from '../../pipelines/simulation/outcome-events.js';
import { loadServeSettings } from '../../serving/serve-config.js';
import { startServer } from '../../serving/server.js';

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '42' },
    bootstrap: { type: 'string', default: '200' },
    only: { type: 'string' },
  },
});
const REQUESTS = Number(args.requests);
const SEED = Number(args.seed);
const BOOTSTRAP = Number(args.bootstrap);
const CANDIDATES = 50;
const WORLD = { seed: SEED, users: 100, items: 300, events: 12_000 };
const log = (message: string) => process.stderr.write(`${message}\n`);

// The world, its stream, and the models.
const spec = loadFeatureSpec(path.resolve('configs/features/synthetic.json'));
const events: Event[] = [...syntheticEvents(WORLD)];
const splits = splitByTime(spec, examplesFromEvents(spec, events));
const encoder = FeatureEncoder.fit(spec, splits.train);
const world = buildSyntheticWorld({ seed: SEED, users: WORLD.users, items: WORLD.items });
const registry = mkdtempSync(path.join(tmpdir(), 'replay-truth-'));
const MODEL: Parameters<typeof createCtrModel>[1] = { type: 'din', seed: 1, mlpUnits: [16, 8], attentionUnits: [8], embedding: { kind: 'per-field', dim: 8 } };
async function publish(name: string, trainShare: number | null): Promise<void> {
  const model = createCtrModel(encoder, MODEL);
  try {
    if (trainShare !== null) {
      const train = splits.train.slice(0, Math.max(1, Math.floor(trainShare * splits.train.length)));
      trainCtr(model, encoder.encode(train), encoder.encode(splits.validation), { epochs: 2, batchSize: 256, seed: 1 });
    }
    await saveCtrModel(model, { registry, name, trainedUntil: 1 });
    if (name === 'good') await saveCtrModel(model, { registry, name: 'good-copy', trainedUntil: 1 });
  } finally {
    model.dispose();
  }
}
log('training the models…');
await publish('good', 1);
await publish('early', 0.15);
await publish('worse', null);

interface Scenario { a: string; b: string; exploration: Exploration; k: number }
const pairs: [string, string][] = [['early', 'good'], ['good', 'worse'], ['good', 'good-copy'], ['worse', 'good']];
const scenarios: Scenario[] = [];
for (const [a, b] of pairs) {
  for (const k of [1, 3, 10]) scenarios.push({ a, b, exploration: { scheme: 'epsilon-greedy', epsilon: 0.2 }, k });
  scenarios.push({ a, b, exploration: { scheme: 'epsilon-greedy', epsilon: 1 }, k: 3 });
  scenarios.push({ a, b, exploration: { scheme: 'softmax', temperature: 0.05 }, k: 3 });
}

function stored(record: DecisionRecord): StoredDecision {
  const { kafka_partition: _p, kafka_offset: _o, ...row } = decisionRow(record);
  return { ...row, items: decisionItemRows(record).map(({ request_id: _r, ts: _t, user_id: _u, ...item }) => item) };
}

const attributeEvents = events.filter((e) => e.type === 'item_update' || e.type === 'user_update');
const interactionEvents = events.filter((e) => e.type !== 'item_update' && e.type !== 'user_update');

interface Outcome { scenario: string; truth: { a: number; b: number; diff: number }; estimates: Partial<Record<Estimator, { value: number; lo: number; hi: number; verdict: string }>>; lead: string }

async function runScenario(s: Scenario, index: number): Promise<Outcome> {
  const online = new MemoryOnlineStore(onlineSpecFrom(spec));
  online.applyEvents(attributeEvents);
  online.applyEvents(interactionEvents);
  const decisions = new MemoryDecisionSink({ maxRecords: REQUESTS + 1 });
  const draw = createRng(SEED * 1000 + index);
  const server = await startServer({
    settings: loadServeSettings({}, {
      registry, ranker: s.a, retrieval: '', itemIdPrefix: 'i', userIdPrefix: 'u', adminToken: randomBytes(32).toString('hex'), allowLatest: true,
      modelsChannel: '', pollSeconds: 0, onlineStore: 'memory', decisions: 'memory', maxBodyBytes: 256 * 1024,
    }),
    services: loadServicesConfig({}), registry: new ModelRegistry(registry), online, decisions, listen: false,
    random: () => draw.next(),
  });
  const recent = Array.from({ length: WORLD.users }, (): number[] => []);
  const clicked = new Map<string, Set<string>>();
  const probabilities = new Map<string, Map<string, number>>();
  try {
    for (let n = 0; n < REQUESTS; n++) {
      const u = draw.int(WORLD.users);
      const candidates = sampleItems(world, CANDIDATES, draw).map((i) => `i${i}`);
      const res = await request(server.app).post('/v1/recommend').send({ user_id: `u${u}`, k: s.k, candidates, exploration: s.exploration });
      if (res.status !== 200) throw new Error(`serving answered ${res.status}: ${JSON.stringify(res.body)}`);
      const requestId = res.body.request_id as string;
      const snapshot = [...recent[u]!];
      probabilities.set(requestId, new Map(candidates.map((id) => [id, clickProbability(world, u, Number(id.slice(1)), snapshot)])));
      const ts = Date.now();
      const clicks: Event[] = [];
      for (const d of drawClicks(world, u, recent[u]!, res.body.items, 'i', draw)) {
        if (!d.clicked) continue;
        let set = clicked.get(requestId);
        if (!set) clicked.set(requestId, (set = new Set()));
        set.add(d.item_id);
        clicks.push({ schema_version: 1, type: 'click', event_id: `${requestId}:${d.position}`, ts, user_id: `u${u}`, item_id: d.item_id, label: 1, request_id: requestId });
      }
      online.applyEvents(clicks);
    }
  } finally {
    await server.close();
  }
  const served = await new ModelRegistry(registry).resolve(s.a);
  const other = await new ModelRegistry(registry).resolve(s.b);
  const [modelA, modelB] = [(await loadCtrModel(served.dir)).model, (await loadCtrModel(other.dir)).model];
  try {
    const scorers = [new ReplayScorer(modelA, { model: served.model, version: served.version }), new ReplayScorer(modelB, { model: other.model, version: other.version })];
    for (const scorer of scorers) for (const e of attributeEvents) scorer.state.push(e);
    const logged = decisions.records.map((r) => toLoggedDecision(stored(r), clicked.get(r.request_id)));
    const [sa, sb] = scorers.map((sc) => sc.predict(logged.map((d) => sc.examples(d)), logged));
    const scored: ScoredDecision[] = logged.map((d, i) => ({ ...d, scoresA: sa![i]!, scoresB: sb![i]! }));
    // The truth: each greedy policy's top k on the same requests, valued with the world's probabilities.
    const value = (scores: ArrayLike<number>, d: ScoredDecision) => {
      const order = Array.from(scores, (_, i) => i).sort((x, y) => scores[y]! - scores[x]! || x - y).slice(0, s.k);
      const p = probabilities.get(d.requestId)!;
      return order.reduce((sum, i) => sum + p.get(d.candidates[i]!)!, 0);
    };
    const truthA = scored.reduce((sum, d) => sum + value(d.scoresA, d), 0) / scored.length;
    const truthB = scored.reduce((sum, d) => sum + value(d.scoresB, d), 0) / scored.length;
    const e = evaluateDecisions(scored, { estimators: ESTIMATORS, policy: { kind: 'greedy' }, positions: s.k, maxWeight: 1000, bootstrapSamples: BOOTSTRAP, seed: SEED });
    const estimates = Object.fromEntries(ESTIMATORS.map((est) => {
      const d = e.policy.diff[est]!;
      return [est, { value: d.value, lo: d.lo, hi: d.hi, verdict: d.verdict }];
    }));
    const name = `${s.a}→${s.b} ${s.exploration.scheme === 'epsilon-greedy' ? `ε=${s.exploration.epsilon}` : s.exploration.scheme === 'softmax' ? `τ=${s.exploration.temperature}` : 'none'} k=${s.k}`;
    return { scenario: name, truth: { a: truthA, b: truthB, diff: truthB - truthA }, estimates, lead: e.policy.lead };
  } finally {
    modelA.dispose();
    modelB.dispose();
  }
}

const outcomes: Outcome[] = [];
const chosen = args.only === undefined ? scenarios : scenarios.slice(0, Number(args.only));
for (const [i, s] of chosen.entries()) {
  const started = performance.now();
  const o = await runScenario(s, i);
  outcomes.push(o);
  log(`${String(i + 1).padStart(2)}/${chosen.length} ${o.scenario.padEnd(34)} true B−A ${o.truth.diff.toFixed(3).padStart(7)}  ${o.lead}  (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}
rmSync(registry, { recursive: true, force: true });

interface Row { estimator: Estimator; reliable: number; coverageReliable: number | null; coverageAll: number; signAgreement: number; confidentlyWrongReliable: number; confidentlyWrongAll: number; meanWidth: number | null; unreliableRate: number }
const round = (x: number | null, d = 3) => (x === null || !Number.isFinite(x) ? null : Number(x.toFixed(d)));
const rows: Row[] = ESTIMATORS.map((estimator) => {
  const all = outcomes.map((o) => ({ t: o.truth.diff, e: o.estimates[estimator]! })).filter((x) => Number.isFinite(x.e.value));
  const reliable = all.filter((x) => x.e.verdict === 'reliable');
  const covers = (x: (typeof all)[number]) => x.e.lo <= x.t && x.t <= x.e.hi;
  const wrong = (x: (typeof all)[number]) => (x.e.lo > 0 && x.t < 0) || (x.e.hi < 0 && x.t > 0);
  const widths = all.map((x) => x.e.hi - x.e.lo).filter(Number.isFinite);
  return {
    estimator,
    reliable: reliable.length,
    coverageReliable: reliable.length > 0 ? reliable.filter(covers).length / reliable.length : null,
    coverageAll: all.length > 0 ? all.filter(covers).length / all.length : Number.NaN,
    signAgreement: all.length > 0 ? all.filter((x) => Math.sign(x.e.value) === Math.sign(x.t) || Math.abs(x.t) < 1e-12).length / all.length : Number.NaN,
    confidentlyWrongReliable: reliable.filter(wrong).length,
    confidentlyWrongAll: all.filter(wrong).length,
    meanWidth: widths.length > 0 ? widths.reduce((a, b) => a + b, 0) / widths.length : null,
    unreliableRate: 1 - reliable.length / outcomes.length,
  };
});
const header = ['estimator', 'reliable', 'cover|rel', 'cover|all', 'sign', 'wrong|rel', 'wrong|all', 'width', 'unreliable'];
console.log(header.map((h) => h.padStart(11)).join(''));
for (const r of rows) {
  console.log([r.estimator, `${r.reliable}/${outcomes.length}`, round(r.coverageReliable, 2) ?? '–', round(r.coverageAll, 2), round(r.signAgreement, 2), r.confidentlyWrongReliable, r.confidentlyWrongAll, round(r.meanWidth) ?? '–', round(r.unreliableRate, 2)].map((v) => String(v).padStart(11)).join(''));
}
// Targets (issue 19 §3).
const coverageTarget = rows.every((r) => r.coverageReliable === null || r.coverageReliable >= 0.9);
const neverConfidentlyWrong = rows.every((r) => r.confidentlyWrongReliable === 0);
const slateTen = outcomes.filter((o, i) => chosen[i]!.k === 10 && chosen[i]!.exploration.scheme === 'epsilon-greedy' && Math.abs(o.truth.diff) >= 0.1);
const slateTenResolved = slateTen.filter((o) => ESTIMATORS.some((e) => o.estimates[e]!.verdict === 'reliable' && Math.sign(o.estimates[e]!.value) === Math.sign(o.truth.diff)));
console.log(JSON.stringify({
  experiment: 'replay-truth', requests: REQUESTS, seed: SEED, scenarios: outcomes.length,
  targets: { coverage_reliable_ge_90: coverageTarget, never_confidently_wrong_reliable: neverConfidentlyWrong, slate10_eps02_resolved: `${slateTenResolved.length}/${slateTen.length}` },
  estimators: rows.map((r) => ({ ...r, coverageReliable: round(r.coverageReliable), coverageAll: round(r.coverageAll), signAgreement: round(r.signAgreement), meanWidth: round(r.meanWidth), unreliableRate: round(r.unreliableRate) })),
  scenario_results: outcomes.map((o) => ({
    scenario: o.scenario, true_a: round(o.truth.a, 4), true_b: round(o.truth.b, 4), true_diff: round(o.truth.diff, 4), lead: o.lead,
    estimates: Object.fromEntries(ESTIMATORS.map((est) => {
      const x = o.estimates[est]!;
      return [est, { value: round(x.value, 4), lo: round(x.lo, 4), hi: round(x.hi, 4), verdict: x.verdict }];
    })),
  })),
}));
