import assert from 'node:assert/strict';
import path from 'node:path';
import { syntheticCtrSplits } from '../../../features/datasets/ctr-sources.js';
import { loadFeatureSpec } from '../../../features/spec/feature-spec.js';
import { createCtrModel } from '../../../models/create-model.js';
import { range, sliceBatch } from '../../../models/train/batches.js';
import { tf } from '../../../infra/tf.js';
import { createRng } from '../../../features/math/rng.js';
import { Dice } from '../../../models/layers/activations.js';
import { ParamStore, type Tensor, type Variable } from '../../../models/layers/params.js';
import { LocalActivationUnit, type AttentionNorm } from '../../../models/din/local-activation-unit.js';
import { checkGradient } from '../../helpers/finite-difference.js';

const randoms = (n: number, seed: number, scale = 1) => {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => scale * (2 * rng.next() - 1));
};
const scalar = (t: Tensor) => { const v = t.dataSync()[0]!; t.dispose(); return v; };

/** Sets a variable from a Float32Array and evaluates f (a scalar) in a tidy scope. */
function withValue(v: Variable, values: Float32Array, f: () => Tensor): number {
  const saved = v.clone();
  v.assign(tf.tensor(values, v.shape));
  const value = scalar(tf.tidy(f));
  v.assign(saved);
  saved.dispose();
  return value;
}

describe('finite-difference gradient checks', () => {
  describe('Dice', () => {
    const B = 7;
    const U = 5;
    const x0 = randoms(B * U, 1, 2);
    const w = tf.tensor2d(randoms(B * U, 2), [B, U]);

    it('matches eq. 9 by hand on the batch statistics', () => {
      const dice = new Dice(new ParamStore(createRng(1)), 'hand', 1);
      const xs = [1, 2, 3, 6];
      const mean = 3;
      const variance = (4 + 1 + 0 + 9) / 4;
      const out = tf.tidy(() => dice.apply(tf.tensor2d(xs, [4, 1]), true).dataSync());
      xs.forEach((x, i) => {
        const p = 1 / (1 + Math.exp(-(x - mean) / Math.sqrt(variance + 1e-8)));
        assert.ok(Math.abs(out[i]! - p * x) < 1e-5, `${out[i]} vs ${p * x}`); // α starts at 0
      });
    });

    for (const training of [true, false]) {
      it(`gradients w.r.t. inputs and α (${training ? 'batch statistics' : 'moving statistics'})`, () => {
        const params = new ParamStore(createRng(3));
        const dice = new Dice(params, 'dice', U);
        const alpha = params.variables.get('dice/alpha')!;
        alpha.assign(tf.tensor1d(randoms(U, 4, 0.5)));
        if (!training) dice.setStatistics(randoms(U, 5, 0.3), Float32Array.from(randoms(U, 6), (v) => 0.5 + Math.abs(v)));
        const loss = (x: Tensor) => tf.sum(tf.mul(w, dice.apply(x, training)));

        const x = tf.tensor2d(x0, [B, U]);
        const gx = tf.grad((t: Tensor) => loss(t))(x);
        checkGradient('dice dx', (v) => scalar(tf.tidy(() => loss(tf.tensor2d(v, [B, U])))), x0.slice(), gx.dataSync() as Float32Array, { coordinates: 35 });
        const { grads } = tf.variableGrads(() => loss(x) as ReturnType<typeof tf.scalar>, [alpha]);
        const ga = grads[alpha.name]!.dataSync() as Float32Array;
        checkGradient('dice dα', (v) => withValue(alpha, v, () => loss(x)), alpha.dataSync().slice() as Float32Array, ga);
        tf.dispose([x, gx, ...Object.values(grads)]);
        params.dispose();
      });
    }
  });

  describe('local activation unit', () => {
    const B = 3;
    const L = 4;
    const D = 3;
    const lengths = [4, 2, 1];
    const mask = tf.tensor2d(lengths.flatMap((n) => Array.from({ length: L }, (_, i) => (i < n ? 1 : 0))), [B, L]);
    const lengthT = tf.tensor2d(lengths, [B, 1]);
    const w = tf.tensor2d(randoms(B * D, 9), [B, D]);
    const q0 = randoms(B * D, 10);
    const k0 = randoms(B * L * D, 11);

    for (const norm of ['none', 'softmax', 'length'] as AttentionNorm[]) {
      it(`gradients w.r.t. query, keys and every weight (${norm})`, () => {
        const params = new ParamStore(createRng(12));
        // PReLU keeps the check smooth enough; Dice is checked on its own above.
        const unit = new LocalActivationUnit(params, { name: 'att', dim: D, units: [6, 4], activation: 'prelu', norm });
        const loss = (q: Tensor, k: Tensor) => tf.sum(tf.mul(w, unit.pool(q, k, mask, lengthT, true)));
        const q = tf.tensor2d(q0, [B, D]);
        const k = tf.tensor3d(k0, [B, L, D]);
        const [gq, gk] = tf.grads((a: Tensor, b: Tensor) => loss(a, b))([q, k]);
        checkGradient(`${norm} dq`, (v) => scalar(tf.tidy(() => loss(tf.tensor2d(v, [B, D]), k))), q0.slice(), gq!.dataSync() as Float32Array, { coordinates: 9 });
        const gkData = gk!.dataSync() as Float32Array;
        checkGradient(`${norm} dk`, (v) => scalar(tf.tidy(() => loss(q, tf.tensor3d(v, [B, L, D])))), k0.slice(), gkData, { coordinates: 36 });
        // Padded behaviours get no gradient at all.
        for (let b = 0; b < B; b++) for (let l = lengths[b]!; l < L; l++) for (let d = 0; d < D; d++) assert.equal(gkData[(b * L + l) * D + d], 0);
        const variables = [...params.variables.values()];
        const { grads } = tf.variableGrads(() => loss(q, k) as ReturnType<typeof tf.scalar>, variables);
        for (const v of variables) {
          checkGradient(`${norm} d${v.name}`, (values) => withValue(v, values, () => loss(q, k)), v.dataSync().slice() as Float32Array, grads[v.name]!.dataSync() as Float32Array, { coordinates: 6 });
        }
        tf.dispose([q, k, gq!, gk!, ...Object.values(grads)]);
        params.dispose();
      });
    }
  });
});

describe('DIN end to end: finite differences of the training objective', function () {
  this.timeout(60_000);

  for (const attentionNorm of ['none', 'softmax'] as const) {
    it(`embedding rows and every dense weight (Dice MLP, PReLU attention, MBA; attention ${attentionNorm})`, () => {
      const splits = syntheticCtrSplits(loadFeatureSpec(path.resolve('configs/features/synthetic.json')), { events: 600, users: 20, items: 40, seed: 4 });
      const train = splits.encoder.encode(splits.train);
      const batch = sliceBatch(train, range(train.size), 0, 24);
      const model = createCtrModel(splits.encoder, {
        type: 'din', seed: 3, embedding: { kind: 'per-field', dim: 4 }, mlpUnits: [8, 4], attentionUnits: [6, 4], mbaLambda: 0.3, attentionNorm,
      });
      model.fitRowCounts([train]);
      // Move the embeddings off their small initial values so every term matters.
      for (const t of model.layout.tables) t.weights.set(randoms(t.weights.length, 21, 0.5));
      const objective = () => { const g = model.gradients(batch); tf.dispose(Object.values(g.denseGrads)); return g.loss; };
      const { lookup, denseGrads, rowGrads } = model.gradients(batch);

      lookup.tables.forEach((t, ti) => {
        const table = model.layout.tables[ti]!;
        const dim = table.dim;
        // Perturb the table's own storage at the rows the batch touched.
        const rows = Float32Array.from({ length: t.unique.length * dim }, (_, k) => table.weights[t.unique[Math.floor(k / dim)]! * dim + (k % dim)]!);
        checkGradient(`table ${ti} rows`, (v) => {
          for (let k = 0; k < v.length; k++) table.weights[t.unique[Math.floor(k / dim)]! * dim + (k % dim)] = v[k]!;
          const value = objective();
          for (let k = 0; k < rows.length; k++) table.weights[t.unique[Math.floor(k / dim)]! * dim + (k % dim)] = rows[k]!;
          return value;
        }, rows.slice(), rowGrads[ti]!, { step: 3e-3, absTol: 3e-4, coordinates: 10 });
      });
      for (const [name, v] of model.params.variables) {
        const grad = denseGrads[v.name];
        assert.ok(grad, `no gradient for ${name}`);
        checkGradient(name, (values) => withValue(v, values, () => tf.scalar(objective())), v.dataSync().slice() as Float32Array, grad.dataSync() as Float32Array, { step: 3e-3, absTol: 3e-4, coordinates: 4 });
      }
      tf.dispose(Object.values(denseGrads));
      model.dispose();
    });
  }
});
