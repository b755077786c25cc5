import assert from 'node:assert/strict';
import path from 'node:path';
import { ModelRegistry } from '../../../../pipelines/registry/model-registry.js';
import { StreamTrainer } from '../../../../pipelines/streaming/stream-trainer.js';
import { smallStreamConfig, syntheticRecords, tempDir } from './stream-fixtures.js';

const NAME = 'stream-test';

/**
 * Without publish.autoPromote a streaming publish adds a version and an audit
 * "publish" entry; it never creates or moves the serving alias (a person
 * promotes). Serving's own fallback to name@latest when no alias exists is
 * `recsys serve`'s concern (--allow-latest), not the publisher's.
 */
describe('streaming publish without auto-promote', function () {
  this.timeout(120_000);
  const records = syntheticRecords();

  it('never creates or moves the serving alias, full or delta', async () => {
    const dir = tempDir();
    const registry = new ModelRegistry(path.join(dir, 'registry'));
    const config = smallStreamConfig(dir);
    assert.equal(config.publish.autoPromote, undefined);
    const trainer = await StreamTrainer.open(config, { registry, topic: 'events', checkpointDir: config.checkpoint.dir! });
    try {
      trainer.consume(records.slice(0, 1000));
      const v1 = await trainer.publish();
      assert.equal(v1.promoted, false);
      assert.equal(await registry.serving(NAME), null, 'the first version is not made serving');

      await registry.promote(NAME, v1.version, { actor: 'reviewer', reason: 'reviewed' });
      trainer.consume(records.slice(1000, 2000));
      const v2 = await trainer.publish();
      trainer.consume(records.slice(2000));
      const v3 = await trainer.publish();
      assert.deepEqual([v2.kind, v3.kind, v2.promoted, v3.promoted], ['delta', 'delta', false, false]);
      assert.equal((await registry.serving(NAME))?.version, v1.version, 'serving stays where the reviewer put it');
      assert.equal((await registry.resolve(`${NAME}@serving`)).version, v1.version);

      const history = await registry.history(NAME);
      assert.deepEqual(history.map((e) => [e.action, e.version, e.actor]), [
        ['publish', 1, 'train-stream'], ['promote', 1, 'reviewer'], ['publish', 2, 'train-stream'], ['publish', 3, 'train-stream'],
      ]);
      assert.ok(history.filter((e) => e.action === 'publish').every((e) => e.alias === null && e.from === e.to), 'a publish entry changes no alias');
    } finally {
      trainer.dispose();
    }
  });
});
