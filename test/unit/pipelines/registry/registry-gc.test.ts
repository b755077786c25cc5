import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { writeArtifact } from '../../../../models/artifact/write-artifact.js';
import { ModelRegistry } from '../../../../pipelines/registry/model-registry.js';
import { collectGarbage } from '../../../../pipelines/registry/registry-gc.js';
import { publishFakes, tempRegistry } from '../../../helpers/registry-fixtures.js';

const delta = (registry: string, model: string, parent: number) => writeArtifact(registry, {
  model, modelType: 'din', kind: 'delta', files: { 'delta.bin': new Uint8Array([parent, 1, 2]) }, trainedUntil: 1_700_000_000_000, extra: { parent },
});
const versionsOn = (registry: string, model: string) => readdirSync(path.join(registry, model)).filter((e) => /^v\d{6}$/.test(e)).map((e) => Number(e.slice(1))).sort((a, b) => a - b);

describe('registry gc', () => {
  it('gc --keep 1 never removes a delta\'s parent chain, an alias\'s version or its rollback history', async () => {
    const root = tempRegistry();
    const registry = new ModelRegistry(root);
    await publishFakes(root, 'din', 4); // v1..v4 full
    await registry.promote('din', 1, { actor: 't' });
    await registry.promote('din', 3, { actor: 't' }); // serving v3, rollback history [1]
    await delta(root, 'din', 2); // v5 = delta on v2
    await delta(root, 'din', 5); // v6 = delta on v5: the newest, chain 6 → 5 → 2

    const dry = await collectGarbage(registry, 'din', { keep: 1, dryRun: true });
    assert.deepEqual(dry.removed, [4]);
    assert.deepEqual(versionsOn(root, 'din'), [1, 2, 3, 4, 5, 6], 'a dry run removes nothing');

    const result = await collectGarbage(registry, 'din', { keep: 1, actor: 't' });
    assert.deepEqual(result.removed, [4]);
    assert.deepEqual(versionsOn(root, 'din'), [1, 2, 3, 5, 6]);
    assert.deepEqual(Object.fromEntries(result.kept.map((k) => [k.version, k.reasons])), {
      1: ['serving rollback history'], 2: ['parent of v5'], 3: ['alias serving', 'serving per the audit log'], 5: ['parent of v6'], 6: ['newest 1'],
    });
    // Whatever was kept still verifies, chain included, and rollback still works.
    assert.equal((await registry.check('din', 6)).status, 'ok');
    assert.equal((await registry.rollback('din', { actor: 't' })).to, 1);
    assert.ok((await registry.history('din')).some((e) => e.action === 'delete' && e.version === 4));
    assert.ok(!readdirSync(path.join(root, 'din')).some((e) => e.startsWith('.deleted-')), 'no trash left behind');
  });

  it('gc refuses --keep 0 (the newest version always stays, so numbers are never reused)', async () => {
    const root = tempRegistry();
    await publishFakes(root, 'din', 2);
    await assert.rejects(collectGarbage(new ModelRegistry(root), 'din', { keep: 0 }), /--keep must be an integer of at least 1/);
  });
});
