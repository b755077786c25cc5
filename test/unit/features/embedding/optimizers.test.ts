import assert from 'node:assert/strict';
import { createOptimizer } from '../../../../features/embedding/optimizers/create-optimizer.js';
import { createOptimizerState } from '../../../../features/embedding/optimizers/sparse-optimizer.js';
import type { OptimizerConfig } from '../../../../features/embedding/optimizers/sparse-optimizer.js';
import { ValidationError } from '../../../../infra/errors.js';
import { assertClose } from '../../../helpers/assert-close.js';

/**
 * Rows 0 and 1 are touched at step 1, only row 1 at step 2, row 2 never.
 * Expected values were computed by hand from each method's published update
 * rule in float64 (see each case), independently of the implementation.
 */
const START = [0.5, -1.0, 2.0, 0.25, 3.0, 3.0];
const STEPS: [number[], number[]][] = [
  [[0, 1], [0.1, -0.2, 0.4, 0.3]],
  [[1], [-0.5, 0.6]],
];

function run(config: OptimizerConfig, steps = STEPS) {
  const optimizer = createOptimizer(config);
  const weights = Float32Array.from(START);
  const state = createOptimizerState(optimizer, 3, 2);
  const history: { weights: number[]; slots: number[][] }[] = [];
  for (const [rows, grad] of steps) {
    const step = ++state.step;
    optimizer.apply({ weights, slots: state.slots, step, unique: Int32Array.from(rows), grad: Float32Array.from(grad), dim: 2 });
    history.push({ weights: [...weights], slots: state.slots.map((slot) => [...slot]) });
  }
  return { weights, state, history };
}

describe('sparse optimizers', () => {
  it('SGD with weight decay: w ← w − lr·(g + λw)', () => {
    const { weights } = run({ kind: 'sgd', learningRate: 0.1, weightDecay: 0.01 });
    assertClose(weights, [0.4895, -0.979, 2.006042, 0.15953025, 3, 3]);
  });

  it('Adagrad: a ← a + g², w ← w − lr·g/(√a + ε)', () => {
    const { weights, state } = run({ kind: 'adagrad', learningRate: 0.1, initialAccumulator: 0.1 });
    assertClose(weights, [0.46984886555131455, -0.9465477516318008, 1.9915675501517076, 0.100271296369941, 3, 3]);
    assertClose(state.slots[0]!, [0.11, 0.14, 0.51, 0.55, 0.1, 0.1]);
  });

  it('lazy Adam: only touched rows move, bias correction by the global step', () => {
    const { weights, state, history } = run({ kind: 'adam', learningRate: 0.01 });
    assertClose(weights, [0.4900000316226766, -0.9900000158113633, 1.9916273297185507, 0.23034819483306135, 3, 3]);
    assertClose(state.slots[0]!, [0.01, -0.02, -0.014, 0.087, 0, 0], { atol: 1e-8 });
    assertClose(state.slots[1]!, [1e-5, 4e-5, 0.00040984, 0.00044991, 0, 0], { atol: 1e-10 });
    // Row 0's moments did not decay at step 2 although the global step advanced.
    assert.deepEqual(history[1]!.slots[0]!.slice(0, 2), history[0]!.slots[0]!.slice(0, 2));
    assert.deepEqual(history[1]!.weights.slice(0, 2), history[0]!.weights.slice(0, 2));
  });

  it('lazy Adam with weight decay adds λw to the gradient of touched rows only', () => {
    const { weights } = run({ kind: 'adam', learningRate: 0.01, weightDecay: 0.1 });
    assertClose(weights, [0.4900000210818066, -0.9900000105409145, 1.9873495042649285, 0.23030544371025316, 3, 3]);
  });

  it('FTRL-Proximal: per-coordinate z and n, l1 zeroes small |z|', () => {
    const { weights, state } = run({ kind: 'ftrl', alpha: 0.5, beta: 1, l1: 0.05, l2: 0.1 });
    assertClose(weights, [0, -0.06, 0.5444533762161676, -0.21137248841637635, 3, 3]);
    assertClose(state.slots[0]!, [0, 0.2, -1.8905926119343297, 0.7774681772777731, 0, 0]);
    assertClose(state.slots[1]!, [0.01, 0.04, 0.41, 0.45, 0, 0]);
  });

  for (const config of [
    { kind: 'sgd', learningRate: 0.1 },
    { kind: 'adagrad', learningRate: 0.1 },
    { kind: 'adam', learningRate: 0.1 },
    { kind: 'ftrl', alpha: 0.1, l1: 0.01 },
  ] as const) {
    it(`${config.kind} leaves untouched rows and their state bit-identical`, () => {
      const optimizer = createOptimizer(config);
      const weights = Float32Array.from({ length: 50 * 4 }, (_, i) => Math.sin(i));
      const state = createOptimizerState(optimizer, 50, 4);
      state.slots.forEach((slot) => slot.forEach((_, i) => (slot[i] = 0.5 + Math.cos(i) ** 2)));
      const before = { weights: weights.slice(), slots: state.slots.map((slot) => slot.slice()) };
      const touched = [3, 17, 42];
      optimizer.apply({ weights, slots: state.slots, step: 1, unique: Int32Array.from(touched), grad: Float32Array.from({ length: 12 }, (_, i) => i - 6), dim: 4 });
      for (let row = 0; row < 50; row++) {
        const span = [row * 4, row * 4 + 4] as const;
        const same = (a: Float32Array, b: Float32Array) => a.slice(...span).every((v, i) => Object.is(v, b[span[0] + i]));
        assert.equal(same(weights, before.weights), !touched.includes(row), `row ${row} weights`);
        state.slots.forEach((slot, s) => assert.equal(same(slot, before.slots[s]!), !touched.includes(row), `row ${row} slot ${s}`));
      }
    });
  }

  it('rejects out-of-range options, naming each', () => {
    assert.throws(() => createOptimizer({ kind: 'adam', learningRate: 0, beta1: 1 }), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.match(error.message, /adam\.learningRate must be > 0, got 0/);
      assert.match(error.message, /adam\.beta1 must be in \[0, 1\), got 1/);
      return true;
    });
    assert.throws(() => createOptimizer({ kind: 'nope' } as unknown as OptimizerConfig), /unknown optimizer/);
  });
});
