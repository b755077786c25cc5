/**
 * One user's posterior under a logistic click model whose only unknowns are
 * the user's own parameters (the stream-drift experiment's informed
 * learner): an impression of an item of category c with latent features z
 * and a known offset has
 *
 *   logit = offset + v[c] + ⟨a, z⟩,   v[c] ~ N(m, s²) per category, a ~ N(0, I_k)
 *
 * (v is the interest term, a the user's latent vector; the synthetic
 * generator's click model has this form with z = wAffinity·b_i/√k and
 * v[c] = wInterest·max(-4, log(C·θ[c]))). The posterior is approximated by
 * Laplace's method: the MAP by Newton's method (the Hessian is a diagonal
 * block over categories plus a k×k block, solved through the Schur
 * complement, so a step costs O(n·k² + C·k² + k³)), and the predictive
 * probability by the probit approximation σ(μ / √(1 + π·σ²/8)).
 * Pure maths: no I/O, no generator.
 */
export interface UserPrior {
  categories: number;
  latentDim: number;
  /** Prior mean and variance of each category's interest term v[c]. */
  interestMean: number;
  interestVariance: number;
  /** Prior variance of each latent coordinate. @default 1 */
  latentVariance?: number;
}

export interface Impression {
  category: number;
  /** The item's latent features as they enter the logit (length latentDim). */
  z: ArrayLike<number>;
  /** Everything else in the logit (bias, history, quality…): known. */
  offset: number;
}

export interface FitOptions {
  /** Newton steps at most. @default 20 */
  maxIterations?: number;
  /** Stop once no coordinate moves more than this. @default 1e-7 */
  tolerance?: number;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** Solves the symmetric positive-definite k×k system M x = b in place of a copy (Cholesky); returns x. */
export function solveSpd(m: Float64Array, b: Float64Array, k: number): Float64Array {
  const l = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j <= i; j++) {
      let s = m[i * k + j]!;
      for (let p = 0; p < j; p++) s -= l[i * k + p]! * l[j * k + p]!;
      l[i * k + j] = i === j ? Math.sqrt(Math.max(s, 1e-12)) : s / l[j * k + j]!;
    }
  }
  const y = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    let s = b[i]!;
    for (let p = 0; p < i; p++) s -= l[i * k + p]! * y[p]!;
    y[i] = s / l[i * k + i]!;
  }
  const x = new Float64Array(k);
  for (let i = k - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let p = i + 1; p < k; p++) s -= l[p * k + i]! * x[p]!;
    x[i] = s / l[i * k + i]!;
  }
  return x;
}

export class UserPosterior {
  /** MAP of the interest terms and of the latent vector. */
  readonly v: Float64Array;
  readonly a: Float64Array;
  private readonly seen: (Impression & { label: number })[] = [];
  /** Curvature at the MAP: D (per category), B (C×k), Schur complement S = A − Bᵀ D⁻¹ B. */
  private d: Float64Array;
  private bm: Float64Array;
  private schur: Float64Array;
  private readonly latentVariance: number;

  constructor(readonly prior: UserPrior) {
    const { categories: c, latentDim: k } = prior;
    this.latentVariance = prior.latentVariance ?? 1;
    this.v = new Float64Array(c).fill(prior.interestMean);
    this.a = new Float64Array(k);
    this.d = new Float64Array(c).fill(1 / prior.interestVariance);
    this.bm = new Float64Array(c * k);
    this.schur = new Float64Array(k * k);
    for (let i = 0; i < k; i++) this.schur[i * k + i] = 1 / this.latentVariance;
  }

  get observations(): number {
    return this.seen.length;
  }

  /** The logit at the MAP and its posterior variance (Laplace). */
  logitMoments(x: Impression): { mean: number; variance: number } {
    const k = this.prior.latentDim;
    let mean = x.offset + this.v[x.category]!;
    for (let j = 0; j < k; j++) mean += this.a[j]! * x.z[j]!;
    // x = (e_c, z): xᵀH⁻¹x = 1/D_c + (u − z)ᵀ S⁻¹ (u − z), u = B[c,:]/D_c.
    const dc = this.d[x.category]!;
    const r = new Float64Array(k);
    for (let j = 0; j < k; j++) r[j] = this.bm[x.category * k + j]! / dc - x.z[j]!;
    const s = solveSpd(this.schur, r, k);
    let variance = 1 / dc;
    for (let j = 0; j < k; j++) variance += r[j]! * s[j]!;
    return { mean, variance };
  }

  /** Posterior predictive click probability (probit approximation of the logistic-Gaussian integral). */
  predict(x: Impression): number {
    const { mean, variance } = this.logitMoments(x);
    return sigmoid(mean / Math.sqrt(1 + (Math.PI * variance) / 8));
  }

  /** Adds a labelled impression and moves to the new MAP. */
  observe(x: Impression, label: number, fit: FitOptions = {}): void {
    this.observeMany([x], [label], fit);
  }

  /** Adds labelled impressions and moves to the new MAP once. */
  observeMany(xs: readonly Impression[], labels: ArrayLike<number>, { maxIterations = 20, tolerance = 1e-7 }: FitOptions = {}): void {
    xs.forEach((x, n) => this.seen.push({ category: x.category, z: Float64Array.from(x.z), offset: x.offset, label: labels[n]! }));
    for (let it = 0; it < maxIterations; it++) {
      if (this.newtonStep() < tolerance) break;
    }
    this.curvature();
  }

  /** One Newton step on the negative log posterior; returns the step's largest coordinate. */
  private newtonStep(): number {
    const { categories: cn, latentDim: k, interestMean, interestVariance } = this.prior;
    const gv = new Float64Array(cn);
    const ga = new Float64Array(k);
    const d = new Float64Array(cn).fill(1 / interestVariance);
    const bm = new Float64Array(cn * k);
    const am = new Float64Array(k * k);
    for (let c = 0; c < cn; c++) gv[c] = (this.v[c]! - interestMean) / interestVariance;
    for (let j = 0; j < k; j++) {
      ga[j] = this.a[j]! / this.latentVariance;
      am[j * k + j] = 1 / this.latentVariance;
    }
    for (const o of this.seen) {
      let eta = o.offset + this.v[o.category]!;
      for (let j = 0; j < k; j++) eta += this.a[j]! * o.z[j]!;
      const p = sigmoid(eta);
      const g = p - o.label;
      const w = Math.max(p * (1 - p), 1e-10);
      gv[o.category]! += g;
      d[o.category]! += w;
      for (let i = 0; i < k; i++) {
        const zi = o.z[i]!;
        ga[i]! += g * zi;
        bm[o.category * k + i]! += w * zi;
        for (let j = 0; j <= i; j++) am[i * k + j]! += w * zi * o.z[j]!;
      }
    }
    for (let i = 0; i < k; i++) for (let j = 0; j < i; j++) am[j * k + i] = am[i * k + j]!;
    // Schur complement: S = A − Bᵀ D⁻¹ B; Δa = S⁻¹ (ga − Bᵀ D⁻¹ gv); Δv = D⁻¹ (gv − B Δa).
    const s = am.slice();
    const rhs = ga.slice();
    for (let c = 0; c < cn; c++) {
      const inv = 1 / d[c]!;
      for (let i = 0; i < k; i++) {
        const bi = bm[c * k + i]!;
        if (bi === 0) continue;
        rhs[i]! -= bi * inv * gv[c]!;
        for (let j = 0; j < k; j++) s[i * k + j]! -= bi * inv * bm[c * k + j]!;
      }
    }
    const da = solveSpd(s, rhs, k);
    let largest = 0;
    for (let j = 0; j < k; j++) {
      this.a[j]! -= da[j]!;
      largest = Math.max(largest, Math.abs(da[j]!));
    }
    for (let c = 0; c < cn; c++) {
      let r = gv[c]!;
      for (let j = 0; j < k; j++) r -= bm[c * k + j]! * da[j]!;
      const dv = r / d[c]!;
      this.v[c]! -= dv;
      largest = Math.max(largest, Math.abs(dv));
    }
    return largest;
  }

  /** The Hessian's blocks at the current point (for the predictive variance). */
  private curvature(): void {
    const { categories: cn, latentDim: k, interestVariance } = this.prior;
    const d = new Float64Array(cn).fill(1 / interestVariance);
    const bm = new Float64Array(cn * k);
    const s = new Float64Array(k * k);
    for (let j = 0; j < k; j++) s[j * k + j] = 1 / this.latentVariance;
    for (const o of this.seen) {
      let eta = o.offset + this.v[o.category]!;
      for (let j = 0; j < k; j++) eta += this.a[j]! * o.z[j]!;
      const p = sigmoid(eta);
      const w = Math.max(p * (1 - p), 1e-10);
      d[o.category]! += w;
      for (let i = 0; i < k; i++) {
        bm[o.category * k + i]! += w * o.z[i]!;
        for (let j = 0; j < k; j++) s[i * k + j]! += w * o.z[i]! * o.z[j]!;
      }
    }
    for (let c = 0; c < cn; c++) {
      for (let i = 0; i < k; i++) {
        const bi = bm[c * k + i]!;
        if (bi === 0) continue;
        for (let j = 0; j < k; j++) s[i * k + j]! -= (bi * bm[c * k + j]!) / d[c]!;
      }
    }
    this.d = d;
    this.bm = bm;
    this.schur = s;
  }
}
