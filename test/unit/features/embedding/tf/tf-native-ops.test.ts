import assert from 'node:assert/strict';
import path from 'node:path';
import { tf } from '../../../../../infra/tf.js';
import { gatherUntaped, matMulUntaped, segmentSumUntaped } from '../../../../../features/embedding/tf/tf-native-ops.js';
import { runNode } from '../../../../helpers/run-node.js';

describe('native TF ops outside the tape', () => {
  it('gatherUntaped equals tf.gather and still refuses out-of-range indices', () => {
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
    const indices = tf.tensor1d([2, 0, 2, 1], 'int32');
    assert.deepEqual([...gatherUntaped(x, indices).dataSync()], [...tf.gather(x, indices).dataSync()]);
    assert.throws(() => gatherUntaped(x, tf.tensor1d([0, 3], 'int32')), /3 is not in \[0, 3\)/);
    assert.throws(() => gatherUntaped(x, tf.tensor1d([-1], 'int32')), /not in \[0, 3\)/);
  });

  it('matMulUntaped equals tf.matMul for every transpose combination', () => {
    const a = tf.randomNormal([5, 4], 0, 1, 'float32', 1);
    const b = tf.randomNormal([4, 3], 0, 1, 'float32', 2);
    const aT = tf.transpose(a);
    const bT = tf.transpose(b);
    const expected = tf.matMul(a, b).dataSync();
    for (const [x, y, ta, tb] of [[a, b, false, false], [aT, b, true, false], [a, bT, false, true], [aT, bT, true, true]] as const) {
      const got = matMulUntaped(x, y, ta, tb).dataSync();
      got.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-5, `${ta}/${tb} [${i}]: ${v} vs ${expected[i]}`));
    }
  });

  it('segmentSumUntaped equals tf.unsortedSegmentSum for sorted ids, empty segments first, between and last included', () => {
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [5, 2]);
    const ids = tf.tensor1d([1, 1, 3, 4, 4], 'int32');
    for (const segments of [5, 7]) {
      const got = segmentSumUntaped(x, ids, segments);
      assert.deepEqual(got.shape, [segments, 2]);
      assert.deepEqual([...got.dataSync()], [...tf.unsortedSegmentSum(x, ids, segments).dataSync()]);
    }
    assert.deepEqual([...segmentSumUntaped(tf.zeros([0, 2]), tf.tensor1d([], 'int32'), 2).dataSync()], [0, 0, 0, 0]);
  });

  it('segmentSumUntaped refuses ids out of order or not below the segment count', () => {
    const x = tf.tensor2d([1, 2, 3], [3, 1]);
    assert.throws(() => segmentSumUntaped(x, tf.tensor1d([0, 2, 1], 'int32'), 3), /increasing|sorted/i);
    assert.throws(() => segmentSumUntaped(x, tf.tensor1d([0, 1, 3], 'int32'), 3), /segment id 3 is not below numSegments 3/);
  });

  it('matMulUntaped survives signals arriving mid-product (no heap corruption; the MatMul op aborted within a second)', async function () {
    this.timeout(60_000);
    const script = path.join(import.meta.dirname, 'fixtures/matmul-under-signals.ts');
    const { code, signal, stdout, stderr } = await runNode([script, '3']);
    assert.equal(signal, null, `killed by ${signal}: ${stderr.trim().split('\n').at(-1)}`);
    assert.equal(code, 0, stderr.slice(-2000));
    const { products } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { products: number };
    assert.ok(products > 300, `only ${products} products in 3 s`);
  });
});
