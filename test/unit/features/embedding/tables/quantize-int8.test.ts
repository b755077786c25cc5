import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dequantizeInt8, quantizeInt8, reconstructionError } from '../../../../../features/embedding/tables/quantize-int8.js';
import { EmbeddingTable } from '../../../../../features/embedding/tables/embedding-table.js';

describe('int8 quantization', () => {
  it('uses a symmetric per-row scale max|x|/127 and maps the extreme to ±127', () => {
    const weights = Float32Array.from([0.5, -1.27, 0.01, 0, 0, 0, 2, 1, -1]);
    const q = quantizeInt8(weights, 3);
    assert.deepEqual([...q.scales], [Math.fround(1.27 / 127), 0, Math.fround(2 / 127)]);
    assert.deepEqual([...q.values], [50, -127, 1, 0, 0, 0, 127, 64, -64]);
    assert.deepEqual([...dequantizeInt8(q).subarray(3, 6)], [0, 0, 0], 'a zero row stays exactly zero');
  });

  it('reconstructs every element within half a step of its row', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ min: -10, max: 10, noNaN: true }), { minLength: 4, maxLength: 64 }), (values) => {
        const dim = 4;
        const weights = Float32Array.from(values.slice(0, values.length - (values.length % dim)));
        const q = quantizeInt8(weights, dim);
        const back = dequantizeInt8(q);
        weights.forEach((w, i) => {
          const scale = q.scales[Math.floor(i / dim)]!;
          // A row whose max|x| is below 127 float32 denormals has a scale that rounds to 0: it comes back as zeros, off by < 2e-43.
          assert.ok(Math.abs(back[i]! - w) <= scale / 2 + 1e-6 * Math.abs(w) + 2e-43, `element ${i}: ${w} → ${back[i]}`);
        });
      }),
    );
  });

  it('measures RMSE, max abs error and relative error', () => {
    const exact = reconstructionError(Float32Array.from([1, 2]), Float32Array.from([1, 2]));
    assert.deepEqual(exact, { rmse: 0, maxAbsError: 0, relativeRmse: 0 });
    const off = reconstructionError(Float32Array.from([3, 4]), Float32Array.from([3, 5]));
    assert.equal(off.maxAbsError, 1);
    assert.equal(off.rmse, Math.sqrt(0.5));
    assert.equal(off.relativeRmse, Math.sqrt(0.5) / Math.sqrt(12.5));
    assert.throws(() => reconstructionError(new Float32Array(2), new Float32Array(3)), /lengths differ/);
  });

  it('keeps a freshly initialised table under 1% relative RMSE', () => {
    const table = new EmbeddingTable({ rows: 2000, dim: 16, optimizer: { kind: 'sgd', learningRate: 1 }, init: { kind: 'normal', stddev: 0.05 } });
    const error = reconstructionError(table.weights, dequantizeInt8(quantizeInt8(table.weights, 16)));
    // A step is max|x|/127 ≈ 2σ/127, uniform rounding error ≈ step/√12: ~0.5% of σ.
    assert.ok(error.relativeRmse < 0.01, `relative RMSE ${error.relativeRmse}`);
    assert.ok(error.relativeRmse > 0.001, `relative RMSE ${error.relativeRmse}`);
  });
});
