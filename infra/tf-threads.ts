/**
 * TensorFlow reads its intra-op thread count (and oneDNN its OpenMP one) once,
 * when the library loads: call this before anything imports infra/tf.js.
 * 0 leaves TensorFlow's default (one thread per core).
 */
export function setTfThreads(threads: number): void {
  if (threads <= 0) return;
  process.env.TF_NUM_INTRAOP_THREADS = String(threads);
  process.env.OMP_NUM_THREADS = String(threads);
}
