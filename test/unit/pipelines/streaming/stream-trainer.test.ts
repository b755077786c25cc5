import assert from 'node:assert/strict';
import path from 'node:path';
import { hashString } from '../../../../features/hashing.js';
import { ModelRegistry } from '../../../../pipelines/registry/model-registry.js';
import { OffsetLedger } from '../../../../pipelines/streaming/offset-ledger.js';
import { StreamTrainer, type ScoredBatch } from '../../../../pipelines/streaming/stream-trainer.js';
import type { StreamConfig } from '../../../../pipelines/streaming/stream-config.js';
import { smallStreamConfig, syntheticRecords, tempDir } from './stream-fixtures.js';

const open = (config: StreamConfig, dir: string, onScored?: (b: ScoredBatch) => void) =>
  StreamTrainer.open(config, { registry: new ModelRegistry(path.join(dir, 'registry')), topic: 'events', checkpointDir: config.checkpoint.dir!, ...(onScored ? { onScored } : {}) });

describe('offset ledger', () => {
  it('counts replays, gaps and doubles; an empty start marker is replaced by the first real range', () => {
    const ledger = new OffsetLedger();
    ledger.start(0, 5);
    assert.equal(ledger.classify(0, 4), 'replay');
    assert.equal(ledger.classify(0, 7), 'gap');
    for (const o of [5, 6, 7]) ledger.record(0, o);
    ledger.record(0, 6);
    ledger.record(0, 10);
    assert.deepEqual(ledger.snapshot(), { partitions: { 0: [[5, 8], [10, 11]] }, replaysSkipped: 0, gaps: 2, doubles: 1 });
    assert.deepEqual(new OffsetLedger(ledger.snapshot()).snapshot(), ledger.snapshot());
  });
});

describe('streaming trainer (no Kafka)', function () {
  this.timeout(300_000);
  const records = syntheticRecords();
  const impressions = records.filter((r) => JSON.parse(r.value!.toString()).type === 'impression');
  const idHash = impressions.reduce((sum, r) => (sum + hashString(JSON.parse(r.value!.toString()).event_id)) % 2 ** 32, 0);

  it('scores every micro-batch before training on it (progressive validation)', async () => {
    const dir = tempDir();
    const calls: string[] = [];
    let checked = 0;
    const trainer: StreamTrainer = await open(smallStreamConfig(dir), dir, (batch) => {
      calls.push('scored');
      // The model has not trained on this batch yet: scoring it again gives the reported scores.
      if (checked++ < 3) {
        const again = trainer.model.predict(trainer.model.encoder.encode(pending.splice(0)));
        assert.deepEqual([...again], [...batch.scores]);
      }
    });
    const pending: Parameters<typeof trainer.model.encoder.encode>[0][number][] = [];
    const predict = trainer.model.predict.bind(trainer.model);
    const trainStep = trainer.model.trainStep.bind(trainer.model);
    trainer.model.predict = (b) => { calls.push('predict'); return predict(b); };
    trainer.model.trainStep = (b) => { calls.push('train'); return trainStep(b); };
    const encode = trainer.model.encoder.encode.bind(trainer.model.encoder);
    trainer.model.encoder.encode = (examples) => { pending.splice(0, pending.length, ...examples); return encode(examples); };
    trainer.consume(records.slice(0, 2000));
    const steps = trainer.status().counters.steps;
    assert.ok(steps >= 10);
    // Per step: predict, scored, train; the first three steps also predict inside the callback (the check above).
    assert.ok(calls.join(',').startsWith('predict,scored,predict,train'), calls.slice(0, 6).join(','));
    const withoutChecks = calls.filter((c, i) => !(c === 'predict' && calls[i - 1] === 'scored'));
    assert.equal(withoutChecks.join(','), Array.from({ length: steps }, () => 'predict,scored,train').join(','));
    trainer.dispose();
  });

  it('resumes from a checkpoint after a crash: every offset once, every example trained once', async () => {
    // Uninterrupted reference run.
    const refDir = tempDir();
    const reference = await open(smallStreamConfig(refDir), refDir);
    reference.consume(records);
    await reference.finish();
    const ref = reference.status();
    reference.dispose();
    assert.equal(ref.counters.trained, impressions.length);
    assert.equal(ref.counters.trainedIdHash, idHash);

    const dir = tempDir();
    const config = smallStreamConfig(dir);
    const first = await open(config, dir);
    first.consume(records.slice(0, 1700));
    await first.publish();
    await first.checkpoint();
    const atCheckpoint = first.status();
    // Trains on past the checkpoint, then "crashes": the state after the checkpoint is lost.
    first.consume(records.slice(1700, 2600));
    assert.ok(first.status().counters.trained > atCheckpoint.counters.trained);
    first.dispose();

    const second = await open(config, dir);
    assert.equal(second.startedFrom.kind, 'checkpoint');
    assert.deepEqual(second.status().counters, atCheckpoint.counters);
    assert.deepEqual([...second.positions()], [[0, 1700]]);
    // The broker redelivers from the last committed offset (here: from 1500), then the rest.
    second.consume(records.slice(1500));
    await second.finish();
    const end = second.status();
    second.dispose();
    assert.deepEqual(end.ledger, { partitions: { 0: [[0, records.length]] }, replaysSkipped: 200, gaps: 0, doubles: 0 });
    assert.equal(end.counters.trained, impressions.length, 'no example trained twice or skipped');
    assert.equal(end.counters.trainedIdHash, idHash, 'the trained event ids are exactly the impressions');
    assert.equal(end.counters.events, records.length);

    // A jump past the next offset is refused and named, for the consumer to seek back.
    const third = await open(config, dir);
    assert.deepEqual(third.consume([{ ...records[0]!, offset: records.length + 5 }]), { seek: { partition: 0, offset: records.length } });
    third.dispose();
  });

  it('publishes full then delta versions with offsets; a new trainer without checkpoint starts from the latest', async () => {
    const dir = tempDir();
    const config = smallStreamConfig(dir);
    const trainer = await open(config, dir);
    trainer.consume(records.slice(0, 1500));
    const v1 = await trainer.publish();
    trainer.consume(records.slice(1500, 2500));
    const v2 = await trainer.publish();
    trainer.dispose();
    assert.deepEqual([v1.kind, v2.kind, v2.parent], ['full', 'delta', 1]);
    assert.deepEqual(v2.offsets, { 0: 2500 });
    assert.ok(v2.rows > 0 && v2.rows < 4096);

    const next = await open({ ...config, initFrom: 'latest', checkpoint: { ...config.checkpoint, dir: path.join(dir, 'other') } }, dir);
    assert.deepEqual(next.startedFrom, { kind: 'version', version: 2 });
    assert.deepEqual([...next.positions()], [[0, 2500]]);
    assert.equal(next.consume([records[10]!]), null);
    assert.equal(next.status().ledger.replaysSkipped, 1);
    next.dispose();
  });
});
