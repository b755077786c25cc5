// The streaming trainer through the synthetic generator's abrupt drift, in
// process (no Kafka): the generator's default stream (200,000 impressions)
// with every user's interests and latent vector re-drawn at --drift-at,
// fed as records to the real StreamTrainer (from scratch, a version every
// --publish-every examples into a temporary registry), as drift.test.ts does
// through Kafka. Over the last --tail of the stream it reports
//   online    the trainer's progressive AUC (each micro-batch scored before it is trained on);
//   frozen    the last version published before the drift, on the tail's point-in-time examples;
//   bayes     the generator's Bayes AUC (true probabilities: knows the re-drawn users);
//   informed  the informed learner (bench/lib/informed-learner.ts): knows all but each
//             user's re-drawn parameters, learns them from that user's own impressions
//             since the drift, progressive: a ceiling for learners of the stream;
//   counting  a counting baseline (bench/lib/counting-baseline.ts), progressive;
// and the same figures just before and just after the drift.
//
//   npm run experiment -- stream-drift [--config FILE] [--features FILE] [--model JSON] [--batch-size N]
//                                      [--seed 42] [--drift-at 0.5] [--tail 0.2] [--publish-every 20000]
//                                      [--skip-model] [--skip-ceilings] [--label NAME]
//
// --config: a streaming config (default configs/models/synthetic-din-stream.json);
// --features: another feature spec for it; --model: JSON merged into its
// "model" (e.g. '{"embeddingLearningRate":0.05}'). Progress on stderr; one
// JSON line on stdout at the end.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { resolveSyntheticOptions } from '../../features/datasets/synthetic-options.js';
import { syntheticBayesReport, syntheticEvents, syntheticImpressions, type SyntheticOptions } from '../../features/datasets/synthetic.js';
import { auc } from '../../features/math/auc.js';
import type { Example } from '../../features/samples/example.js';
import { PointInTimeSampleBuilder } from '../../features/samples/point-in-time-builder.js';
import { loadFeatureSpec } from '../../features/spec/feature-spec.js';
import { loadCtrModel } from '../../models/ctr-artifact/model-artifact.js';
import { ModelRegistry } from '../../pipelines/registry/model-registry.js';
import { loadStreamConfig, StreamConfigSchema, type StreamConfig } from '../../pipelines/streaming/stream-config.js';
import { StreamTrainer, type StreamRecord } from '../../pipelines/streaming/stream-trainer.js';
import { CountingBaseline } from '../lib/counting-baseline.js';
import { InformedLearner } from '../lib/informed-learner.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const { values: flags } = parseArgs({
  options: {
    config: { type: 'string', default: path.join(ROOT, 'configs/models/synthetic-din-stream.json') },
    features: { type: 'string' },
    model: { type: 'string' },
    'batch-size': { type: 'string' },
    seed: { type: 'string', default: '42' },
    'drift-at': { type: 'string', default: '0.5' },
    tail: { type: 'string', default: '0.2' },
    'publish-every': { type: 'string', default: '20000' },
    'skip-model': { type: 'boolean', default: false },
    'skip-ceilings': { type: 'boolean', default: false },
    label: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (flags.help) {
  console.log('usage: npm run experiment -- stream-drift [--config FILE] [--features FILE] [--model JSON] [--batch-size N] [--seed 42] [--drift-at 0.5] [--tail 0.2] [--publish-every 20000] [--skip-model] [--skip-ceilings] [--label NAME]');
  process.exit(0);
}
const progress = (msg: string) => console.error(`[stream-drift] ${msg}`);
const started = performance.now();
const seconds = () => Number(((performance.now() - started) / 1000).toFixed(1));

const synthetic: SyntheticOptions = { seed: Number(flags.seed), abruptDriftAt: Number(flags['drift-at']) };
const { events: impressions } = resolveSyntheticOptions(synthetic);
const driftIndex = Math.floor(synthetic.abruptDriftAt! * impressions);
/** Windows of the impressions, [from, to) as indices in stream order. */
const windows = {
  tail: [Math.floor(impressions * (1 - Number(flags.tail))), impressions],
  before: [Math.max(0, driftIndex - impressions / 10), driftIndex],
  after: [driftIndex, Math.min(impressions, driftIndex + impressions / 10)],
} as const;
type WindowName = keyof typeof windows;

// The labels and ids in stream order.
const labels = new Float64Array(impressions);
const stream: { user: number; item: number; label: number }[] = [];
for (const { event } of syntheticImpressions(synthetic)) {
  labels[stream.length] = event.label!;
  stream.push({ user: Number(event.user_id.slice(1)), item: Number(event.item_id.slice(1)), label: event.label! });
}
const aucs = (scores: ArrayLike<number>) => Object.fromEntries(Object.entries(windows).map(([name, [lo, hi]]) =>
  [name, Number(auc(labels.subarray(lo, hi), Array.prototype.slice.call(scores, lo, hi) as number[]).toFixed(4))])) as Record<WindowName, number>;

const result: Record<string, unknown> = {
  experiment: 'stream-drift', label: flags.label ?? null, synthetic: { ...synthetic, events: impressions }, windows,
  bayes: Object.fromEntries(Object.entries(windows).map(([name, [lo, hi]]) => [name, Number(syntheticBayesReport(synthetic, lo / impressions, hi / impressions).bayesAuc.toFixed(4))])),
};
progress(`Bayes AUC ${JSON.stringify(result.bayes)} (${seconds()} s)`);

if (!flags['skip-ceilings']) {
  let t = performance.now();
  const informed = new InformedLearner(synthetic).run(stream);
  result.informed = aucs(informed);
  result.informedSeconds = Number(((performance.now() - t) / 1000).toFixed(1));
  progress(`informed learner ${JSON.stringify(result.informed)} (${result.informedSeconds} s)`);
  t = performance.now();
  const categories = new Map<string, string>();
  for (const e of syntheticEvents(synthetic)) if (e.type === 'item_update') categories.set(e.item_id, String(e.attributes.category));
  const counting = new CountingBaseline();
  const countingScores = new Float64Array(impressions);
  stream.forEach((x, k) => {
    const [u, i] = [`u${x.user}`, `i${x.item}`];
    const c = categories.get(i)!;
    countingScores[k] = counting.score(u, i, c);
    counting.learn(u, i, c, x.label);
  });
  result.counting = aucs(countingScores);
  progress(`counting baseline ${JSON.stringify(result.counting)} (${((performance.now() - t) / 1000).toFixed(1)} s)`);
}

if (!flags['skip-model']) {
  const base = loadStreamConfig(path.resolve(flags.config));
  const dir = mkdtempSync(path.join(tmpdir(), 'stream-drift-'));
  const config: StreamConfig = StreamConfigSchema.parse({
    ...base,
    ...(flags.features ? { features: path.resolve(flags.features) } : {}),
    model: { ...base.model, ...(flags.model ? JSON.parse(flags.model) as object : {}) },
    initFrom: 'scratch',
    stream: { ...base.stream, ...(flags['batch-size'] ? { batchSize: Number(flags['batch-size']) } : {}) },
    publish: { ...base.publish, everyExamples: Number(flags['publish-every']), everySeconds: 1e9, fullEvery: 3 },
    checkpoint: { ...base.checkpoint, dir: path.join(dir, 'checkpoints'), everySeconds: 1e9 },
    progressive: { ...base.progressive, logEverySeconds: 1e9 },
  });
  result.config = { file: path.relative(ROOT, path.resolve(flags.config)), features: path.relative(ROOT, config.features), model: config.model, batchSize: config.stream.batchSize };
  progress(`training ${config.name} (${config.model.type}) on ${impressions} impressions, seed ${synthetic.seed}, drift at ${driftIndex}`);
  try {
    const registry = new ModelRegistry(path.join(dir, 'registry'));
    const online = new Float64Array(impressions).fill(NaN);
    let scored = 0;
    const trainer = await StreamTrainer.open(config, {
      registry, topic: 'stream-drift', checkpointDir: path.join(dir, 'checkpoints'),
      onScored: (b) => b.eventIds.forEach((id, i) => {
        online[Number(id.slice(id.lastIndexOf('-') + 1))] = b.scores[i]!;
        scored++;
      }),
    });
    const t = performance.now();
    const encoder = new TextEncoder();
    let records: StreamRecord[] = [];
    let offset = 0;
    const feed = async () => {
      trainer.consume(records);
      records = [];
      await trainer.tick();
    };
    for (const e of syntheticEvents(synthetic)) {
      records.push({ partition: 0, offset: offset++, value: encoder.encode(JSON.stringify(e)), timestamp: Date.now() });
      if (records.length === 1000) {
        await feed();
        if (offset % 50_000 === 0) progress(`${trainer.counters.trained} trained (${((performance.now() - t) / 1000).toFixed(0)} s)`);
      }
    }
    await feed();
    await trainer.finish();
    const trainSeconds = (performance.now() - t) / 1000;
    trainer.dispose();
    if (scored !== impressions || online.some(Number.isNaN)) throw new Error(`scored ${scored} of ${impressions} impressions`);
    result.online = aucs(online);
    progress(`online ${JSON.stringify(result.online)} (${trainSeconds.toFixed(0)} s, ${Math.round(impressions / trainSeconds)} examples/s)`);

    // Frozen: the last version trained only on events before the drift, on the point-in-time examples.
    const builder = new PointInTimeSampleBuilder(loadFeatureSpec(config.features));
    const examples: Example[] = [];
    for (const e of syntheticEvents(synthetic)) examples.push(...builder.push(e));
    examples.push(...builder.flush());
    examples.forEach((e, k) => {
      if (e.event.event_id !== `syn-${synthetic.seed}-${k}`) throw new Error(`example ${k} is ${e.event.event_id}: not in stream order`);
    });
    const driftTs = examples[driftIndex]!.event.ts;
    const before = (await registry.listVersions(config.name)).filter((v) => v.trainedUntil !== null && v.trainedUntil < driftTs).at(-1);
    if (!before) throw new Error('no version was published before the drift: lower --publish-every');
    const { model: frozen } = await loadCtrModel(before.dir);
    const frozenScores = new Float64Array(impressions).fill(NaN);
    for (const [lo, hi] of Object.values(windows)) {
      for (let i = lo; i < hi; i += 2048) frozenScores.set(frozen.predict(frozen.encoder.encode(examples.slice(i, Math.min(hi, i + 2048)))), i);
    }
    frozen.dispose();
    result.frozen = aucs(frozenScores);
    result.frozenVersion = { version: before.version, kind: before.kind, trainedUntil: before.trainedUntil };
    result.trainSeconds = Number(trainSeconds.toFixed(1));
    result.examplesPerSecond = Math.round(impressions / trainSeconds);
    progress(`frozen v${before.version} ${JSON.stringify(result.frozen)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
result.seconds = seconds();
result.loadAverage = Number(loadavg()[0]!.toFixed(1));
console.log(JSON.stringify(result));
