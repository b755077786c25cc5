import { tf } from '../../../infra/tf.js';

type Tensor = ReturnType<typeof tf.tensor>;

/** The parts of tfjs-node's backend that run a TensorFlow op directly. */
interface NativeBackend {
  executeSingleOutput(name: string, attrs: NativeAttr[], inputs: Tensor[]): Tensor;
  executeMultipleOutputs(name: string, attrs: NativeAttr[], inputs: Tensor[], numOutputs: number): Tensor[];
  binding: { TF_ATTR_INT: number; TF_ATTR_BOOL: number; TF_ATTR_TYPE: number; TF_FLOAT: number; TF_INT32: number; TF_BOOL: number };
}

export interface NativeAttr {
  name: string;
  type: number;
  value: unknown;
}

/** Attribute builders for `runNativeOp`, from the binding's enums. */
export interface NativeAttrs {
  int(name: string, value: number): NativeAttr;
  bool(name: string, value: boolean): NativeAttr;
  /** A dtype attribute: float32, int32 or bool. */
  type(name: string, dtype: 'float32' | 'int32' | 'bool'): NativeAttr;
}

let cached: { backend: NativeBackend; attrs: NativeAttrs } | null | undefined;

function native(): { backend: NativeBackend; attrs: NativeAttrs } | null {
  if (cached !== undefined) return cached;
  const backend = tf.backend() as unknown as Partial<NativeBackend>;
  if (typeof backend.executeSingleOutput !== 'function' || !backend.binding) return (cached = null);
  const b = backend.binding;
  const dtypes = { float32: b.TF_FLOAT, int32: b.TF_INT32, bool: b.TF_BOOL };
  cached = {
    backend: backend as NativeBackend,
    attrs: {
      int: (name, value) => ({ name, type: b.TF_ATTR_INT, value }),
      bool: (name, value) => ({ name, type: b.TF_ATTR_BOOL, value }),
      type: (name, dtype) => ({ name, type: b.TF_ATTR_TYPE, value: dtypes[dtype] }),
    },
  };
  return cached;
}

/**
 * Runs one TensorFlow op by name on the native backend, outside TF.js's kernel
 * registry: null when the backend is not tfjs-node's (callers fall back to the
 * TF.js op). The result is an ordinary tensor (tidy disposes it), but the op
 * is never recorded on a gradient tape, so use it only where no tape can see
 * it: inside a tf.customGrad forward or gradient function, or for inference.
 * Used where tfjs-node's kernel wrapper costs more than the op: gather reads
 * every index back into JS to check it, matMul goes through BatchMatMulV2,
 * ~1.5× slower than MatMul on transposed operands.
 */
export function runNativeOp(name: string, attrs: (a: NativeAttrs) => NativeAttr[], inputs: Tensor[]): Tensor | null {
  const n = native();
  return n ? n.backend.executeSingleOutput(name, attrs(n.attrs), inputs) : null;
}

/** `runNativeOp` for an op with several outputs. */
export function runNativeOpOutputs(name: string, attrs: (a: NativeAttrs) => NativeAttr[], inputs: Tensor[], outputs: number): Tensor[] | null {
  const n = native();
  return n ? n.backend.executeMultipleOutputs(name, attrs(n.attrs), inputs, outputs) : null;
}

/**
 * tf.gather(x, indices) along axis 0 as TensorFlow's GatherV2, which checks
 * the index range itself (InvalidArgument), without tfjs-node's extra JS pass
 * over the indices (~1 ms per 50k, four times the gather). Not on the tape.
 */
export function gatherUntaped(x: Tensor, indices: Tensor): Tensor {
  if ((x.dtype !== 'float32' && x.dtype !== 'int32') || indices.dtype !== 'int32') return tf.gather(x, indices);
  const axis = tf.scalar(0, 'int32');
  try {
    const dtype = x.dtype;
    return runNativeOp('GatherV2', (a) => [a.int('batch_dims', 0), a.type('Tparams', dtype), a.type('Tindices', 'int32'), a.type('Taxis', 'int32')], [x, indices, axis])
      ?? tf.gather(x, indices);
  } finally {
    axis.dispose();
  }
}

/**
 * 2-D matMul straight to TensorFlow's BatchMatMulV2 (what tf.matMul runs),
 * without the tape's bookkeeping. Never TensorFlow's MatMul op: it runs
 * oneDNN's JIT sgemm, which points the stack pointer into a heap workspace
 * while it computes, so any signal delivered then (SIGCHLD from a child
 * process, SIGPROF from --cpu-prof) writes its frame over the malloc heap and
 * the process later aborts with "corrupted size vs. prev_size" (oneDNN issue
 * 4845, fixed upstream in PR 4855, after the oneDNN in TensorFlow 2.21).
 * BatchMatMulV2 runs oneDNN's brgemm matmul, which keeps to its stack.
 */
export function matMulUntaped(a: Tensor, b: Tensor, transposeA = false, transposeB = false): Tensor {
  if (a.rank !== 2 || b.rank !== 2 || a.dtype !== 'float32' || b.dtype !== 'float32') {
    return tf.matMul(a as ReturnType<typeof tf.tensor2d>, b as ReturnType<typeof tf.tensor2d>, transposeA, transposeB);
  }
  return runNativeOp('BatchMatMulV2', (x) => [x.type('T', 'float32'), x.bool('adj_x', transposeA), x.bool('adj_y', transposeB)], [a, b])
    ?? tf.matMul(a as ReturnType<typeof tf.tensor2d>, b as ReturnType<typeof tf.tensor2d>, transposeA, transposeB);
}

/**
 * tf.unsortedSegmentSum(x, segmentIds, numSegments) for ids in ascending
 * order, as TensorFlow's SegmentSum: ~12× faster than UnsortedSegmentSum at
 * DIN's shapes (26k × 32 into 1,024 rows: 0.08 vs 1.0 ms on 2 threads, measured once).
 * TensorFlow refuses ids that are not
 * sorted (InvalidArgument). SegmentSum's output ends at the last id present,
 * so trailing empty segments are appended as zeros. Not on the tape.
 */
export function segmentSumUntaped(x: Tensor, segmentIds: Tensor, numSegments: number): Tensor {
  if (x.dtype !== 'float32' || segmentIds.dtype !== 'int32' || segmentIds.rank !== 1) {
    return tf.unsortedSegmentSum(x, segmentIds as ReturnType<typeof tf.tensor1d>, numSegments);
  }
  const summed = runNativeOp('SegmentSum', (a) => [a.type('T', 'float32'), a.type('Tindices', 'int32')], [x, segmentIds]);
  if (!summed) return tf.unsortedSegmentSum(x, segmentIds as ReturnType<typeof tf.tensor1d>, numSegments);
  const rows = summed.shape[0]!;
  if (rows > numSegments) {
    summed.dispose();
    throw new RangeError(`segment id ${rows - 1} is not below numSegments ${numSegments}`);
  }
  if (rows === numSegments) return summed;
  const padded = tf.tidy(() => tf.concat([summed, tf.zeros([numSegments - rows, ...x.shape.slice(1)])], 0));
  summed.dispose();
  return padded;
}
