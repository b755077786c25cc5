import type { EncodedBatch } from '../../features/spec/feature-encoder.js';

/** Rows `index[from..to)` of an encoded dataset as a batch (copies; the model keeps no references). */
export function sliceBatch(data: EncodedBatch, index: ArrayLike<number>, from = 0, to = index.length): EncodedBatch {
  const n = to - from;
  const pick = <T extends Int32Array | Float32Array>(source: T, width: number, make: (k: number) => T): T => {
    const out = make(n * width);
    for (let i = 0; i < n; i++) {
      const r = index[from + i]!;
      if (width === 1) out[i] = source[r]!;
      else out.set(source.subarray(r * width, (r + 1) * width), i * width);
    }
    return out;
  };
  const batch: EncodedBatch = {
    size: n,
    labels: pick(data.labels, 1, (k) => new Float32Array(k)),
    userIds: Array.from({ length: n }, (_, i) => data.userIds[index[from + i]!]!),
    itemIds: Array.from({ length: n }, (_, i) => data.itemIds[index[from + i]!]!),
    single: {},
    lists: {},
  };
  for (const [name, ids] of Object.entries(data.single)) batch.single[name] = pick(ids, 1, (k) => new Int32Array(k));
  for (const [name, list] of Object.entries(data.lists)) {
    batch.lists[name] = {
      ids: pick(list.ids, list.maxLength, (k) => new Int32Array(k)),
      lengths: pick(list.lengths, 1, (k) => new Int32Array(k)),
      maxLength: list.maxLength,
    };
  }
  return batch;
}

export function range(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

/** Fisher–Yates with the caller's random source, so epochs are reproducible from the seed. */
export function shuffled(n: number, random: () => number): Int32Array {
  const order = range(n);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}
