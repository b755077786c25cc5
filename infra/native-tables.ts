import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { errorMessage } from './errors.js';

/** Loops over embedding tables in native code (native/tables), each computing the floats of the JavaScript loop it replaces. */
export interface TableKernels {
  /** Backs the array's whole 2 MB pages with transparent huge pages; call before first writing it. Returns the bytes advised. */
  adviseHugePages(array: Float32Array): number;
  /** out[k·dim + j] = weights[unique[k]·dim + j]; throws on a row outside the table. */
  copyRows(weights: Float32Array, unique: Int32Array, dim: number, out: Float32Array): void;
  /** Distinct rows of rowOf[0..count) in order of first appearance, by open addressing in keys/slots (power-of-two length ≥ 2·count, all -1, left all -1); returns the count. */
  dedupeRows(rowOf: Int32Array, count: number, keys: Int32Array, slots: Int32Array, unique: Int32Array, inverse: Int32Array): number;
  /** Lazy Adam on rows `unique` (distinct), as features/embedding/optimizers/adam.ts computes it; throws on a row outside the table. */
  sparseAdam(
    weights: Float32Array,
    m: Float32Array,
    v: Float32Array,
    unique: Int32Array,
    grad: Float32Array,
    dim: number,
    stepSize: number,
    mix1: number,
    mix2: number,
    epsilon: number,
    decay: number,
  ): void;
}

const MODULE = fileURLToPath(new URL('../build/native/recsys_tables.node', import.meta.url));

/**
 * The table kernels (built by `npm run setup` into build/native), or why not:
 * `kernels` is null, with the reason, when the module is missing or fails to
 * load, and the tables run their JavaScript loops, which give the same values
 * more slowly. RECSYS_NATIVE_TABLES=0 turns them off (to compare both ways).
 */
export const nativeTables: { readonly kernels: TableKernels | null; readonly reason?: string } = (() => {
  if (process.env.RECSYS_NATIVE_TABLES === '0') return { kernels: null, reason: 'turned off by RECSYS_NATIVE_TABLES=0' };
  try {
    return { kernels: createRequire(import.meta.url)(MODULE) as TableKernels };
  } catch (error) {
    return { kernels: null, reason: `${MODULE}: ${errorMessage(error)}; run \`bash infra/scripts/build-native-ops.sh\` (part of \`npm run setup\`)` };
  }
})();
