import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { flipFirstByte, publishFakes, tempRegistry } from '../../../helpers/registry-fixtures.js';
import { runNode } from '../../../helpers/run-node.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const NO_TF = fileURLToPath(new URL('../fixtures/fail-if-tensorflow.ts', import.meta.url));

/** Runs `recsys models ...` as a user would (bin/recsys.js), failing if TensorFlow gets loaded. */
function recsys(args: string[]) {
  return runNode(['--import', NO_TF, path.join(ROOT, 'bin/recsys.js'), 'models', ...args], { env: { LOG_LEVEL: 'error', RECSYS_ACTOR: 'cli-test' } });
}

describe('recsys models (CLI, no services, no TensorFlow)', function () {
  this.timeout(120_000);

  it('lists, promotes, rolls back, shows and refuses, with tables or --json', async () => {
    const registry = tempRegistry();
    const dirs = await publishFakes(registry, 'din-a', 3);
    const r = ['--registry', registry];

    const list = await recsys(['list', ...r, '--json']);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout).models.map((m: { model: string; latest: number }) => [m.model, m.latest]), [['din-a', 3]]);

    const promote = await recsys(['promote', 'din-a@2', ...r, '--reason', 'ship it', '--no-services']);
    assert.equal(promote.code, 0, promote.stderr);
    assert.match(promote.stdout, /din-a: serving - → v2 \(generation 1\)/);
    const latest = await recsys(['promote', 'din-a@latest', ...r, '--no-services', '--json']);
    assert.deepEqual((({ from, to, changed }) => ({ from, to, changed }))(JSON.parse(latest.stdout)), { from: 2, to: 3, changed: true });

    const table = await recsys(['list', 'din-a', ...r]);
    assert.match(table.stdout, /^version\s+serving\s+created\s+type\s+kind\s+parent\s+status\s+metrics/);
    assert.match(table.stdout, /v3\s+\*\s+\S+\s+din\s+full/);

    const rollback = await recsys(['rollback', 'din-a', ...r, '--reason', 'regression', '--no-services', '--json']);
    assert.deepEqual((({ from, to }) => ({ from, to }))(JSON.parse(rollback.stdout)), { from: 3, to: 2 });

    const show = await recsys(['show', 'din-a@serving', ...r, '--json']);
    const detail = JSON.parse(show.stdout);
    assert.deepEqual([detail.version, detail.status, detail.verified, detail.serving, detail.manifest.metrics.auc], [2, 'ok', true, true, 0.72]);

    flipFirstByte(path.join(dirs[0]!, 'dense.bin'));
    const refused = await recsys(['promote', 'din-a@1', ...r, '--no-services']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /recsys: refusing to promote din-a v1: the artifact is corrupt: dense\.bin fails its sha256 check/);

    const history = await recsys(['history', 'din-a', ...r, '--json']);
    assert.deepEqual(JSON.parse(history.stdout).entries.map((e: { action: string; actor: string }) => [e.action, e.actor]),
      [['promote', 'cli-test'], ['promote', 'cli-test'], ['rollback', 'cli-test'], ['refused', 'cli-test']]);

    const bare = await recsys(['promote', 'din-a', ...r]);
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /promote must name a version: din-a@<version> or din-a@latest/);
    const missing = await recsys(['show', 'nope@1', ...r]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no model 'nope'/);
  });

  it('gc removes the versions nothing needs and keeps the serving one', async () => {
    const registry = tempRegistry();
    await publishFakes(registry, 'din-g', 4);
    const r = ['--registry', registry];
    assert.equal((await recsys(['promote', 'din-g@2', ...r, '--no-services'])).code, 0);
    const dry = await recsys(['gc', 'din-g', '--keep', '1', '--dry-run', ...r, '--json']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(JSON.parse(dry.stdout).results[0].removed, [1, 3]);
    const gc = await recsys(['gc', '--keep', '1', ...r]);
    assert.equal(gc.code, 0, gc.stderr);
    assert.match(gc.stdout, /din-g: removed v1, v3; kept v2 \(alias serving, serving per the audit log\); v4 \(newest 1\)/);
    const list = await recsys(['list', 'din-g', ...r, '--json']);
    assert.deepEqual(JSON.parse(list.stdout).versions.map((v: { version: number }) => v.version), [2, 4]);
    const zero = await recsys(['gc', '--keep', '0', ...r]);
    assert.equal(zero.code, 2);
  });

  it('has --help on each subcommand', async () => {
    for (const sub of ['list', 'show', 'promote', 'rollback', 'history', 'gc']) {
      const help = await recsys([sub, '--help']);
      assert.equal(help.code, 0, `${sub}: ${help.stderr}`);
      assert.match(help.stdout, new RegExp(`Usage: recsys models ${sub}`));
      assert.match(help.stdout, /--registry <dir>/);
    }
  });
});
