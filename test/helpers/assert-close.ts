import assert from 'node:assert/strict';

/** Element-wise |a − e| ≤ atol + rtol·|e|, naming the first index that fails. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, { atol = 1e-6, rtol = 1e-5 } = {}, what = 'value'): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    assert.ok(Math.abs(a - e) <= atol + rtol * Math.abs(e), `${what}[${i}]: got ${a}, expected ${e}`);
  }
}
