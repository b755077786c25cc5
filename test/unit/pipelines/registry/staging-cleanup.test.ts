import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { publishFakes, tempRegistry } from '../../../helpers/registry-fixtures.js';

describe('registry: leftover staging folders', () => {
  it('a publish removes the staging folders of crashed writers, never one a live process is filling', async () => {
    const root = tempRegistry();
    await publishFakes(root, 'din', 1);
    const modelDir = path.join(root, 'din');
    const stage = (name: string, ageMs = 0) => {
      mkdirSync(path.join(modelDir, name));
      writeFileSync(path.join(modelDir, name, 'model.json'), '{}');
      const t = (Date.now() - ageMs) / 1000;
      utimesSync(path.join(modelDir, name), t, t);
    };
    const deadPid = 2 ** 22 + 12_345; // above Linux's pid_max: no such process
    stage(`.staging-${hostname()}-${deadPid}-aaaaaaaaaaaa`); // this host, process gone
    stage(`.staging-${hostname()}-${process.pid}-bbbbbbbbbbbb`); // this very process: in use
    stage('.staging-0123456789ab', 2 * 86_400_000); // old naming, two days old
    stage('.staging-otherhost-42-cccccccccccc'); // another host, fresh: may be in use
    await publishFakes(root, 'din', 1);
    const left = readdirSync(modelDir).filter((e) => e.startsWith('.staging-')).sort();
    assert.deepEqual(left, [`.staging-${hostname()}-${process.pid}-bbbbbbbbbbbb`, '.staging-otherhost-42-cccccccccccc'].sort());
    assert.ok(existsSync(path.join(modelDir, 'v000002')));
  });
});
