import assert from 'node:assert/strict';
import path from 'node:path';
import { mulberry32 } from '../../../features/math/mulberry32.js';
import { nativeTables } from '../../../infra/native-tables.js';
import type { TableKernels } from '../../../infra/native-tables.js';
import { doctorWithout, runNode } from '../../helpers/run-node.js';

const HUGE_PAGE = 2 ** 21;

function kernels(): TableKernels {
  assert.ok(nativeTables.kernels, `table kernels not loaded: ${nativeTables.reason}`);
  return nativeTables.kernels;
}

describe('our table kernels (native/tables, build/native/recsys_tables.node)', () => {
  it('are built and loaded (npm run setup builds them)', () => {
    assert.equal(nativeTables.reason, undefined);
    assert.equal(typeof kernels().sparseAdam, 'function');
  });

  it('sparseAdam writes the floats of the Adam formula computed in JavaScript doubles, bit for bit', () => {
    const random = mulberry32(9);
    for (const [dim, decay] of [[16, 0], [5, 0.01]] as const) {
      const rows = 300;
      const weights = Float32Array.from({ length: rows * dim }, () => random() - 0.5);
      const m = Float32Array.from({ length: rows * dim }, () => (random() - 0.5) * 0.1);
      const v = Float32Array.from({ length: rows * dim }, () => random() * 0.01);
      const unique = Int32Array.from([299, 0, 17, 150, 3, 298, 42]);
      const grad = Float32Array.from({ length: unique.length * dim }, (_, i) => (i % 13 === 0 ? 0 : (random() - 0.5) * 3));
      const [stepSize, mix1, mix2, epsilon] = [0.001 * Math.sqrt(1 - 0.999 ** 3) / (1 - 0.9 ** 3), 1 - 0.9, 1 - 0.999, 1e-8];
      const expected = { weights: weights.slice(), m: m.slice(), v: v.slice() };
      unique.forEach((row, k) => {
        for (let j = 0; j < dim; j++) {
          const i = row * dim + j;
          const w = expected.weights[i]!;
          const g = grad[k * dim + j]! + decay * w;
          const mi = expected.m[i]! + mix1 * (g - expected.m[i]!);
          const vi = expected.v[i]! + mix2 * (g * g - expected.v[i]!);
          expected.m[i] = mi;
          expected.v[i] = vi;
          expected.weights[i] = w - (stepSize * mi) / (Math.sqrt(vi) + epsilon);
        }
      });
      kernels().sparseAdam(weights, m, v, unique, grad, dim, stepSize, mix1, mix2, epsilon, decay);
      assert.deepEqual(weights, expected.weights, `weights, dim ${dim}`);
      assert.deepEqual(m, expected.m, `m, dim ${dim}`);
      assert.deepEqual(v, expected.v, `v, dim ${dim}`);
    }
  });

  it('copyRows copies each row of unique in order', () => {
    const weights = Float32Array.from({ length: 40 * 3 }, (_, i) => i + 0.5);
    const out = new Float32Array(4 * 3);
    kernels().copyRows(weights, Int32Array.from([39, 0, 7, 39]), 3, out);
    assert.deepEqual(Array.from(out), [117.5, 118.5, 119.5, 0.5, 1.5, 2.5, 21.5, 22.5, 23.5, 117.5, 118.5, 119.5]);
  });

  it('dedupeRows lists distinct rows in order of first appearance and leaves its hash empty', () => {
    const random = mulberry32(4);
    const rowOf = Int32Array.from({ length: 5_000 }, () => Math.floor(random() ** 4 * 1e7));
    const keys = new Int32Array(16_384).fill(-1);
    const slots = new Int32Array(16_384);
    const unique = new Int32Array(5_000);
    const inverse = new Int32Array(5_000);
    const count = kernels().dedupeRows(rowOf, 4_000, keys, slots, unique, inverse);
    const firstSeen = [...new Set(rowOf.subarray(0, 4_000))];
    assert.ok(count > 100 && count < 4_000, `${count} distinct`);
    assert.deepEqual(Array.from(unique.subarray(0, count)), firstSeen);
    rowOf.subarray(0, 4_000).forEach((row, i) => assert.equal(unique[inverse[i]!], row, `position ${i}`));
    assert.equal(inverse[4_000], 0, 'nothing past count written');
    assert.deepEqual(keys, new Int32Array(16_384).fill(-1));
    assert.throws(() => kernels().dedupeRows(rowOf, 4_000, keys.subarray(0, 4_096), slots.subarray(0, 4_096), unique, inverse), /power-of-two length ≥ 2·count/);
    assert.throws(() => kernels().dedupeRows(rowOf, 6_000, keys, slots, unique, inverse), /count must be a whole number ≤/);
  });

  it('refuse a row outside the table, wrong array types and short outputs, writing nothing', () => {
    const weights = new Float32Array(10 * 2).fill(1);
    const m = new Float32Array(20);
    const v = new Float32Array(20);
    const grad = new Float32Array(4).fill(1);
    for (const bad of [Int32Array.from([1, 10]), Int32Array.from([-1, 2])]) {
      assert.throws(() => kernels().sparseAdam(weights, m, v, bad, grad, 2, 0.1, 0.1, 0.001, 1e-8, 0), /sparseAdam: a row of unique is outside the table/);
      assert.throws(() => kernels().copyRows(weights, bad, 2, new Float32Array(4)), /copyRows: a row of unique is outside the table/);
    }
    assert.deepEqual(weights, new Float32Array(20).fill(1));
    assert.deepEqual(m, new Float32Array(20));
    assert.throws(() => kernels().copyRows(weights, Int32Array.from([1, 2]), 2, new Float32Array(3)), /out must hold unique.length × dim floats/);
    assert.throws(() => kernels().sparseAdam(weights, m, v, Int32Array.from([1, 2]), new Float32Array(3), 2, 0.1, 0.1, 0.001, 1e-8, 0), /grad must hold/);
    assert.throws(() => kernels().copyRows(weights, Float32Array.from([1]) as unknown as Int32Array, 2, new Float32Array(2)), /unique must be an Int32Array/);
    assert.throws(() => kernels().adviseHugePages(new Int32Array(4) as unknown as Float32Array), /array must be a Float32Array/);
    for (const dim of [0, -2, 1.5, Number.NaN]) {
      assert.throws(() => kernels().copyRows(weights, Int32Array.from([1]), dim, new Float32Array(4)), /dim must be a whole number/, String(dim));
      assert.throws(() => kernels().sparseAdam(weights, m, v, Int32Array.from([1]), grad, dim, 0.1, 0.1, 0.001, 1e-8, 0), /dim must be a whole number/, String(dim));
    }
    for (const count of [-1, 2.5, Number.NaN]) {
      assert.throws(() => kernels().dedupeRows(Int32Array.from([1, 2, 3]), count, new Int32Array(8).fill(-1), new Int32Array(8), new Int32Array(3), new Int32Array(3)), /count must be a whole number/, String(count));
    }
  });

  it('adviseHugePages advises the whole 2 MB pages inside the array (none in a small one)', () => {
    assert.equal(kernels().adviseHugePages(new Float32Array(1024)), 0);
    for (const array of [new Float32Array(3 * HUGE_PAGE / 4 + 123), new Float32Array(new SharedArrayBuffer(5 * HUGE_PAGE))]) {
      const advised = kernels().adviseHugePages(array);
      assert.equal(advised % HUGE_PAGE, 0);
      assert.ok(advised >= array.byteLength - 2 * HUGE_PAGE && advised <= array.byteLength, `${advised} of ${array.byteLength} bytes`);
    }
  });
});

describe('without our table kernels', () => {
  it('a table trains to the same weights and Adam moments, bit for bit (two threads, weight decay)', async function () {
    this.timeout(60_000);
    const fixture = path.join(import.meta.dirname, 'fixtures/table-both-ways.ts');
    const [native, js] = await Promise.all([runNode([fixture]), runNode([fixture], { env: { RECSYS_NATIVE_TABLES: '0' } })]);
    assert.equal(native.code, 0, native.stderr);
    assert.equal(js.code, 0, js.stderr);
    const a = JSON.parse(native.stdout) as Record<string, unknown>;
    const b = JSON.parse(js.stdout) as Record<string, unknown>;
    assert.equal(a.native, true);
    assert.equal(b.native, false);
    assert.notDeepEqual(a.sample, a.initial, 'the table trained');
    assert.deepEqual({ ...a, native: null }, { ...b, native: null });
  });

  it('recsys doctor reports them missing with the fix, and exits 1', async function () {
    this.timeout(60_000);
    const run = await doctorWithout('recsys_tables.node', 'simulated missing table kernels');
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /FAIL\s+our tables\s+.*simulated missing table kernels.*build-native-ops\.sh/);
    assert.match(run.stdout, /ok\s+our ops/);
  });
});
