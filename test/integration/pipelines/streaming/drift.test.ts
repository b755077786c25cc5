import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { syntheticBayesReport, syntheticEvents } from '../../../../features/datasets/synthetic.js';
import { auc } from '../../../../features/math/auc.js';
import type { Example } from '../../../../features/samples/example.js';
import { PointInTimeSampleBuilder } from '../../../../features/samples/point-in-time-builder.js';
import { loadFeatureSpec } from '../../../../features/spec/feature-spec.js';
import { loadCtrModel } from '../../../../models/ctr-artifact/model-artifact.js';
import { ModelRegistry } from '../../../../pipelines/registry/model-registry.js';
import { runTrainStream } from '../../../../pipelines/streaming/run-train-stream.js';
import { loadStreamConfig, type StreamConfig } from '../../../../pipelines/streaming/stream-config.js';
import { createStreamEnv, produceSynthetic, type StreamEnv } from './stream-env.js';

const CONFIG = fileURLToPath(new URL('../../../../configs/models/synthetic-din-stream.json', import.meta.url));

/**
 * The generator's default stream (200,000 impressions, seed 42) with users'
 * interests re-drawn at 50%, through real Kafka into the online trainer.
 * Over the last 20% the online model's progressive AUC is compared with the
 * last version published before the drift, frozen (scored on the same
 * point-in-time examples, histories as of each event): the issue's ≥ 0.05
 * is asserted. The other target, online within 0.03 of the generator's Bayes
 * AUC, is logged, not asserted: no learner of this stream reaches it. The
 * Bayes AUC knows each user's re-drawn interests; an informed learner that
 * knows everything else (items, the click model, the drift time) and learns
 * each user's new parameters from that user's impressions reaches 0.733
 * against 0.862 (`npm run experiment -- stream-drift`, see the README).
 */
describe('streaming training through an abrupt drift (real Kafka)', function () {
  this.timeout(1_800_000);
  const synthetic = { seed: 42, abruptDriftAt: 0.5 };
  const impressions = 200_000;
  let env: StreamEnv;

  before(async () => {
    env = await createStreamEnv(1);
    await produceSynthetic(env, synthetic);
  });
  after(async () => {
    await env?.cleanup();
  });

  it('tracks the drift: over the last 20%, ahead of a model frozen before the drift', async () => {
    const base = loadStreamConfig(CONFIG);
    const config: StreamConfig = {
      ...base,
      initFrom: 'scratch',
      stream: { ...base.stream, groupId: env.groupId },
      publish: { ...base.publish, everyExamples: 20_000, everySeconds: 3600, fullEvery: 3 },
      checkpoint: { ...base.checkpoint, dir: env.checkpointDir, everySeconds: 3600 },
    };
    const scores = new Map<string, number>();
    const result = await runTrainStream(config, {
      kafka: env.kafka, registry: env.registry, topic: env.topic, idleExitMs: 8000,
      onScored: (b) => b.eventIds.forEach((id, i) => scores.set(id, b.scores[i]!)),
    });
    assert.equal(result.status.counters.trained, impressions);
    assert.equal(scores.size, impressions, 'every impression scored once before training');
    assert.equal(result.status.ledger.gaps + result.status.ledger.doubles, 0);
    assert.ok(result.versions.some((v) => v.kind === 'delta'), 'deltas were published');

    // The last 20% of the impressions, with point-in-time examples for the frozen model.
    const spec = loadFeatureSpec(config.features);
    const builder = new PointInTimeSampleBuilder(spec);
    const examples: Example[] = [];
    for (const e of syntheticEvents(synthetic)) examples.push(...builder.push(e));
    examples.push(...builder.flush());
    const tail = examples.slice(Math.floor(impressions * 0.8));
    const labels = tail.map((e) => e.label);
    const online = auc(labels, tail.map((e) => scores.get(e.event.event_id)!));

    const driftTs = examples[impressions / 2]!.event.ts;
    // The last version trained only on events before the drift.
    const registry = new ModelRegistry(env.registry);
    const listed = await registry.listVersions(config.name);
    const before = listed.filter((v) => v.trainedUntil !== null && v.trainedUntil < driftTs).at(-1)!;
    const frozenDir = before.dir;
    const { model: frozen, manifest } = await loadCtrModel(frozenDir);
    assert.ok(manifest.trainedUntil! < driftTs, 'the frozen version was trained before the drift only');
    const frozenScores: number[] = [];
    for (let i = 0; i < tail.length; i += 2048) frozenScores.push(...frozen.predict(frozen.encoder.encode(tail.slice(i, i + 2048))));
    const frozenAuc = auc(labels, frozenScores);
    const bayes = syntheticBayesReport(synthetic, 0.8, 1).bayesAuc;
    console.log(JSON.stringify({ online, bayes, frozen: frozenAuc, frozenVersion: before.version, frozenKind: before.kind, versions: result.versions.length }));
    assert.ok(online - frozenAuc >= 0.05, `online ${online.toFixed(4)} must beat the frozen v${before.version} ${frozenAuc.toFixed(4)} by ≥ 0.05`);
    assert.ok(online >= 0.65, `online ${online.toFixed(4)} (Bayes ${bayes.toFixed(4)}) must stay well above chance after the drift`);
  });
});
