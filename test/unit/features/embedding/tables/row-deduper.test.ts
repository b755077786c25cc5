import assert from 'node:assert/strict';
import { MARK_MAX_ROWS, RowDeduper } from '../../../../../features/embedding/tables/row-deduper.js';
import { mergeGradients } from '../../../../../features/embedding/tables/merge-gradients.js';
import { mulberry32 } from '../../../../../features/math/mulberry32.js';

/** The same contract with a Map: distinct rows in order of first appearance, and each position's index among them. */
function reference(rows: Int32Array): { unique: number[]; inverse: number[] } {
  const slot = new Map<number, number>();
  const inverse = Array.from(rows, (row) => {
    if (!slot.has(row)) slot.set(row, slot.size);
    return slot.get(row)!;
  });
  return { unique: [...slot.keys()], inverse };
}

function check(deduper: RowDeduper, rows: Int32Array, label: string): void {
  const unique = new Int32Array(rows.length);
  const inverse = new Int32Array(rows.length);
  const u = deduper.dedupe(rows, rows.length, unique, inverse);
  const expected = reference(rows);
  assert.deepEqual(Array.from(unique.subarray(0, u)), expected.unique, label);
  assert.deepEqual(Array.from(inverse), expected.inverse, label);
}

const LARGE = 2 ** 31 - 1;

describe('RowDeduper', () => {
  it('marks rows of a table up to MARK_MAX_ROWS and hashes beyond it', () => {
    assert.equal(new RowDeduper(MARK_MAX_ROWS).bytes, MARK_MAX_ROWS * 4);
    const large = new RowDeduper(MARK_MAX_ROWS + 1);
    assert.equal(large.bytes, 0);
    check(large, Int32Array.from({ length: 100 }, (_, i) => i % 37), '100 ids');
    assert.equal(large.bytes, 256 * 8);
  });

  for (const [strategy, rows] of [['mark', MARK_MAX_ROWS], ['hash', LARGE]] as const) {
    it(`${strategy}: finds the distinct rows in order of first appearance, as a Map does, and forgets a batch before the next`, () => {
      const deduper = new RowDeduper(rows);
      const random = mulberry32(3);
      for (const [count, range] of [[0, 10], [1, 10], [7, 3], [1000, 50], [5000, 200_000], [51_200, 20_000]] as const) {
        check(deduper, Int32Array.from({ length: count }, () => Math.floor(random() * range)), `${count} ids in [0, ${range})`);
      }
      check(deduper, Int32Array.from({ length: 10_000 }, (_, i) => i * 3), 'large');
      check(deduper, Int32Array.from([9, 3, 9, 0]), 'small, rows the large batch had');
      check(deduper, Int32Array.from({ length: 10_000 }, (_, i) => i * 3), 'large again');
    });
  }

  it('hash: copes with ids that share low or high bits, runs, and the largest int32', () => {
    const deduper = new RowDeduper(LARGE);
    const max = LARGE - 1;
    check(deduper, Int32Array.from({ length: 3000 }, (_, i) => (i % 1500) * 2 ** 16), 'multiples of 2^16');
    check(deduper, Int32Array.from({ length: 3000 }, (_, i) => (i % 700) * 2 ** 20 + 5), 'multiples of 2^20 plus 5');
    check(deduper, Int32Array.from({ length: 4096 }, (_, i) => i), 'a run');
    check(deduper, Int32Array.from([max, 0, max, max - 1, 0, 1]), 'the int32 edges');
  });
});

describe('mergeGradients', () => {
  const dim = 2;
  it('returns the inputs when rows are distinct and none is skipped', () => {
    const unique = Int32Array.from([4, 1, 9]);
    const grad = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const merged = mergeGradients(unique, grad, dim, new RowDeduper(10), 0);
    assert.equal(merged.unique, unique);
    assert.equal(merged.grad, grad);
  });

  it('sums repeated rows in order of first appearance and drops the skipped row', () => {
    const unique = Int32Array.from([4, 0, 1, 4, 9, 1, 0]);
    const grad = Float32Array.from([1, 1, 50, 50, 2, 3, 10, 20, 7, 7, 100, 200, 60, 60]);
    const merged = mergeGradients(unique, grad, dim, new RowDeduper(10), 0);
    assert.deepEqual(Array.from(merged.unique), [4, 1, 9]);
    assert.deepEqual(Array.from(merged.grad), [11, 21, 102, 203, 7, 7]);
    const kept = mergeGradients(unique, grad, dim, new RowDeduper(10));
    assert.deepEqual(Array.from(kept.unique), [4, 0, 1, 9]);
    assert.deepEqual(Array.from(kept.grad), [11, 21, 110, 110, 102, 203, 7, 7]);
  });
});
