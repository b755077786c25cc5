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
    assert.deepEqual(ledger.snapshot(), { partitions: { 0: [[5, 8], [10, 11]] }, replaysSkipped: 0, gaps: 2, doubles: 1, deleted: 0, absent: 0 });
    assert.deepEqual(new OffsetLedger(ledger.snapshot()).snapshot(), ledger.snapshot());
  });

  it('skips offsets that will never come: counted by reason, the next offset moves, a later record continues the range', () => {
    const ledger = new OffsetLedger();
    for (const o of [0, 1, 2]) ledger.record(0, o);
    assert.equal(ledger.skip(0, 2, 'deleted'), 0, 'not ahead: nothing skipped');
    assert.equal(ledger.skip(0, 10, 'deleted'), 7);
    assert.equal(ledger.next(0), 10);
    ledger.record(0, 10);
    assert.equal(ledger.skip(0, 14, 'absent'), 3);
    ledger.record(0, 14);
    assert.deepEqual(ledger.snapshot(), { partitions: { 0: [[0, 3], [10, 11], [14, 15]] }, replaysSkipped: 0, gaps: 10, doubles: 0, deleted: 7, absent: 3 });
    // Checkpoints written before these counters existed restore with zeros.
    const old = new OffsetLedger({ partitions: { 0: [[0, 3]] }, replaysSkipped: 0, gaps: 0, doubles: 0 });
    assert.deepEqual([old.deleted, old.absent], [0, 0]);
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
    assert.deepEqual(end.ledger, { partitions: { 0: [[0, records.length]] }, replaysSkipped: 200, gaps: 0, doubles: 0, deleted: 0, absent: 0 });
    assert.equal(end.counters.trained, impressions.length, 'no example trained twice or skipped');
    assert.equal(end.counters.trainedIdHash, idHash, 'the trained event ids are exactly the impressions');
    assert.equal(end.counters.events, records.length);

    // A jump past the next offset is refused and named, for the consumer to seek back.
    const third = await open(config, dir);
    assert.deepEqual(third.consume([{ ...records[0]!, offset: records.length + 5 }]), { seek: { partition: 0, offset: records.length } });
    third.dispose();
  });

  it('a crash between a publish and its checkpoint: the restart continues the checkpoint\'s line, and the version it did not know is superseded', async () => {
    const dir = tempDir();
    const config = smallStreamConfig(dir);
    const first = await open(config, dir);
    first.consume(records.slice(0, 1500));
    const v1 = await first.publish();
    await first.checkpoint();
    first.consume(records.slice(1500, 2500));
    const v2 = await first.publish();
    // "Crashes" before v2's checkpoint.
    first.dispose();
    assert.deepEqual([v1.version, v2.version, v2.parent], [1, 2, 1]);

    const second = await open(config, dir);
    assert.equal(second.startedFrom.kind, 'checkpoint');
    assert.deepEqual([...second.positions()], [[0, 1500]]);
    second.consume(records.slice(1500, 2600));
    const v3 = await second.publish();
    second.dispose();
    // A delta on v2 would add these rows to weights that already hold v2's training of the same events.
    assert.deepEqual([v3.version, v3.kind, v3.parent], [3, 'delta', 1]);
    assert.deepEqual(v3.offsets, { 0: 2600 });
  });

  it('a jump inside what a fetch from the next offset returned is a hole in the log (compaction): recorded, not sought back to', async () => {
    const dir = tempDir();
    const trainer = await open(smallStreamConfig(dir), dir);
    // A compacted partition: offsets 3, 4 and 7 are gone; the broker answers a fetch from 0 with the rest.
    const kept = records.slice(0, 10).filter((r) => ![3, 4, 7].includes(r.offset));
    assert.equal(trainer.consume(kept, { fetchedFrom: 0 }), null);
    // Then a fetch from 10 that starts at 12 (10 and 11 compacted away too).
    assert.equal(trainer.consume(records.slice(12, 20), { fetchedFrom: 10 }), null);
    const { ledger, counters } = trainer.status();
    assert.deepEqual(ledger.partitions, { 0: [[0, 3], [5, 7], [8, 10], [12, 20]] });
    assert.deepEqual([ledger.gaps, ledger.absent, ledger.deleted], [5, 5, 0]);
    assert.equal(counters.events + counters.invalid, 15);
    // Records fetched from beyond the next offset are still sent back to it.
    assert.deepEqual(trainer.consume([records[25]!], { fetchedFrom: 25 }), { seek: { partition: 0, offset: 20 } });
    trainer.dispose();
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

  it('a trainer starting from a version first trains the events its offsets cover but its weights do not (held for lateness)', async () => {
    const dir = tempDir();
    // A lateness window of many events, so many are held when the version is published.
    const base = smallStreamConfig(dir);
    const config = { ...base, stream: { ...base.stream, allowedLatenessMs: 3_600_000 } };
    const trainer = await open(config, dir);
    trainer.consume(records.slice(0, 1500));
    const version = await trainer.publish();
    const first = trainer.status().counters;
    trainer.dispose();
    assert.deepEqual(version.offsets, { 0: 1500 });

    const next = await open({ ...config, initFrom: 'latest', checkpoint: { ...config.checkpoint, dir: path.join(dir, 'other') } }, dir);
    assert.deepEqual(next.startedFrom, { kind: 'version', version: 1 });
    next.consume(records.slice(1500));
    await next.finish();
    const second = next.status().counters;
    next.dispose();
    assert.equal(first.trained + second.trained, impressions.length, `${first.trained} in the version + ${second.trained} after it`);
    assert.equal((first.trainedIdHash + second.trainedIdHash) % 2 ** 32, idHash, 'each impression once, in the version or after it');
  });
});
