import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRng } from '../../../../features/math/rng.js';
import { runNode } from '../../../helpers/run-node.js';

const ROOT = path.resolve(import.meta.dirname, '../../../..');

function recsys(args: string[]) {
  return runNode([path.join(ROOT, 'bin/recsys.js'), ...args], { cwd: ROOT });
}

const lastJson = (stdout: string): Record<string, any> => JSON.parse(stdout.trim().split('\n').at(-1)!); // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * A Frappe-like libFM dataset made here (none is committed): four
 * categorical fields at fixed positions (user, item, daytime, weekday) with
 * global indices, labels −1/1 drawn from additive per-value effects, so a
 * linear model can learn it.
 */
function libfm(rows: number, seed: number, effects: Float64Array[]): string {
  const rng = createRng(seed);
  const sizes = [50, 100, 3, 7];
  const lines: string[] = [];
  for (let r = 0; r < rows; r++) {
    let offset = 0;
    let logit = -0.2;
    const entries: string[] = [];
    sizes.forEach((n, f) => {
      const v = rng.int(n);
      logit += effects[f]![v]!;
      entries.push(`${offset + v}:1`);
      offset += n;
    });
    lines.push(`${rng.next() < 1 / (1 + Math.exp(-logit)) ? 1 : -1} ${entries.join(' ')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A CSV with a behaviour-sequence column: a user clicks items of the group (item id mod 4) their history shows far more often. */
function sequenceCsv(rows: number, seed: number): string {
  const rng = createRng(seed);
  const lines = ['user_id,item_id,history,click'];
  for (let r = 0; r < rows; r++) {
    const user = rng.int(200);
    const group = user % 4;
    const history = Array.from({ length: 1 + rng.int(8) }, () => `i${group + 4 * rng.int(5)}`);
    const item = rng.int(20);
    const p = item % 4 === group ? 0.7 : 0.1;
    lines.push(`u${user},i${item},${history.join('|')},${rng.next() < p ? 1 : 0}`);
  }
  return `${lines.join('\n')}\n`;
}

describe('your own files through the CLI: data inspect, train with given splits, eval --file', function () {
  this.timeout(240_000);
  let dir: string;
  before(async () => { dir = await mkdtemp(path.join(tmpdir(), 'table-train-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('a libFM dataset with its own train/validation/test files trains LR and DNN; eval --file scores the test file', async () => {
    const rng = createRng(7);
    const effects = [50, 100, 3, 7].map((n) => Float64Array.from({ length: n }, () => rng.normal() * 0.9));
    await writeFile(path.join(dir, 'train.libfm'), libfm(4000, 1, effects));
    await writeFile(path.join(dir, 'validation.libfm'), libfm(800, 2, effects));
    await writeFile(path.join(dir, 'test.libfm'), libfm(800, 3, effects));

    const inspect = await recsys(['data', 'inspect', path.join(dir, 'train.libfm'), '--name', 'frappe']);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.match(inspect.stdout, /label label \(map "signed"\)/);
    const spec = JSON.parse(await readFile(path.join(dir, 'frappe.features.json'), 'utf8')) as { fields: { kind: string; source: string }[] };
    assert.deepEqual(spec.fields.map((f) => [f.kind, f.source]), [['categorical', 'context.f0'], ['categorical', 'context.f1'], ['categorical', 'context.f2'], ['categorical', 'context.f3']]);
    const config = JSON.parse(await readFile(path.join(dir, 'frappe.train.json'), 'utf8'));
    delete config.source.file;
    config.source.files = { train: 'train.libfm', validation: 'validation.libfm', test: 'test.libfm' };
    const registry = path.join(dir, 'registry');
    const results: Record<string, { auc: number }> = {};
    for (const type of ['lr', 'dnn']) {
      const file = path.join(dir, `${type}.train.json`);
      await writeFile(file, JSON.stringify({ ...config, name: `frappe-${type}`, model: { type, seed: 1, ...(type === 'lr' ? { learningRate: 0.01, embeddingLearningRate: 0.05 } : { embeddingLearningRate: 0.005 }) } }));
      const run = await recsys(['train', '--config', file, '--registry', registry, '--json']);
      assert.equal(run.code, 0, run.stderr.slice(-3000));
      const summary = lastJson(run.stdout);
      assert.deepEqual([summary.split.train, summary.split.validation, summary.split.test], [4000, 800, 800], 'the given files, as given');
      assert.match(summary.split.description, /^given files: train .*train\.libfm, validation .*validation\.libfm, test .*test\.libfm$/);
      assert.match(run.stderr, /given files: .*: 4000 train, 800 validation, 800 test examples/, 'the split is printed at the start');
      results[type] = summary.test;
    }
    for (const [type, test] of Object.entries(results)) assert.ok(test.auc > 0.65, `${type} test AUC ${test.auc}`);

    const evaluated = await recsys(['eval', '--model', 'frappe-dnn', '--registry', registry, '--file', path.join(dir, 'test.libfm')]);
    assert.equal(evaluated.code, 0, evaluated.stderr.slice(-3000));
    const result = lastJson(evaluated.stdout);
    assert.equal(result.split, 'file');
    assert.equal(result.metrics.examples, 800);
    assert.match(result.scored, /all 800 rows of .*test\.libfm/);
    assert.ok(Math.abs(result.metrics.auc - results.dnn!.auc) < 1e-6, 'the same rows the training run tested on');
  });

  it('a CSV with a behaviour-sequence column trains DIN; DIN without one is refused before any data is read', async () => {
    await writeFile(path.join(dir, 'seq-train.csv'), sequenceCsv(3000, 4));
    await writeFile(path.join(dir, 'seq-valid.csv'), sequenceCsv(600, 5));
    await writeFile(path.join(dir, 'seq-test.csv'), sequenceCsv(600, 6));
    const inspect = await recsys(['data', 'inspect', path.join(dir, 'seq-train.csv'), '--sequence', 'history=|', '--name', 'seq']);
    assert.equal(inspect.code, 0, inspect.stderr);
    const config = JSON.parse(await readFile(path.join(dir, 'seq.train.json'), 'utf8'));
    delete config.source.file;
    config.source.files = { train: 'seq-train.csv', validation: 'seq-valid.csv', test: 'seq-test.csv' };
    const file = path.join(dir, 'din.train.json');
    await writeFile(file, JSON.stringify({ ...config, name: 'seq-din', model: { type: 'din', seed: 1, embeddingLearningRate: 0.01 } }));
    const run = await recsys(['train', '--config', file, '--registry', path.join(dir, 'registry'), '--json']);
    assert.equal(run.code, 0, run.stderr.slice(-3000));
    const summary = lastJson(run.stdout);
    assert.deepEqual([summary.split.train, summary.split.validation, summary.split.test], [3000, 600, 600]);
    assert.ok(summary.test.auc > 0.6, `DIN test AUC ${summary.test.auc}`);

    const spec = JSON.parse(await readFile(path.join(dir, 'seq.features.json'), 'utf8'));
    const flat = path.join(dir, 'flat.features.json');
    await writeFile(flat, JSON.stringify({ ...spec, behaviour: undefined, fields: spec.fields.filter((f: { kind: string }) => f.kind !== 'sequence') }));
    const noSequence = path.join(dir, 'din-flat.train.json');
    await writeFile(noSequence, JSON.stringify({ ...config, name: 'flat-din', features: 'flat.features.json', model: { type: 'din' } }));
    const refused = await recsys(['train', '--config', noSequence, '--registry', path.join(dir, 'registry')]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /DIN attends over the user's behaviour sequence, and feature spec seq has none/);
  });
});
