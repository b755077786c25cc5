import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { groupEdgesByNode } from './bipartite-graph.js';

/** native/weighted-spmm.c, compiled: see that file for what each call computes. */
export interface WeightedSpmmKernels {
  /** out[r] = Σ_k w[k]·x[col[k]] over row r's entries, and acc += out when `acc` is not empty. */
  propagate(rowStart: Int32Array, col: Int32Array, w: Float32Array, x: Float32Array, out: Float32Array, acc: Float32Array, dim: number, threads: number): void;
  /** One dense Adam step in place; hyper = [lr, β₁, β₂, ε, β₁ᵗ, β₂ᵗ]. */
  adam(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, hyper: Float32Array, threads: number): void;
  /**
   * The scalar sheaf Laplacian (scalar-sheaf-laplacian.ts gives the formulas) on maps in the CSR's entry order:
   * writes outs = [out, z, az, a, diag, scale]; out = L·y, or x − step·L·y when x is given; z may be y's array (z = S·y in place).
   */
  sheafForward(rowStart: Int32Array, col: Int32Array, reverseEntry: Int32Array, maps: Float32Array, y: Float32Array, dim: number, threads: number,
    outs: [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array], x?: Float32Array, step?: number): void;
  /** Writes outs = [∂y, ∂maps] (entry order) from ∂out = g; forward = [z, az, a, maps, diag, scale]; scratch = [h, da, dDiag] ([N·dim], [entries], [N]). */
  sheafBackward(rowStart: Int32Array, col: Int32Array, reverseEntry: Int32Array, forward: Float32Array[], g: Float32Array, dim: number, threads: number,
    outs: [Float32Array, Float32Array], scratch: [Float32Array, Float32Array, Float32Array]): void;
  /** maps[k] = tanh(p[u, 0] + p[col[k], 1] + bias) for each entry k of row u: the scalar sheaf's restriction maps in entry order. */
  sheafMaps(rowStart: Int32Array, col: Int32Array, reverseEntry: Int32Array, p: Float32Array, bias: number, maps: Float32Array, threads: number): void;
  /**
   * sheafMaps' gradient w.r.t. p: with ∂logit_k = scale·∂F_k·(1 − F_k²) (written over dMaps), dp[u, 0] sums it
   * over u's entries and dp[u, 1] over their reverses.
   */
  sheafMapsBackward(rowStart: Int32Array, col: Int32Array, reverseEntry: Int32Array, maps: Float32Array, dMaps: Float32Array, scale: number, dp: Float32Array, threads: number): void;
  /** out[n] = x[n]·W + bias (or += with `accumulate`), W [inDim, outDim] row-major; `bias` empty or [outDim]. */
  dense(x: Float32Array, w: Float32Array, bias: Float32Array, out: Float32Array, inDim: number, accumulate: boolean, threads: number): void;
  /** out += xᵀ·dy: the weight gradient of `dense`, [inDim, outDim]. */
  denseWeightGrad(x: Float32Array, dy: Float32Array, out: Float32Array, inDim: number, threads: number): void;
}

const SOURCE = fileURLToPath(new URL('./native/weighted-spmm.c', import.meta.url));
const FLAGS = ['-O3', '-march=native', '-fopenmp-simd', '-shared', '-fPIC', '-pthread'];

let loaded: { kernels: WeightedSpmmKernels | null; reason?: string } | undefined;

/**
 * The kernels, compiled on first use with the system C compiler (`CC`, else
 * `cc`) against the running Node's headers, and cached in
 * RECSYS_NATIVE_DIR (default: <tmp>/recsys-native) under a hash of the
 * source, flags, Node ABI and CPU, so an edit, an upgrade or another machine
 * sharing the directory gets its own build. A compile is ~1 s; the cache
 * makes later processes free. null (with `nativeKernelStatus().reason`) when
 * there is no compiler or headers: callers then use TensorFlow ops.
 */
export function weightedSpmmKernels(): WeightedSpmmKernels | null {
  if (loaded) return loaded.kernels;
  try {
    loaded = { kernels: createRequire(import.meta.url)(compiledPath()) as WeightedSpmmKernels };
  } catch (error) {
    loaded = { kernels: null, reason: error instanceof Error ? error.message.split('\n')[0] : String(error) };
  }
  return loaded.kernels;
}

/** Whether the native kernels loaded, and why not. */
export function nativeKernelStatus(): { available: boolean; reason?: string } {
  const available = weightedSpmmKernels() !== null;
  return available ? { available } : { available, reason: loaded?.reason ?? 'unknown' };
}

function compiledPath(): string {
  const include = path.resolve(path.dirname(process.execPath), '..', 'include', 'node');
  const compiler = process.env.CC || 'cc';
  const cpu = os.cpus()[0]?.model ?? 'cpu';
  const key = createHash('sha256').update(readFileSync(SOURCE)).update(FLAGS.join(' ')).update(compiler).update(process.versions.modules).update(cpu).digest('hex').slice(0, 16);
  const dir = process.env.RECSYS_NATIVE_DIR || path.join(os.tmpdir(), 'recsys-native');
  const target = path.join(dir, `weighted-spmm-${key}.node`);
  if (existsSync(target)) return target;
  mkdirSync(dir, { recursive: true });
  // Built under a private name and renamed: concurrent processes never load a half-written file.
  const partial = `${target}.${process.pid}.tmp`;
  try {
    execFileSync(compiler, [...FLAGS, `-I${include}`, '-o', partial, SOURCE, '-lm'], { stdio: ['ignore', 'ignore', 'pipe'] });
    renameSync(partial, target);
  } finally {
    rmSync(partial, { force: true });
  }
  return target;
}

/**
 * A directed graph's edges as CSR rows by source, for messages
 * out_u = Σ_{e: u→v} a_e·z_v with a_e given per edge id. The graph must hold
 * each edge's reverse (`reverseOf`): the gradient w.r.t. z is the transposed
 * product, which is the same CSR walk with each entry weighted by its
 * reverse edge's a, so no thread ever scatters into another's rows.
 */
export interface EdgeCsr {
  rowStart: Int32Array;
  /** Target node of each entry. */
  col: Int32Array;
  /** Entry → edge id: for the taped path, which holds the maps by edge id; made on first read (80 MB at 10M interactions that the native step never reads). */
  readonly edge: Int32Array;
  /** Entry → the entry of its reverse. */
  reverseEntry: Int32Array;
  numNodes: number;
}

export function edgeCsr(src: Int32Array, dst: Int32Array, numNodes: number, reverseOf: (edge: number) => number): EdgeCsr {
  // The kernels trust these indices (they check sizes only), so every one is checked here, once.
  if (src.length !== dst.length) throw new Error(`src and dst differ in length (${src.length} vs ${dst.length})`);
  for (let e = 0; e < src.length; e++) {
    if (!(src[e]! >= 0 && src[e]! < numNodes && dst[e]! >= 0 && dst[e]! < numNodes)) throw new Error(`edge ${e} (${src[e]} → ${dst[e]}) is outside ${numNodes} nodes`);
  }
  const { rowStart, edgeOf: edge } = groupEdgesByNode(src, numNodes);
  const col = Int32Array.from(edge, (e) => dst[e]!);
  const entryOf = new Int32Array(src.length);
  for (let k = 0; k < edge.length; k++) entryOf[edge[k]!] = k;
  const reverseEntry = new Int32Array(src.length);
  for (let k = 0; k < edge.length; k++) {
    const e = edge[k]!;
    const r = reverseOf(e);
    if (src[r] !== dst[e] || dst[r] !== src[e]) throw new Error(`edge ${r} is not the reverse of edge ${e}`);
    reverseEntry[k] = entryOf[r]!;
  }
  let entryEdges: Int32Array | undefined;
  return {
    rowStart, col, reverseEntry, numNodes,
    get edge() { return (entryEdges ??= groupEdgesByNode(src, numNodes).edgeOf); },
  };
}
