import assert from 'node:assert/strict';
import { readdirSync, renameSync, rmSync, truncateSync, unlinkSync, cpSync } from 'node:fs';
import path from 'node:path';
import { ArtifactError } from '../../../../models/artifact/read-artifact.js';
import { ModelRegistry } from '../../../../pipelines/registry/model-registry.js';
import { readAliasHistory } from '../../../../pipelines/registry/alias-store.js';
import { parseModelRef } from '../../../../pipelines/registry/model-ref.js';
import { AliasConflictError, RegistryError } from '../../../../pipelines/registry/registry-errors.js';
import { ValidationError } from '../../../../infra/errors.js';
import { RecordingNotifier, editManifest, flipFirstByte, publishFakes, tempRegistry } from '../../../helpers/registry-fixtures.js';

describe('model registry (folder)', () => {
  const actor = 'tester';

  describe('list and resolve', () => {
    it('lists models and versions with created time, type, metrics, status and the serving marker', async () => {
      const root = tempRegistry();
      await publishFakes(root, 'din-a', 3);
      await publishFakes(root, 'lr-b', 1);
      const registry = new ModelRegistry(root);
      await registry.promote('din-a', 2, { actor });

      assert.deepEqual((await registry.listModels()).map((m) => [m.model, m.versions, m.latest, m.serving, m.servingActor]), [
        ['din-a', 3, 3, 2, actor],
        ['lr-b', 1, 1, null, null],
      ]);
      const versions = await registry.listVersions('din-a');
      assert.deepEqual(versions.map((v) => [v.version, v.status, v.verified, v.serving, v.modelType, v.kind, v.parent]), [
        [1, 'ok', false, false, 'din', 'full', null],
        [2, 'ok', false, true, 'din', 'full', null],
        [3, 'ok', false, false, 'din', 'full', null],
      ]);
      assert.equal(versions[2]!.metrics.auc, 0.73);
      assert.equal(versions[2]!.trainedUntil, 1_700_000_000_003);
      assert.ok(!Number.isNaN(Date.parse(versions[0]!.createdAt!)));
      assert.ok((await registry.listVersions('din-a', { verify: true })).every((v) => v.verified && v.status === 'ok'));
    });

    it('an empty or missing registry lists nothing', async () => {
      assert.deepEqual(await new ModelRegistry(path.join(tempRegistry(), 'nope')).listModels(), []);
    });

    it('resolves name, name@N, name@latest and name@serving', async () => {
      const root = tempRegistry();
      const dirs = await publishFakes(root, 'din-a', 3);
      const registry = new ModelRegistry(root);
      assert.equal((await registry.resolve('din-a')).dir, dirs[2]);
      assert.equal((await registry.resolve('din-a@latest')).version, 3);
      assert.equal((await registry.resolve('din-a@1')).dir, dirs[0]);
      await assert.rejects(registry.resolve('din-a@serving'), /no serving version yet/);
      await registry.promote('din-a', 2, { actor });
      const serving = await registry.resolve('din-a@serving');
      assert.deepEqual([serving.version, serving.dir, serving.ref], [2, dirs[1], 'din-a@serving']);
    });

    it('names what is missing or malformed', async () => {
      const root = tempRegistry();
      await publishFakes(root, 'din-a', 2);
      const registry = new ModelRegistry(root);
      await assert.rejects(registry.resolve('din-a@9'), (e: Error) => e instanceof RegistryError && /has no version 9 \(has 1, 2\)/.test(e.message));
      await assert.rejects(registry.resolve('other'), /no model 'other' in .* \(models: din-a\)/);
      assert.throws(() => parseModelRef('Din A'), ValidationError);
      assert.throws(() => parseModelRef('din@0'), /positive integer/);
      assert.throws(() => parseModelRef('din@stable'), /name@serving/);
      await assert.rejects(registry.promote('din-a', 7, { actor }), /has no version 7/);
    });
  });

  describe('promote, rollback and the audit log', () => {
    it('moves the alias, steps back through earlier serving versions, and logs who, when, from → to and why', async () => {
      const root = tempRegistry();
      await publishFakes(root, 'din-a', 4);
      const notifier = new RecordingNotifier();
      const registry = new ModelRegistry(root, { notifier });

      const first = await registry.promote('din-a', 1, { actor, reason: 'first' });
      assert.deepEqual([first.from, first.to, first.generation, first.changed], [null, 1, 1, true]);
      assert.deepEqual(first.notified, [{ sink: 'memory', status: 'sent', detail: 'recorded' }]);
      await registry.promote('din-a', 2, { actor, reason: 'better' });
      await registry.promote('din-a', 3, { actor: 'alice', reason: 'best' });

      const again = await registry.promote('din-a', 3, { actor });
      assert.equal(again.changed, false, 'promoting the serving version changes nothing');

      const back = await registry.rollback('din-a', { actor: 'bob', reason: 'v3 regressed' });
      assert.deepEqual([back.from, back.to], [3, 2]);
      assert.equal((await registry.resolve('din-a@serving')).version, 2);
      assert.equal((await registry.rollback('din-a', { actor })).to, 1);
      await assert.rejects(registry.rollback('din-a', { actor }), /v1 is the first serving version, there is nothing to roll back to/);

      // A promotion after rollbacks: rolling back returns to what served just before.
      await registry.promote('din-a', 4, { actor });
      assert.equal((await registry.rollback('din-a', { actor })).to, 1);

      const audit = await registry.history('din-a');
      assert.deepEqual(audit.map((e) => [e.action, e.from, e.to, e.actor, e.reason]), [
        ['promote', null, 1, actor, 'first'],
        ['promote', 1, 2, actor, 'better'],
        ['promote', 2, 3, 'alice', 'best'],
        ['rollback', 3, 2, 'bob', 'v3 regressed'],
        ['rollback', 2, 1, actor, ''],
        ['promote', 1, 4, actor, ''],
        ['rollback', 4, 1, actor, ''],
      ]);
      assert.ok(audit.every((e) => e.alias === 'serving' && typeof e.pid === 'number' && e.host && !Number.isNaN(Date.parse(e.at))));
      assert.deepEqual(audit.map((e) => e.generation), [1, 2, 3, 4, 5, 6, 7]);

      assert.deepEqual(notifier.events.map((e) => [e.kind, e.eventId, e.previous, e.version]), [
        ['promote', 'din-a:serving:g1', null, 1],
        ['promote', 'din-a:serving:g2', 1, 2],
        ['promote', 'din-a:serving:g3', 2, 3],
        ['rollback', 'din-a:serving:g4', 3, 2],
        ['rollback', 'din-a:serving:g5', 2, 1],
        ['promote', 'din-a:serving:g6', 1, 4],
        ['rollback', 'din-a:serving:g7', 4, 1],
      ]);
      const event = notifier.events[2]!;
      assert.deepEqual([event.model, event.modelType, event.artifactKind, event.metrics.auc, event.trainedUntil, event.actor, event.reason, event.registry],
        ['din-a', 'din', 'full', 0.73, 1_700_000_000_003, 'alice', 'best', root]);
    });

    it('publishes through the registry: a new version, an audit line and a publish event', async () => {
      const root = tempRegistry();
      const notifier = new RecordingNotifier();
      const registry = new ModelRegistry(root, { notifier });
      const { manifest } = await registry.publish({ model: 'stream', modelType: 'din', files: { 'a.bin': 'x' }, metrics: { auc: 0.8 }, extra: { parent: null, offsets: { 'recsys.events': { 0: 41 } } } }, { actor: 'trainer' });
      assert.equal(manifest.version, 1);
      assert.deepEqual((await registry.history('stream')).map((e) => [e.action, e.version, e.actor]), [['publish', 1, 'trainer']]);
      assert.deepEqual(notifier.events.map((e) => [e.kind, e.eventId, e.offsets]), [['publish', 'stream:v1:publish', { 'recsys.events': { 0: 41 } }]]);
      assert.equal(notifier.events[0]!.at, Date.parse(manifest.createdAt));
      // A version written by another writer (e.g. saveCtrModel) is announced the same way.
      await publishFakes(root, 'stream', 1);
      await registry.announce('stream', 2, { actor: 'trainer' });
      assert.deepEqual(notifier.events.map((e) => e.eventId), ['stream:v1:publish', 'stream:v2:publish']);
    });

    it('a failing notifier never fails or undoes the folder change', async () => {
      const root = tempRegistry();
      await publishFakes(root, 'din-a', 1);
      const registry = new ModelRegistry(root, { notifier: { notify: async () => { throw new Error('boom'); }, close: async () => {} } });
      const change = await registry.promote('din-a', 1, { actor });
      assert.deepEqual(change.notified, [{ sink: 'notifier', status: 'failed', detail: 'boom' }]);
      assert.equal((await registry.resolve('din-a@serving')).version, 1);
    });

    it('promotes only if serving is still the expected version (ifServing)', async () => {
      const root = tempRegistry();
      await publishFakes(root, 'din-a', 3);
      const registry = new ModelRegistry(root);
      await registry.promote('din-a', 1, { actor, ifServing: null });
      await assert.rejects(registry.promote('din-a', 3, { actor, ifServing: 2 }), (e: Error) => e instanceof AliasConflictError && /serving is v1, expected v2/.test(e.message));
      assert.equal((await registry.serving('din-a'))!.version, 1);
      assert.equal((await registry.promote('din-a', 3, { actor, ifServing: 1 })).to, 3);
    });
  });

  describe('corrupt, partial and incompatible artifacts are never promoted', () => {
    const refuses = async (registry: ModelRegistry, version: number, pattern: RegExp) => {
      await assert.rejects(registry.promote('din-a', version, { actor, reason: 'try' }), (e: Error) => {
        assert.ok(e instanceof ArtifactError, `${e.name}: ${e.message}`);
        assert.match(e.message, pattern);
        return true;
      });
    };

    it('refuses a tampered, deleted, truncated or foreign file and logs the refusal', async () => {
      const root = tempRegistry();
      const dirs = await publishFakes(root, 'din-a', 8);
      const registry = new ModelRegistry(root);
      await registry.promote('din-a', 1, { actor });

      flipFirstByte(path.join(dirs[1]!, 'dense.bin'));
      await refuses(registry, 2, /refusing to promote din-a v2: the artifact is corrupt: dense\.bin fails its sha256 check/);
      unlinkSync(path.join(dirs[2]!, 'model.json'));
      await refuses(registry, 3, /v3: the artifact is partial: model\.json is missing/);
      truncateSync(path.join(dirs[3]!, 'dense.bin'), 3);
      await refuses(registry, 4, /v4: the artifact is partial: dense\.bin has 3 bytes, manifest says 8/);
      editManifest(dirs[4]!, (m) => ({ ...m, formatVersion: 99 }));
      await refuses(registry, 5, /v5: the artifact is incompatible: artifact format version 99 is not supported \(this build reads 1\)/);
      editManifest(dirs[5]!, (m) => ({ ...m, kind: 'patch' }));
      await refuses(registry, 6, /v6: the artifact is incompatible: artifact kind "patch" is not supported/);
      unlinkSync(path.join(dirs[6]!, 'manifest.json'));
      await refuses(registry, 7, /v7: the artifact is partial: manifest\.json is missing/);
      // A version folder copied under another number.
      rmSync(dirs[7]!, { recursive: true });
      cpSync(dirs[0]!, dirs[7]!, { recursive: true });
      await refuses(registry, 8, /v8: the artifact is incompatible: manifest names din-a v1 but the folder is din-a v8/);

      assert.equal((await registry.resolve('din-a@serving')).version, 1, 'serving never moved');
      const refused = (await registry.history('din-a')).filter((e) => e.action === 'refused');
      assert.deepEqual(refused.map((e) => [e.version, e.from, e.to]), [2, 3, 4, 5, 6, 7, 8].map((v) => [v, 1, 1]));
      assert.match(refused[0]!.problems!.join(), /dense\.bin fails its sha256 check/);

      // Listing reports each state; a same-size tamper shows only when checksums are verified.
      const quick = await registry.listVersions('din-a');
      assert.deepEqual(quick.map((v) => v.status), ['ok', 'ok', 'partial', 'partial', 'incompatible', 'incompatible', 'partial', 'incompatible']);
      assert.equal((await registry.listVersions('din-a', { verify: true }))[1]!.status, 'corrupt');
      const shown = await registry.show('din-a@2');
      assert.equal(shown.status, 'corrupt');
      assert.deepEqual(shown.files.map((f) => [f.path, f.state]), [['dense.bin', 'checksum-mismatch'], ['model.json', 'ok']]);
    });

    it('refuses to roll back to a version that has since gone bad', async () => {
      const root = tempRegistry();
      const dirs = await publishFakes(root, 'din-a', 2);
      const registry = new ModelRegistry(root);
      await registry.promote('din-a', 1, { actor });
      await registry.promote('din-a', 2, { actor });
      flipFirstByte(path.join(dirs[0]!, 'model.json'));
      await assert.rejects(registry.rollback('din-a', { actor }), /refusing to roll back to din-a v1: the artifact is corrupt: model\.json fails its sha256 check/);
      assert.equal((await registry.serving('din-a'))!.version, 2);
    });

    it('verifies a delta version\'s whole parent chain', async () => {
      const root = tempRegistry();
      const dirs = await publishFakes(root, 'din-a', 3, (i) => (i === 1 ? {} : { parent: i - 1 }));
      const registry = new ModelRegistry(root);
      assert.deepEqual((await registry.listVersions('din-a')).map((v) => v.parent), [null, 1, 2]);
      flipFirstByte(path.join(dirs[0]!, 'dense.bin'));
      await refuses(registry, 3, /v3: the artifact is corrupt: parent v2 is corrupt: parent v1 is corrupt: dense\.bin fails its sha256 check/);
      renameSync(dirs[0]!, `${dirs[0]}-gone`);
      await refuses(registry, 2, /v2: the artifact is partial: parent v1 is not in the registry/);
    });
  });

  describe('concurrency', () => {
    it('concurrent promoters all commit, and the alias history is one unbroken chain', async () => {
      const root = tempRegistry();
      await publishFakes(root, 'din-a', 6);
      // Separate registry objects: no shared in-process state, only the folder.
      const results = await Promise.all(Array.from({ length: 24 }, (_, i) => new ModelRegistry(root).promote('din-a', (i % 6) + 1, { actor: `p${i}` })));
      const records = await readAliasHistory(path.join(root, 'din-a'), 'serving');
      assert.deepEqual(records.map((r) => r.generation), records.map((_, i) => i + 1), 'generations contiguous');
      records.forEach((r, i) => assert.equal(r.previous, i === 0 ? null : records[i - 1]!.version, `generation ${r.generation} starts where ${i} ended`));
      assert.equal(records.filter((r) => r.version === r.previous).length, 0);
      assert.equal(results.filter((r) => r.changed).length, records.length, 'every committed change is one record');
      assert.equal((await new ModelRegistry(root).serving('din-a'))!.version, records.at(-1)!.version);
      const audit = (await new ModelRegistry(root).history('din-a')).filter((e) => e.action === 'promote');
      assert.deepEqual(audit.map((e) => e.generation).sort((a, b) => a! - b!), records.map((r) => r.generation));
      assert.deepEqual(readdirSync(path.join(root, 'din-a', 'aliases', 'serving')).filter((f) => f.startsWith('.')), [], 'no temp files left');
    });
  });
});
