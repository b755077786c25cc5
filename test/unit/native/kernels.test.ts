import assert from 'node:assert/strict';
import path from 'node:path';
import { runNativeOp, runNativeOpOutputs } from '../../../features/embedding/index.js';
import { mulberry32 } from '../../../features/math/mulberry32.js';
import { scatterRowGradient } from '../../../features/embedding/tf/row-kernels.js';
import { customOps, tf } from '../../../infra/tf.js';
import { doctorWithout, runNode } from '../../helpers/run-node.js';

type Tensor = ReturnType<typeof tf.tensor>;

/** Random values with exact zeros and both signs; α spans negative, (0, 1) and > 1. */
function inputs(rows: number, units: number, seed: number): { z: Float32Array; dy: Float32Array; alpha: Float32Array } {
  const random = mulberry32(seed);
  const z = Float32Array.from({ length: rows * units }, (_, i) => (i % 11 === 0 ? 0 : (random() - 0.5) * 4));
  const dy = Float32Array.from({ length: rows * units }, () => random() - 0.5);
  const alpha = Float32Array.from({ length: units }, (_, j) => [-0.3, 0.25, 0.7, 1.6][j % 4]!);
  return { z, dy, alpha };
}

describe('our PReLU kernels (native, RecsysPRelu / RecsysPReluGrad)', () => {
  it('are built and loaded (npm run setup builds them)', () => {
    assert.equal(customOps.loaded, true, customOps.reason);
  });

  for (const [rows, units, shape] of [[300, 80, [300, 80]], [33, 7, [33, 7]], [4, 40, [2, 2, 40]], [1, 3, [3]]] as const) {
    it(`${shape.join('×')}: y and dz equal z·slope and dy·slope exactly; dα equals Σ dy·min(z, 0) in double`, () => {
      const { z, dy, alpha } = inputs(rows, units, rows + units);
      const [y, dz, dalpha] = tf.tidy(() => {
        const zt = tf.tensor(z, [...shape]);
        const at = tf.tensor1d(alpha);
        const forward = runNativeOp('RecsysPRelu', () => [], [zt, at])!;
        const [g, ga] = runNativeOpOutputs('RecsysPReluGrad', () => [], [tf.tensor(dy, [...shape]), zt, at], 2)!;
        return [forward, g!, ga!] as Tensor[];
      });
      assert.deepEqual(y!.shape, [...shape]);
      assert.deepEqual(dz!.shape, [...shape]);
      assert.deepEqual(dalpha!.shape, [units]);
      const ys = y!.dataSync();
      const dzs = dz!.dataSync();
      const expectedAlpha = new Float64Array(units);
      for (let i = 0; i < z.length; i++) {
        const j = i % units;
        const slope = z[i]! > 0 ? 1 : alpha[j]!;
        // === and not Object.is: at z = 0 the kernel may give +0 where z·α is -0.
        assert.ok(ys[i] === Math.fround(z[i]! * slope), `y[${i}] ${ys[i]} vs ${z[i]! * slope}`);
        assert.ok(dzs[i] === Math.fround(dy[i]! * slope), `dz[${i}] ${dzs[i]} vs ${dy[i]! * slope}`);
        if (z[i]! <= 0) expectedAlpha[j]! += Math.fround(dy[i]! * z[i]!);
      }
      const got = dalpha!.dataSync();
      for (let j = 0; j < units; j++) assert.ok(Math.abs(got[j]! - expectedAlpha[j]!) <= 1e-5 * (1 + Math.abs(expectedAlpha[j]!)), `dα[${j}] ${got[j]} vs ${expectedAlpha[j]}`);
      tf.dispose([y!, dz!, dalpha!]);
    });
  }

  it('refuse mismatched shapes and dtypes with TensorFlow InvalidArgument and a message', () => {
    tf.tidy(() => {
      const z = tf.zeros([4, 8]);
      assert.throws(() => runNativeOp('RecsysPRelu', () => [], [z, tf.zeros([7])]), /alpha must be 1-D with z's last dimension/);
      assert.throws(() => runNativeOp('RecsysPRelu', () => [], [z, tf.zeros([2, 4])]), /alpha must be 1-D/);
      assert.throws(() => runNativeOpOutputs('RecsysPReluGrad', () => [], [tf.zeros([3, 8]), z, tf.zeros([8])], 2), /dy must be float32 and the same size as z/);
    });
  });
});

describe('without our kernels (PReLU, Dice, the attention unit\'s pair input, the gather gradient)', () => {
  const fixture = path.join(import.meta.dirname, 'fixtures/kernels-both-ways.ts');
  interface Run {
    loaded: boolean; y: number[]; inference: number[]; dz: number[]; dalpha: number[]; pairs: number[]; blockProducts: number[]; blockTerms: number[]; dq: number[]; dk: number[];
    diceY: number[]; diceDz: number[]; diceDalpha: number[]; diceMean: number[]; diceVariance: number[]; diceInference: number[]; diceInference3d: number[]; gatherGrad: number[];
  }
  /** Within `rel` of each other, relative to the larger magnitude in the array (sums taken in another order). */
  const close = (a: number[], b: number[], rel: number, what: string) => {
    assert.equal(a.length, b.length, what);
    const scale = Math.max(...a.map(Math.abs), 1e-30);
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) <= rel * scale, `${what}[${i}] ${v} vs ${b[i]}`));
  };

  it('TensorFlow\'s ops compose the same values as the kernels', async function () {
    this.timeout(60_000);
    const [withOps, without] = await Promise.all([runNode([fixture]), runNode([fixture], { env: { HIDE_RECSYS_OPS: '1' } })]);
    assert.equal(withOps.code, 0, withOps.stderr);
    assert.equal(without.code, 0, without.stderr);
    const a = JSON.parse(withOps.stdout) as Run;
    const b = JSON.parse(without.stdout) as Run;
    assert.equal(a.loaded, true);
    assert.equal(b.loaded, false);
    assert.deepEqual(a.y, b.y);
    assert.deepEqual(a.inference, b.inference);
    assert.deepEqual(a.dz, b.dz);
    a.dalpha.forEach((v, j) => assert.ok(Math.abs(v - b.dalpha[j]!) <= 1e-5 * (1 + Math.abs(v)), `dα[${j}] ${v} vs ${b.dalpha[j]}`));
    assert.equal(a.pairs.length, 50 * 12);
    assert.deepEqual(a.pairs, b.pairs);
    assert.deepEqual(a.dq, b.dq);
    assert.deepEqual(a.dk, b.dk);
    assert.equal(a.blockProducts.length, 30 * 4);
    assert.deepEqual(a.blockProducts, b.blockProducts);
    assert.equal(a.blockTerms.length, 30 * 3);
    assert.deepEqual(a.blockTerms, b.blockTerms);
    assert.equal(a.gatherGrad.length, 9 * 4);
    assert.deepEqual(a.gatherGrad, b.gatherGrad);
    // Dice's kernels sum in double and take exp four lanes at a time: close, not equal.
    close(a.diceY, b.diceY, 1e-5, 'Dice y');
    close(a.diceDz, b.diceDz, 1e-4, 'Dice dz');
    close(a.diceDalpha, b.diceDalpha, 1e-4, 'Dice dα');
    close(a.diceMean, b.diceMean, 1e-5, 'Dice moving mean');
    close(a.diceVariance, b.diceVariance, 1e-5, 'Dice moving variance');
    close(a.diceInference, b.diceInference, 1e-5, 'Dice inference');
    assert.deepEqual(a.diceInference3d, a.diceInference);
  });

  it('recsys doctor reports them missing with the fix, and exits 1', async function () {
    this.timeout(60_000);
    const run = await doctorWithout('recsys_ops.node', 'simulated missing kernels');
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /FAIL\s+our ops\s+.*simulated missing kernels.*build-native-ops\.sh/);
    assert.match(run.stdout, /ok\s+tensorflow/);
  });
});

describe('our pair-input kernels (RecsysPairsInput / RecsysPairsInputGrad)', () => {
  it('build [q, k, q⊙k] and its gradient exactly as the formulas, element by element', () => {
    const random = mulberry32(5);
    const [n, d] = [37, 5];
    const values = (count: number) => Float32Array.from({ length: count }, () => (random() - 0.5) * 3);
    const q = values(n * d);
    const k = values(n * d);
    const dx = values(n * 3 * d);
    const extra = values(n * d);
    const [x, dq, dk] = tf.tidy(() => {
      const qt = tf.tensor2d(q, [n, d]);
      const kt = tf.tensor2d(k, [n, d]);
      const forward = runNativeOp('RecsysPairsInput', () => [], [qt, kt])!;
      const [a, b] = runNativeOpOutputs('RecsysPairsInputGrad', () => [], [tf.tensor2d(dx, [n, 3 * d]), qt, kt, tf.tensor2d(extra, [n, d])], 2)!;
      return [forward, a!, b!];
    });
    assert.deepEqual(x.shape, [n, 3 * d]);
    const xs = x.dataSync();
    const dqs = dq.dataSync();
    const dks = dk.dataSync();
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) {
        const o = i * d + j;
        const g = i * 3 * d;
        assert.equal(xs[g + j], q[o]);
        assert.equal(xs[g + d + j], k[o]);
        assert.equal(xs[g + 2 * d + j], Math.fround(q[o]! * k[o]!));
        assert.equal(dqs[o], Math.fround(dx[g + j]! + Math.fround(dx[g + 2 * d + j]! * k[o]!)));
        assert.equal(dks[o], Math.fround(Math.fround(dx[g + d + j]! + Math.fround(dx[g + 2 * d + j]! * q[o]!)) + extra[o]!));
      }
    }
    tf.dispose([x, dq, dk]);
  });

  it('refuse mismatched shapes with a message', () => {
    tf.tidy(() => {
      assert.throws(() => runNativeOp('RecsysPairsInput', () => [], [tf.zeros([4, 3]), tf.zeros([4, 2])]), /q and k must be float32 matrices of one shape/);
      assert.throws(() => runNativeOpOutputs('RecsysPairsInputGrad', () => [], [tf.zeros([4, 8]), tf.zeros([4, 3]), tf.zeros([4, 3]), tf.zeros([4, 3])], 2), /dx must be float32 \[N, 3D\]/);
    });
  });
});

describe('our shared-history pair kernels (RecsysPairProducts / RecsysAddPairTerms)', () => {
  const random = mulberry32(13);
  const values = (count: number) => Float32Array.from({ length: count }, () => (random() - 0.5) * 3);

  it('equal the broadcasting TensorFlow ops they replace, bit for bit, and the formulas element by element', () => {
    const [b, l, d, u] = [7, 5, 3, 4];
    const q = values(b * d);
    const k = values(l * d);
    const p = values(b * l * u);
    const c = values(b * u);
    const bt = values(l * u);
    const [x, z, xTf, zTf] = tf.tidy(() => {
      const [qt, kt, pt, ct, btt] = [tf.tensor2d(q, [b, d]), tf.tensor2d(k, [l, d]), tf.tensor2d(p, [b * l, u]), tf.tensor2d(c, [b, u]), tf.tensor2d(bt, [l, u])];
      return [
        runNativeOp('RecsysPairProducts', () => [], [qt, kt])!,
        runNativeOp('RecsysAddPairTerms', () => [], [pt, ct, btt])!,
        tf.reshape(tf.mul(tf.expandDims(qt, 1), tf.expandDims(kt, 0)), [b * l, d]),
        tf.reshape(tf.add(tf.add(tf.reshape(pt, [b, l, u]), tf.expandDims(ct, 1)), tf.expandDims(btt, 0)), [b * l, u]),
      ];
    });
    assert.deepEqual(x.shape, [b * l, d]);
    assert.deepEqual(z.shape, [b * l, u]);
    assert.deepEqual(Array.from(x.dataSync()), Array.from(xTf.dataSync()));
    assert.deepEqual(Array.from(z.dataSync()), Array.from(zTf.dataSync()));
    const xs = x.dataSync();
    const zs = z.dataSync();
    for (let i = 0; i < b; i++) {
      for (let j = 0; j < l; j++) {
        for (let e = 0; e < d; e++) assert.equal(xs[(i * l + j) * d + e], Math.fround(q[i * d + e]! * k[j * d + e]!));
        for (let e = 0; e < u; e++) assert.equal(zs[(i * l + j) * u + e], Math.fround(Math.fround(p[(i * l + j) * u + e]! + c[i * u + e]!) + bt[j * u + e]!));
      }
    }
    tf.dispose([x, z, xTf, zTf]);
  });

  it('give empty blocks for no candidates or no behaviours', () => {
    tf.tidy(() => {
      assert.deepEqual(runNativeOp('RecsysPairProducts', () => [], [tf.zeros([0, 3]), tf.zeros([5, 3])])!.shape, [0, 3]);
      assert.deepEqual(runNativeOp('RecsysPairProducts', () => [], [tf.zeros([4, 3]), tf.zeros([0, 3])])!.shape, [0, 3]);
      assert.deepEqual(runNativeOp('RecsysAddPairTerms', () => [], [tf.zeros([0, 2]), tf.zeros([4, 2]), tf.zeros([0, 2])])!.shape, [0, 2]);
    });
  });

  it('refuse mismatched shapes with a message', () => {
    tf.tidy(() => {
      assert.throws(() => runNativeOp('RecsysPairProducts', () => [], [tf.zeros([4, 3]), tf.zeros([5, 2])]), /q \[B, D\] and k \[L, D\] must be float32 matrices of one width/);
      assert.throws(() => runNativeOp('RecsysAddPairTerms', () => [], [tf.zeros([12, 3]), tf.zeros([4, 3]), tf.zeros([2, 3])]), /p \[B\*L, U\], c \[B, U\] and b \[L, U\]/);
      assert.throws(() => runNativeOp('RecsysAddPairTerms', () => [], [tf.zeros([8, 3]), tf.zeros([4, 2]), tf.zeros([2, 3])]), /RecsysAddPairTerms/);
    });
  });
});

describe('our row-scatter kernel (RecsysScatterRows)', () => {
  it('sums each position\'s row into its distinct row, as the JavaScript loop does, bit for bit', () => {
    const random = mulberry32(9);
    const [n, d, u] = [500, 6, 37];
    const values = Float32Array.from({ length: n * d }, () => random() - 0.5);
    const index = Int32Array.from({ length: n }, () => Math.floor(random() * u));
    const expected = new Float32Array(u * d);
    scatterRowGradient(values, index, d, expected);
    const out = tf.tidy(() => runNativeOp('RecsysScatterRows', () => [], [tf.tensor2d(values, [n, d]), tf.tensor1d(index, 'int32'), tf.scalar(u, 'int32')])!);
    assert.deepEqual(out.shape, [u, d]);
    assert.deepEqual(out.dataSync(), expected);
    out.dispose();
  });

  it('refuses an index outside [0, rows) and mismatched shapes', () => {
    tf.tidy(() => {
      const values = tf.zeros([3, 2]);
      assert.throws(() => runNativeOp('RecsysScatterRows', () => [], [values, tf.tensor1d([0, 4, 1], 'int32'), tf.scalar(4, 'int32')]), /an index is outside \[0, rows\)/);
      assert.throws(() => runNativeOp('RecsysScatterRows', () => [], [values, tf.tensor1d([0, -1, 1], 'int32'), tf.scalar(4, 'int32')]), /an index is outside/);
      assert.throws(() => runNativeOp('RecsysScatterRows', () => [], [values, tf.tensor1d([0, 1], 'int32'), tf.scalar(4, 'int32')]), /values must be float32 \[N, D\], index int32 \[N\]/);
    });
  });
});
