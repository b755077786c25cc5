import assert from 'node:assert/strict';
import { tf } from '../../../infra/tf.js';
import { createRng } from '../../../features/math/rng.js';
import { Dice, type ActivationKind } from '../../../models/layers/activations.js';
import { Mlp } from '../../../models/layers/mlp.js';
import { ParamStore, type Tensor } from '../../../models/layers/params.js';
import { LocalActivationUnit, type AttentionNorm } from '../../../models/din/local-activation-unit.js';

const randoms = (n: number, seed: number, scale = 1) => {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => scale * (2 * rng.next() - 1));
};

function assertClose(what: string, actual: Float32Array, expected: Float32Array, tol = 1e-5): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const diff = Math.abs(actual[i]! - expected[i]!);
    assert.ok(diff <= tol * (1 + Math.abs(expected[i]!)), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

/**
 * The attention unit's fast path (fused first layer, padding dropped, hand-written
 * backward) against the paper's formulation on the generic path (tape, apart from the MLP stack, checked on its own below): same
 * pooled vectors, same gradients for query, keys and every parameter.
 */
describe('local activation unit: fast path = reference', () => {
  const B = 5;
  const L = 6;
  const D = 4;
  const q0 = randoms(B * D, 1);
  const k0 = randoms(B * L * D, 2);
  const w = tf.tensor2d(randoms(B * D, 3), [B, D]);

  const cases: { activation: ActivationKind; norm: AttentionNorm; lengths: number[] }[] = [
    { activation: 'prelu', norm: 'none', lengths: [6, 2, 1, 4, 6] },
    { activation: 'prelu', norm: 'length', lengths: [6, 2, 1, 4, 6] },
    { activation: 'prelu', norm: 'none', lengths: [6, 6, 6, 6, 6] },
    { activation: 'relu', norm: 'none', lengths: [3, 2, 1, 4, 6] },
    { activation: 'sigmoid', norm: 'length', lengths: [3, 2, 1, 4, 6] },
    { activation: 'prelu', norm: 'softmax', lengths: [6, 2, 1, 4, 6] },
    { activation: 'prelu', norm: 'softmax', lengths: [6, 6, 6, 6, 6] },
    // An example without behaviours: the reference's uniform softmax over padding, masked, is 0, as no behaviour is.
    { activation: 'relu', norm: 'softmax', lengths: [3, 0, 1, 4, 6] },
  ];
  for (const { activation, norm, lengths } of cases) {
    const full = lengths.every((n) => n === L);
    it(`${activation}, ${norm} weights, ${full ? 'no padding' : 'padded histories'}`, () => {
      const params = new ParamStore(createRng(7));
      const unit = new LocalActivationUnit(params, { name: 'att', dim: D, units: [8, 5], activation, norm });
      // α away from its initial 0.25 (and one above 1) so PReLU's negative side is exercised.
      for (const [name, v] of params.variables) {
        if (name.endsWith('/alpha')) v.assign(tf.tensor1d(Float32Array.from(randoms(v.size, 11), (x, i) => (i === 0 ? 1.5 : 0.5 + x * 0.4))));
        if (name.endsWith('/bias')) v.assign(tf.tensor1d(randoms(v.size, 13, 0.1)));
      }
      const mask = tf.tensor2d(lengths.flatMap((n) => Array.from({ length: L }, (_, i) => (i < n ? 1 : 0))), [B, L]);
      const lengthT = tf.tensor2d(lengths, [B, 1]);
      const q = tf.tensor2d(q0, [B, D]);
      const k = tf.tensor3d(k0, [B, L, D]);
      const variables = [...params.variables.values()];
      const run = (pool: typeof unit.pool) => {
        const loss = (a: Tensor, b: Tensor) => tf.sum(tf.mul(w, pool.call(unit, a, b, mask, lengthT, true)));
        const value = tf.tidy(() => pool.call(unit, q, k, mask, lengthT, false).dataSync() as Float32Array);
        const [gq, gk] = tf.grads((a: Tensor, b: Tensor) => tf.tidy(() => loss(a, b)))([q, k]);
        const { value: lossValue, grads } = tf.variableGrads(() => tf.tidy(() => loss(q, k)) as ReturnType<typeof tf.scalar>, variables);
        const out = { value, gq: gq!.dataSync() as Float32Array, gk: gk!.dataSync() as Float32Array, vars: variables.map((v) => grads[v.name]!.dataSync() as Float32Array) };
        tf.dispose([lossValue, gq!, gk!, ...Object.values(grads)]);
        return out;
      };
      const before = tf.memory().numTensors;
      const fast = run(unit.pool);
      assert.equal(tf.memory().numTensors, before, 'the fast path leaks no tensors');
      const reference = run(unit.referencePool);
      assertClose('pooled', fast.value, reference.value);
      assertClose('d query', fast.gq, reference.gq);
      assertClose('d keys', fast.gk, reference.gk);
      variables.forEach((v, i) => assertClose(`d ${v.name}`, fast.vars[i]!, reference.vars[i]!));
      tf.dispose([mask, lengthT, q, k]);
      params.dispose();
    });
  }
});

/** outputInit 'zeros': softmax attention starts as the history's mean (DNN's pooling) and can still learn. */
describe('local activation unit: output layer started at 0', () => {
  const B = 4;
  const L = 5;
  const D = 3;
  const lengths = [5, 2, 1, 3];
  it('pools the mean of each example\'s real behaviours, and the output kernel gets a gradient', () => {
    const params = new ParamStore(createRng(31));
    const unit = new LocalActivationUnit(params, { name: 'att', dim: D, units: [6, 4], activation: 'prelu', norm: 'softmax', outputInit: 'zeros' });
    const keys = randoms(B * L * D, 32);
    const mask = tf.tensor2d(lengths.flatMap((n) => Array.from({ length: L }, (_, i) => (i < n ? 1 : 0))), [B, L]);
    const lengthT = tf.tensor2d(lengths, [B, 1]);
    const q = tf.tensor2d(randoms(B * D, 33), [B, D]);
    const k = tf.tensor3d(keys, [B, L, D]);
    for (const training of [false, true]) {
      const pooled = tf.tidy(() => unit.pool(q, k, mask, lengthT, training).dataSync() as Float32Array);
      const mean = new Float32Array(B * D);
      lengths.forEach((n, b) => {
        for (let l = 0; l < n; l++) for (let d = 0; d < D; d++) mean[b * D + d]! += keys[(b * L + l) * D + d]! / n;
      });
      assertClose(`pooled (training ${training})`, pooled, mean);
    }
    const kernel = params.variables.get('att/dense2/kernel')!;
    assert.ok(kernel.dataSync().every((x) => x === 0), 'the output kernel starts at 0');
    const { value, grads } = tf.variableGrads(() => tf.tidy(() => tf.sum(tf.mul(unit.pool(q, k, mask, lengthT, true), q))) as ReturnType<typeof tf.scalar>, [kernel]);
    const g = grads[kernel.name]!.dataSync() as Float32Array;
    assert.ok(g.some((x) => Math.abs(x) > 1e-6), 'the output kernel learns');
    tf.dispose([value, ...Object.values(grads), mask, lengthT, q, k]);
    params.dispose();
  });
});

/** The MLP's hand-differentiated training forward against the same stack on the tape. */
describe('MLP: hand-written gradient = tape', () => {
  const B = 9;
  const IN = 6;
  const x0 = randoms(B * IN, 21, 2);
  const w = tf.tensor2d(randoms(B * 2, 22), [B, 2]);
  for (const activation of ['dice', 'prelu', 'relu', 'sigmoid'] as ActivationKind[]) {
    it(`${activation}: output, input gradient and every parameter's gradient`, () => {
      const params = new ParamStore(createRng(23));
      const mlp = new Mlp(params, 'mlp', IN, [7, 5, 2], activation);
      for (const [name, v] of params.variables) {
        if (name.endsWith('/alpha')) v.assign(tf.tensor1d(randoms(v.size, 24, 0.6)));
        if (name.endsWith('/bias')) v.assign(tf.tensor1d(randoms(v.size, 25, 0.2)));
      }
      const x = tf.tensor2d(x0, [B, IN]);
      const variables = [...params.variables.values()];
      const run = (apply: (t: Tensor) => Tensor) => {
        const value = tf.tidy(() => apply(x).dataSync() as Float32Array);
        const gx = tf.grad((t: Tensor) => tf.tidy(() => tf.sum(tf.mul(w, apply(t)))))(x);
        const { value: loss, grads } = tf.variableGrads(() => tf.tidy(() => tf.sum(tf.mul(w, apply(x)))) as ReturnType<typeof tf.scalar>, variables);
        const out = { value, gx: gx.dataSync() as Float32Array, vars: variables.map((v) => grads[v.name]!.dataSync() as Float32Array) };
        tf.dispose([gx, loss, ...Object.values(grads)]);
        return out;
      };
      const before = tf.memory().numTensors;
      const byHand = run((t) => mlp.apply(t, true));
      mlp.commit();
      const handStats = mlp.activations().map((a) => (a instanceof Dice ? a.statistics() : null));
      assert.equal(tf.memory().numTensors, before, 'no tensors leak');
      const onTape = run((t) => mlp.applyOnTape(t, true));
      mlp.commit();
      assertClose('output', byHand.value, onTape.value);
      assertClose('d input', byHand.gx, onTape.gx, 1e-4);
      variables.forEach((v, i) => assertClose(`d ${v.name}`, byHand.vars[i]!, onTape.vars[i]!, 1e-4));
      // Both recorded the same batch statistics: from (0, 1), one commit of (μ, σ²) gives
      // (0.01μ, 0.99 + 0.01σ²), a second commit of the same (μ, σ²) gives 1.99× and 1.99× − 0.99 of that.
      mlp.activations().forEach((a, i) => {
        if (!(a instanceof Dice)) return;
        const hand = handStats[i]!;
        const now = a.statistics();
        assertClose('moving mean', now.mean, hand.mean.map((m) => 1.99 * m));
        assertClose('moving variance', now.variance, hand.variance.map((v) => 1.99 * v - 0.99));
      });
      tf.dispose(x);
      params.dispose();
    });
  }
});
