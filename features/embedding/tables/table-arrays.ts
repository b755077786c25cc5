import { nativeTables } from '../../../infra/native-tables.js';

/**
 * A zeroed array for a table's weights or optimizer slots: on shared memory
 * when worker threads will write it (ParallelApply), and with its whole 2 MB
 * pages on transparent huge pages when the table kernels are built. Why: a
 * step touches ~20k random rows of a 1–10M-row table, and with 4 KB pages
 * each of those is a TLB miss as well as a cache miss (the 10M × 16 embedding
 * bench step: 10.8 → 8.7 ms with huge pages). The advice is given before the
 * first write, while no page is faulted in yet.
 */
export function allocateTableArray(length: number, onSharedMemory: boolean): Float32Array {
  const array = onSharedMemory ? new Float32Array(new SharedArrayBuffer(length * 4)) : new Float32Array(length);
  nativeTables.kernels?.adviseHugePages(array);
  return array;
}

/** The array itself when already on shared memory, else a copy there (worker threads can only write memory they share). */
export function onSharedMemory(array: Float32Array): Float32Array {
  if (array.buffer instanceof SharedArrayBuffer) return array;
  const copy = allocateTableArray(array.length, true);
  copy.set(array);
  return copy;
}
