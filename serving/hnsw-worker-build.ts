import { randomUUID } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import hnswlib from 'hnswlib-node';
import { HnswIndex, type HnswOptions } from './ann-index.js';

const HNSWLIB = createRequire(import.meta.url).resolve('hnswlib-node');

/**
 * The worker's program (plain CommonJS, so it runs however the process was
 * started): builds the index, measures recall@k of its answers against exact
 * search for the given queries, and writes the index to a file.
 */
const PROGRAM = `
const { parentPort, workerData: w } = require('node:worker_threads');
const { HierarchicalNSW } = require(w.hnswlib);
const n = w.vectors.length / w.dim;
const index = new HierarchicalNSW('ip', w.dim);
index.initIndex({ maxElements: Math.max(1, n), m: w.m, efConstruction: w.efConstruction, randomSeed: w.seed });
const point = new Array(w.dim);
for (let r = 0; r < n; r++) {
  for (let d = 0; d < w.dim; d++) point[d] = w.vectors[r * w.dim + d];
  index.addPoint(point, r);
}
index.setEf(Math.max(w.ef, w.k));
const q = w.queries.length / w.dim;
let hit = 0, total = 0;
const scores = new Float32Array(n);
for (let i = 0; i < q; i++) {
  const query = Array.from(w.queries.subarray(i * w.dim, (i + 1) * w.dim));
  for (let r = 0; r < n; r++) { let s = 0; for (let d = 0; d < w.dim; d++) s += w.vectors[r * w.dim + d] * query[d]; scores[r] = s; }
  const k = Math.min(w.k, n);
  const truth = new Set(Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a]).slice(0, k));
  for (const row of index.searchKnn(query, k).neighbors) if (truth.has(row)) hit++;
  total += k;
}
index.writeIndexSync(w.file);
parentPort.postMessage({ recall: total === 0 ? 1 : hit / total });
`;

/**
 * Builds an HNSW index in a worker thread, so a hot reload never stalls the
 * requests being served, and measures its recall@k on `queries` there too.
 * The index comes back through a temporary file.
 */
export async function buildHnswInWorker(vectors: Float32Array, dim: number, queries: Float32Array, { m = 16, efConstruction = 200, ef = 200, seed = 42 }: HnswOptions = {}, k = 100): Promise<{ index: HnswIndex; recall: number; buildSeconds: number }> {
  const file = path.join(tmpdir(), `recsys-hnsw-${process.pid}-${randomUUID()}.bin`);
  const started = performance.now();
  try {
    const { recall } = await new Promise<{ recall: number }>((resolve, reject) => {
      const worker = new Worker(PROGRAM, { eval: true, workerData: { hnswlib: HNSWLIB, vectors, dim, queries, m, efConstruction, ef, seed, k, file } });
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => { if (code !== 0) reject(new Error(`the HNSW build worker exited with code ${code}`)); });
    });
    const native = new hnswlib.HierarchicalNSW('ip', dim);
    await native.readIndex(file);
    const size = vectors.length / dim;
    return { index: HnswIndex.fromNative(native, size, dim, ef), recall, buildSeconds: (performance.now() - started) / 1000 };
  } finally {
    await unlink(file).catch(() => {});
  }
}
