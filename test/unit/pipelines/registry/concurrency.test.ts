import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { AliasConflictError } from '../../../../pipelines/registry/registry-errors.js';
import { aliasDir, commitAlias, readAlias, readAliasHistory } from '../../../../pipelines/registry/alias-store.js';
import { ModelRegistry } from '../../../../pipelines/registry/model-registry.js';
import { publishFakes, tempRegistry } from '../../../helpers/registry-fixtures.js';
import { waitFor } from '../../../helpers/wait-for.js';

const run = promisify(execFile);
const PROMOTER = fileURLToPath(new URL('./fixtures/promote-many.ts', import.meta.url));

describe('model registry under concurrent writers', function () {
  this.timeout(120_000);

  it('a second commit of the same generation fails and writes nothing (compare-and-swap)', async () => {
    const modelDir = path.join(tempRegistry(), 'din-a');
    const record = { alias: 'serving', generation: 1, version: 1, previous: null, action: 'promote' as const, at: new Date().toISOString(), actor: 'a', reason: '', history: [] };
    await commitAlias(modelDir, record);
    await assert.rejects(commitAlias(modelDir, { ...record, version: 2, actor: 'b' }), AliasConflictError);
    assert.deepEqual([(await readAlias(modelDir, 'serving'))!.version, (await readAliasHistory(modelDir, 'serving')).length], [1, 1]);
  });

  it('a rollback that loses a race to another change is refused, not applied on top', async () => {
    const root = tempRegistry();
    await publishFakes(root, 'din-a', 3);
    await new ModelRegistry(root).promote('din-a', 1, { actor: 'a' });
    await new ModelRegistry(root).promote('din-a', 2, { actor: 'a' });
    let intruded = false;
    // Another process promotes v3 between this rollback reading the alias and committing.
    const now = () => {
      if (!intruded) {
        intruded = true;
        writeFileSync(path.join(aliasDir(path.join(root, 'din-a'), 'serving'), '00000003.json'), JSON.stringify({
          alias: 'serving', generation: 3, version: 3, previous: 2, action: 'promote', at: new Date().toISOString(), actor: 'other', reason: '', history: [1, 2],
        }));
      }
      return new Date();
    };
    await assert.rejects(new ModelRegistry(root, { now }).rollback('din-a', { actor: 'b' }), /not rolled back: the serving alias of din-a changed while rolling back from v2/);
    assert.equal((await new ModelRegistry(root).serving('din-a'))!.version, 3);
  });

  it('several processes promoting at once leave one unbroken history, every change audited', async () => {
    const root = tempRegistry();
    await publishFakes(root, 'din-a', 5);
    const processes = 3;
    const rounds = 30;
    const barrier = mkdtempSync(path.join(tmpdir(), 'barrier-'));
    const children = Array.from({ length: processes }, (_, p) =>
      run(process.execPath, ['--import', 'tsx', PROMOTER, root, 'din-a', String(rounds), '5', `proc${p}`, barrier], { env: { ...process.env, LOG_LEVEL: 'error' } }));
    // All start promoting at once, after their (slow) start-up.
    await waitFor(() => readdirSync(barrier).length === processes, { timeoutMs: 90_000, what: 'promoter processes to start' });
    writeFileSync(path.join(barrier, 'go'), '');
    const outputs = await Promise.all(children);
    const changed = outputs.reduce((sum, o) => sum + (JSON.parse(o.stdout.trim()) as { changed: number }).changed, 0);

    const records = await readAliasHistory(path.join(root, 'din-a'), 'serving');
    assert.equal(records.length, changed, 'each committed change is exactly one record');
    assert.deepEqual(records.map((r) => r.generation), records.map((_, i) => i + 1));
    records.forEach((r, i) => assert.equal(r.previous, i === 0 ? null : records[i - 1]!.version, `generation ${r.generation}: from must be the previous record's version`));
    const switches = records.filter((r, i) => i > 0 && r.actor !== records[i - 1]!.actor).length;
    assert.ok(switches >= processes, `the processes' changes interleave (${switches} switches between writers)`);
    const audit = (await new ModelRegistry(root).history('din-a')).filter((e) => e.action === 'promote');
    assert.equal(audit.length, changed, 'one intact audit line per change');
    assert.deepEqual(audit.map((e) => e.generation).sort((a, b) => a! - b!), records.map((r) => r.generation));
  });
});
