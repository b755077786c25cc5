import assert from 'node:assert/strict';
import path from 'node:path';
import { loadCtrModel } from '../../../../models/ctr-artifact/model-artifact.js';
import { decideAutoPromote } from '../../../../pipelines/registry/auto-promote.js';
import { ModelRegistry } from '../../../../pipelines/registry/model-registry.js';
import { ProgressiveMetrics } from '../../../../pipelines/streaming/progressive-metrics.js';
import type { StreamConfig } from '../../../../pipelines/streaming/stream-config.js';
import { StreamMetrics } from '../../../../pipelines/streaming/stream-metrics.js';
import { StreamTrainer, type StreamTrainerOptions } from '../../../../pipelines/streaming/stream-trainer.js';
import type { PublishedVersion } from '../../../../pipelines/streaming/version-publisher.js';
import { smallStreamConfig, syntheticRecords, tempDir } from './stream-fixtures.js';

const NAME = 'stream-test';
const POLICY = { minEvents: 1000, aucMargin: 0.002, loglossMargin: 0.005 };
/** Clicks driven by the users' category interests alone: an abrupt drift (interests re-drawn) makes a pre-drift model stale. */
const INTEREST_ONLY = { interest: 3, affinity: 0, history: 0, quality: 0 };
const WORLD = { users: 40, items: 100, categories: 6, seed: 5, weights: INTEREST_ONLY };
const CATALOG = WORLD.users + WORLD.items;

/** The small DIN with auto-promote on a 1,000-example window. */
function promotingConfig(dir: string, model: Partial<StreamConfig['model']> = {}, checkpoints = 'checkpoints'): StreamConfig {
  const base = smallStreamConfig(dir);
  return {
    ...base,
    model: { ...base.model, ...model } as StreamConfig['model'],
    publish: { ...base.publish, autoPromote: POLICY },
    progressive: { window: 1000, logEverySeconds: 100 },
    checkpoint: { ...base.checkpoint, dir: path.join(dir, checkpoints) },
  };
}

const open = (config: StreamConfig, registry: ModelRegistry, extra: Partial<StreamTrainerOptions> = {}) =>
  StreamTrainer.open(config, { registry, topic: 'events', checkpointDir: config.checkpoint.dir!, ...extra });

const decision = (v: PublishedVersion) => {
  assert.ok(v.autoPromote, `v${v.version} has an auto-promote decision`);
  return v.autoPromote;
};

/** The serving model's dense weights equal those of `version` loaded from the registry the way serving loads it. */
async function assertScoresWith(trainer: StreamTrainer, registry: ModelRegistry, version: number): Promise<void> {
  const shadow = trainer.shadowVersion;
  assert.equal(shadow?.version, version);
  const { model } = await loadCtrModel(registry.versionDir(NAME, version));
  try {
    assert.deepEqual(shadow.model!.denseState().data, model.denseState().data, `the shadow holds v${version}'s weights`);
  } finally {
    model.dispose();
  }
}

describe('progressive window, newest N', () => {
  it('gives the figures of the newest N examples, as a window fed only those would', () => {
    const labels = Array.from({ length: 250 }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0);
    const scores = labels.map((y, i) => 0.3 + 0.4 * y * ((i % 5) / 5) + 0.01 * (i % 11));
    const window = new ProgressiveMetrics(200);
    window.add(labels, scores);
    for (const last of [200, 120, 37]) {
      const alone = new ProgressiveMetrics(200);
      alone.add(labels.slice(-last), scores.slice(-last));
      const [a, b] = [window.figures(last), alone.figures()];
      assert.deepEqual([a.events, a.auc, a.logloss], [b.events, b.auc, b.logloss], `last ${last}`);
    }
    assert.equal(window.figures(500).events, 200, 'never more than the window');
    assert.deepEqual(window.figures(), window.figures(200));
  });
});

describe('auto-promote on the same window (shadow scoring)', function () {
  this.timeout(120_000);

  it('promotes the first version with enough events, then shadow-scores it on the same batches; off without autoPromote', async () => {
    const dir = tempDir();
    const registry = new ModelRegistry(path.join(dir, 'registry'));
    const records = syntheticRecords({ ...WORLD, events: 2500 });
    let clock = 1_000_000;
    const metrics = new StreamMetrics();
    const config = promotingConfig(dir);
    const trainer = await open(config, registry, { metrics, now: () => clock });
    assert.deepEqual(trainer.status().serving, { events: 0, auc: null, logloss: null, cumulativeLogloss: null, total: 0, version: null, windowEnd: null, problem: null });

    trainer.consume(records.slice(0, CATALOG + 600));
    const v1 = await trainer.publish();
    assert.equal(v1.promoted, false);
    assert.match(decision(v1).reason, /candidate v1 has metrics over \d+ events, the policy needs 1000/);
    assert.equal(await registry.serving(NAME), null);

    trainer.consume(records.slice(CATALOG + 600, CATALOG + 1500));
    const v2 = await trainer.publish();
    assert.equal(v2.promoted, true);
    assert.match(decision(v2).reason, /^nothing is serving; candidate v2 has metrics over 1000 events/);
    assert.equal((await registry.serving(NAME))?.version, 2);
    await assertScoresWith(trainer, registry, 2);
    assert.equal(trainer.status().serving!.events, 0, 'the window restarts with the new serving version');

    const trainedBefore = trainer.status().counters.trained;
    trainer.consume(records.slice(CATALOG + 1500, CATALOG + 2100));
    const status = trainer.status();
    const serving = status.serving!;
    assert.equal(serving.version, 2);
    assert.equal(serving.events, status.counters.trained - trainedBefore, 'every batch the online model scored, the serving version scored too');
    assert.equal(serving.windowEnd, status.counters.trained);
    assert.ok(serving.auc !== null && serving.auc > 0.5, `serving AUC ${serving.auc}`);

    // The progress report exports it next to the progressive figures.
    clock += 101_000;
    assert.equal(await trainer.tick(), false);
    const exported = await metrics.registry.getSingleMetricAsString('train_stream_serving_auc');
    assert.match(exported, new RegExp(`^train_stream_serving_auc ${serving.auc}$`, 'm'));
    assert.match(await metrics.registry.getSingleMetricAsString('train_stream_serving_version'), /^train_stream_serving_version 2$/m);

    // A restart from the checkpoint keeps the window while v2 still serves.
    await trainer.checkpoint();
    const checkpointed = trainer.status().serving!;
    assert.ok(checkpointed.events >= serving.events);
    trainer.dispose();
    const resumed = await open(config, registry);
    assert.equal(resumed.startedFrom.kind, 'checkpoint');
    assert.deepEqual(resumed.status().serving, checkpointed);
    resumed.dispose();

    // Without autoPromote nothing is loaded or scored.
    const plain = await open({ ...smallStreamConfig(dir), checkpoint: { dir: path.join(dir, 'plain'), everySeconds: 1e9, keep: 2 } }, registry);
    plain.consume(records.slice(0, CATALOG + 300));
    assert.equal(plain.status().serving, null);
    assert.equal(plain.shadowVersion, null);
    assert.equal((await plain.publish()).autoPromote, null);
    assert.equal((await registry.serving(NAME))?.version, 2);
    plain.dispose();

    // A policy needing more events than the window holds could never decide: refused at start.
    await assert.rejects(open({ ...config, progressive: { window: 500, logEverySeconds: 100 } }, registry), /publish\.autoPromote\.minEvents \(1000\) exceeds progressive\.window \(500\)/);
  });

  it('after an abrupt drift promotes a version whose AUC is below the stale serving version\'s recorded figure, because it beats it on the same events', async () => {
    const dir = tempDir();
    const registry = new ModelRegistry(path.join(dir, 'registry'));
    const records = syntheticRecords({ ...WORLD, events: 7000, abruptDriftAt: 0.5 });
    const drift = CATALOG + 3500;
    const trainer = await open(promotingConfig(dir), registry);
    trainer.consume(records.slice(0, drift));
    const v1 = await trainer.publish();
    assert.equal(v1.promoted, true, 'the pre-drift version serves');

    trainer.consume(records.slice(drift, drift + 1000));
    const v2 = await trainer.publish();
    const d = decision(v2);
    trainer.dispose();

    // What the manifests record: v1's window before the drift, v2's window after it.
    const recorded = async (v: number) => (await registry.show(`${NAME}@${v}`)).metrics as { progressive_auc: number; progressive_logloss: number; progressive_events: number };
    const [r1, r2] = [await recorded(1), await recorded(2)];
    assert.ok(r2.progressive_auc < r1.progressive_auc - 0.05, `recorded AUC v2 ${r2.progressive_auc} vs v1 ${r1.progressive_auc}`);
    // The old comparison (manifest against manifest, different windows) would have refused v2.
    const old = decideAutoPromote(
      { version: 2, metrics: { events: r2.progressive_events, auc: r2.progressive_auc, logloss: r2.progressive_logloss } },
      { version: 1, metrics: { events: r1.progressive_events, auc: r1.progressive_auc, logloss: r1.progressive_logloss } },
      POLICY,
    );
    assert.equal(old.promote, false);
    assert.match(old.reason, /candidate v2 AUC [\d.]+ is more than 0\.002 below serving v1's/);

    // On the same 1,000 post-drift events the stale v1 is worse, so v2 is promoted.
    assert.equal(d.serving, 1);
    assert.deepEqual([d.candidate.events, d.servingMetrics?.events], [1000, 1000]);
    assert.equal(d.candidate.windowEnd, d.servingMetrics?.windowEnd, 'both windows end at the same example');
    assert.equal(d.candidate.auc, r2.progressive_auc, 'the candidate\'s window is the one its manifest records');
    assert.ok(d.candidate.auc! > d.servingMetrics!.auc!, `same window: candidate ${d.candidate.auc} vs stale serving ${d.servingMetrics!.auc}`);
    assert.ok(d.servingMetrics!.auc! < r1.progressive_auc - 0.1, 'v1 on post-drift events is far below its own recorded figure');
    assert.equal(v2.promoted, true);
    assert.match(d.reason, /^candidate v2 is within the margins of serving v1 over 1000 events/);
    assert.equal((await registry.serving(NAME))?.version, 2);
    assert.equal((await registry.history(NAME)).at(-1)?.actor, 'auto-promote');
  });

  it('refuses a candidate worse than serving on the same window by more than the margin', async () => {
    const dir = tempDir();
    const registry = new ModelRegistry(path.join(dir, 'registry'));
    const records = syntheticRecords({ ...WORLD, events: 4000 });
    const split = CATALOG + 2500;
    // A well-trained version serves…
    const good = await open(promotingConfig(dir), registry);
    good.consume(records.slice(0, split));
    assert.equal((await good.publish()).promoted, true);
    good.dispose();

    // …and a second trainer with a learning rate far too high replays the topic and publishes into the same model.
    const bad = await open(promotingConfig(dir, { learningRate: 0.5, embeddingLearningRate: 5 }, 'bad-checkpoints'), registry);
    assert.equal(bad.shadowVersion?.version, 1, 'the serving version is loaded at start');
    bad.consume(records);
    const v2 = await bad.publish();
    const d = decision(v2);
    bad.dispose();
    assert.equal(v2.promoted, false);
    assert.deepEqual([d.candidate.events, d.servingMetrics?.events], [1000, 1000]);
    assert.equal(d.candidate.windowEnd, d.servingMetrics?.windowEnd);
    assert.ok(Number.isFinite(d.candidate.auc) && d.candidate.auc! < d.servingMetrics!.auc! - POLICY.aucMargin, `candidate ${d.candidate.auc} vs serving ${d.servingMetrics!.auc}`);
    assert.match(d.reason, /^candidate v2 AUC [\d.]+ is more than 0\.002 below serving v1's [\d.]+$/);
    assert.equal((await registry.serving(NAME))?.version, 1);
    assert.equal((await registry.history(NAME)).filter((e) => e.action === 'promote').length, 1);
  });

  it('reloads the serving version after a hand rollback or promote; minEvents must then accumulate on it', async () => {
    const dir = tempDir();
    const registry = new ModelRegistry(path.join(dir, 'registry'));
    const records = syntheticRecords({ ...WORLD, events: 7000, abruptDriftAt: 0.5 });
    let at = CATALOG + 3500;
    const trainer = await open(promotingConfig(dir), registry);
    const next = async (n: number) => {
      trainer.consume(records.slice(at, at + n));
      at += n;
      return trainer.publish();
    };
    trainer.consume(records.slice(0, at));
    assert.equal((await trainer.publish()).promoted, true);
    assert.equal((await next(1000)).promoted, true, 'v2 (post-drift) is promoted');
    await assertScoresWith(trainer, registry, 2);

    await registry.rollback(NAME, { actor: 'alice', reason: 'test' });
    trainer.consume(records.slice(at, at + 200));
    assert.equal(trainer.shadowVersion?.version, 2, 'the alias is read at publish time');
    at += 200;
    const v3 = await next(600);
    assert.equal(v3.promoted, false);
    assert.match(decision(v3).reason, /^serving moved from v2 to v1 \(rollback by alice\); its shadow window restarts now, and 1000 events must be scored by v1 before the next decision$/);
    await assertScoresWith(trainer, registry, 1);
    assert.equal(trainer.status().serving!.events, 0);

    await registry.promote(NAME, 3, { actor: 'bob' });
    const v4 = await next(600);
    assert.match(decision(v4).reason, /^serving moved from v1 to v3 \(promote by bob\)/);
    await assertScoresWith(trainer, registry, 3);

    const v5 = await next(500);
    assert.equal(v5.promoted, false);
    assert.match(decision(v5).reason, /^serving v3 has been shadow-scored on 500 events since it was loaded .*the policy needs 1000 on the same events as the candidate$/);

    const v6 = await next(600);
    const d = decision(v6);
    trainer.dispose();
    assert.equal(d.serving, 3);
    assert.deepEqual([d.candidate.events, d.servingMetrics?.events], [1000, 1000]);
    assert.equal(d.candidate.windowEnd, d.servingMetrics?.windowEnd);
    assert.match(d.reason, /serving v3/);
    assert.equal((await registry.serving(NAME))?.version, v6.promoted ? 6 : 3);
  });
});
