import assert from 'node:assert/strict';

/**
 * Central finite differences of a scalar function of one Float32Array, at a
 * few coordinates, against an analytic gradient. Float32 maths: a step of 1e-2
 * keeps rounding error well below the tolerance for O(1) values.
 */
export function checkGradient(
  what: string,
  f: (x: Float32Array) => number,
  x: Float32Array,
  analytic: Float32Array,
  { step = 1e-2, relTol = 3e-2, absTol = 2e-3, coordinates = 12 }: { step?: number; relTol?: number; absTol?: number; coordinates?: number } = {},
): void {
  assert.equal(analytic.length, x.length, `${what}: gradient shape`);
  const picks = coordinates >= x.length ? [...x.keys()] : Array.from({ length: coordinates }, (_, i) => Math.floor((i * x.length) / coordinates));
  for (const i of picks) {
    const saved = x[i]!;
    x[i] = saved + step;
    const up = f(x);
    x[i] = saved - step;
    const down = f(x);
    x[i] = saved;
    const numeric = (up - down) / (2 * step);
    const diff = Math.abs(numeric - analytic[i]!);
    assert.ok(diff <= absTol + relTol * Math.max(Math.abs(numeric), Math.abs(analytic[i]!)),
      `${what}[${i}]: analytic ${analytic[i]} vs numeric ${numeric}`);
  }
}
