import { ValidationError } from '../../../infra/errors.js';

/**
 * Rows as int8 with one float scale per row, for export to serving: dim + 4
 * bytes per row instead of 4·dim.
 *
 * Symmetric (x ≈ q·scale, scale = max|x|/127, q in [−127, 127]), not
 * asymmetric with a zero point: trained embedding rows are roughly centred on
 * zero, so a zero point buys little range, and symmetric rows dequantize with
 * one multiply and keep dot products as int8·int8 times two scales. The error
 * of each element is at most scale/2.
 */
export interface Int8Rows {
  readonly rows: number;
  readonly dim: number;
  readonly values: Int8Array;
  readonly scales: Float32Array;
}

export function quantizeInt8(weights: Float32Array, dim: number): Int8Rows {
  if (!Number.isInteger(dim) || dim < 1 || weights.length % dim !== 0) {
    throw new ValidationError('cannot quantize', [`weights.length ${weights.length} is not a multiple of dim ${dim}`]);
  }
  const rows = weights.length / dim;
  const values = new Int8Array(weights.length);
  const scales = new Float32Array(rows);
  for (let row = 0; row < rows; row++) {
    const start = row * dim;
    let max = 0;
    for (let i = start; i < start + dim; i++) max = Math.max(max, Math.abs(weights[i]!));
    // Stored as float32 first, so quantization divides by the scale that dequantization multiplies by.
    const scale = Math.fround(max / 127);
    scales[row] = scale;
    if (scale === 0) continue;
    for (let i = start; i < start + dim; i++) values[i] = Math.max(-127, Math.min(127, Math.round(weights[i]! / scale)));
  }
  return { rows, dim, values, scales };
}

export function dequantizeInt8({ rows, dim, values, scales }: Int8Rows): Float32Array {
  const out = new Float32Array(rows * dim);
  for (let row = 0; row < rows; row++) {
    const scale = scales[row]!;
    for (let i = row * dim; i < row * dim + dim; i++) out[i] = values[i]! * scale;
  }
  return out;
}

export interface ReconstructionError {
  rmse: number;
  maxAbsError: number;
  /** rmse / rms(original): 0 is exact; 0 too when the original is all zeros and so is the copy. */
  relativeRmse: number;
}

export function reconstructionError(original: Float32Array, reconstructed: Float32Array): ReconstructionError {
  if (original.length !== reconstructed.length) {
    throw new ValidationError('cannot compare', [`lengths differ: ${original.length} vs ${reconstructed.length}`]);
  }
  let squaredError = 0;
  let squaredValue = 0;
  let maxAbsError = 0;
  for (let i = 0; i < original.length; i++) {
    const error = reconstructed[i]! - original[i]!;
    squaredError += error * error;
    squaredValue += original[i]! * original[i]!;
    maxAbsError = Math.max(maxAbsError, Math.abs(error));
  }
  const n = Math.max(1, original.length);
  const rmse = Math.sqrt(squaredError / n);
  const rms = Math.sqrt(squaredValue / n);
  return { rmse, maxAbsError, relativeRmse: rms === 0 ? (rmse === 0 ? 0 : Infinity) : rmse / rms };
}
