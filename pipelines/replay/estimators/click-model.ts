/**
 * The reward model of the doubly robust estimator: L2-regularised logistic
 * regression on a few features of (request, candidate, position), fitted by
 * Newton's method (IRLS) for a fixed number of steps, so the same rows give
 * the same model everywhere.
 */
export interface ClickModel {
  weights: Float64Array;
}

export interface FitOptions {
  /** L2 penalty on the weights except the intercept (feature 0). @default 1 */
  l2?: number;
  /** @default 25 */
  iterations?: number;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** `features` is row-major (rows × dim; column 0 should be the constant 1). */
export function fitClickModel(features: ArrayLike<number>, labels: ArrayLike<number>, dim: number, { l2 = 1, iterations = 25 }: FitOptions = {}): ClickModel {
  const rows = labels.length;
  const w = new Float64Array(dim);
  for (let it = 0; it < iterations; it++) {
    const grad = new Float64Array(dim);
    const hess = new Float64Array(dim * dim);
    for (let r = 0; r < rows; r++) {
      let z = 0;
      for (let j = 0; j < dim; j++) z += w[j]! * features[r * dim + j]!;
      const p = sigmoid(z);
      const g = p - labels[r]!;
      const h = Math.max(p * (1 - p), 1e-9);
      for (let j = 0; j < dim; j++) {
        const xj = features[r * dim + j]!;
        grad[j] = grad[j]! + g * xj;
        for (let k = 0; k <= j; k++) hess[j * dim + k] = hess[j * dim + k]! + h * xj * features[r * dim + k]!;
      }
    }
    for (let j = 0; j < dim; j++) {
      for (let k = 0; k < j; k++) hess[k * dim + j] = hess[j * dim + k]!;
      const penalty = j === 0 ? 1e-6 : l2;
      grad[j] = grad[j]! + penalty * w[j]!;
      hess[j * dim + j] = hess[j * dim + j]! + penalty;
    }
    const step = solve(hess, grad, dim);
    let change = 0;
    for (let j = 0; j < dim; j++) {
      w[j] = w[j]! - step[j]!;
      change = Math.max(change, Math.abs(step[j]!));
    }
    if (change < 1e-10) break;
  }
  return { weights: w };
}

export function predictClick(model: ClickModel, features: ArrayLike<number>, offset = 0): number {
  let z = 0;
  for (let j = 0; j < model.weights.length; j++) z += model.weights[j]! * features[offset + j]!;
  return sigmoid(z);
}

/** Solves A x = b (A symmetric positive definite, dim × dim) by Gaussian elimination with partial pivoting. */
function solve(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const m = Float64Array.from(a);
  const x = Float64Array.from(b);
  for (let c = 0; c < n; c++) {
    let pivot = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]!) > Math.abs(m[pivot * n + c]!)) pivot = r;
    if (pivot !== c) {
      for (let k = 0; k < n; k++) [m[c * n + k], m[pivot * n + k]] = [m[pivot * n + k]!, m[c * n + k]!];
      [x[c], x[pivot]] = [x[pivot]!, x[c]!];
    }
    const d = m[c * n + c]!;
    for (let r = c + 1; r < n; r++) {
      const f = m[r * n + c]! / d;
      if (f === 0) continue;
      for (let k = c; k < n; k++) m[r * n + k] = m[r * n + k]! - f * m[c * n + k]!;
      x[r] = x[r]! - f * x[c]!;
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    let s = x[r]!;
    for (let k = r + 1; k < n; k++) s -= m[r * n + k]! * x[k]!;
    x[r] = s / m[r * n + r]!;
  }
  return x;
}
