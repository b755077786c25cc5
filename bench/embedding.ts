// Sparse-embedding training step: lookup → TF forward/backward on the U×dim
// rows only → lazy Adam in JS, against PyTorch's nn.Embedding(sparse=True) +
// SparseAdam (bench/peers/embedding_sparse_adam.py) on the same work.
//
//   npm run bench -- embedding [--sizes 1e6,1e7] [--rows N] [--steps 200] [--warmup 20]
//                              [--dist zipf|uniform] [--ops gather,bag] [--threads 2] [--dim 16]
//                              [--batch 1024] [--seq 50] [--no-peer]
//
// Each size runs in a child process of its own so RSS is that size's alone,
// then the peer runs on the same size (never both at once: the machine has 2
// cores). Ids are drawn before timing, as the peer does: Zipf(1.05) ranks
// scattered over the rows by a fixed permutation, 32 batches cycled.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EmbeddingTable } from '../features/embedding/tables/embedding-table.js';
import { gatherRows } from '../features/embedding/tf/tf-gather-rows.js';
import type { Tensor2D } from '../features/embedding/tf/tf-gather-rows.js';
import { poolRows } from '../features/embedding/tf/tf-pool-rows.js';
import { mulberry32 } from '../features/math/mulberry32.js';
import { tf } from '../infra/tf.js';
import { flagReader, PEER_MISSING, peerPython, quantile, round, runJsonChild, spawnWorker } from './lib/harness.js';
import { idSampler } from './lib/id-sampler.js';

const { values: flags } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1e6,1e7' },
    rows: { type: 'string' },
    dim: { type: 'string', default: '16' },
    batch: { type: 'string', default: '1024' },
    seq: { type: 'string', default: '50' },
    steps: { type: 'string', default: '200' },
    warmup: { type: 'string', default: '20' },
    dist: { type: 'string', default: 'zipf' },
    'zipf-s': { type: 'string', default: '1.05' },
    batches: { type: 'string', default: '32' },
    seed: { type: 'string', default: '0' },
    lr: { type: 'string', default: '1e-3' },
    // gather: gatherRows + tf.mean, the generic path (torch: embedding(ids).mean(1));
    // bag: poolRows, the fused pooled lookup (torch: EmbeddingBag). Both by default.
    ops: { type: 'string', default: 'gather,bag' },
    // Threads for the lazy Adam update; the peer runs torch with 2.
    threads: { type: 'string', default: '2' },
    'no-peer': { type: 'boolean', default: false },
    worker: { type: 'boolean', default: false },
  },
});

const { number: num, oneOf } = flagReader(flags);

const settings = {
  dim: num('dim'),
  batch: num('batch'),
  seq: num('seq'),
  steps: num('steps'),
  warmup: num('warmup'),
  dist: oneOf('dist', ['zipf', 'uniform'] as const),
  zipfS: num('zipf-s'),
  batches: num('batches'),
  seed: num('seed'),
  lr: num('lr'),
  threads: num('threads'),
};

interface Result {
  rows: number;
  ms_per_step_p50: number;
  ms_per_step_mean: number;
  steps_per_s: number;
  unique_rows_per_step: number;
  rss_mb: number;
  rss_peak_mb: number;
  bytes_per_row: number;
  bytes_per_row_total: number;
  phases_ms: { lookup: number; tf: number; adam: number };
  init_s: number;
  minor_faults_per_step: number;
}

/** Batches of row ids, Zipf ranks (inverse CDF) through a random permutation, or uniform; seeded, so runs repeat exactly. */
function drawBatches(rows: number): Int32Array[] {
  const draw = idSampler(rows, 0, { dist: settings.dist, zipfS: settings.zipfS }, mulberry32(settings.seed));
  const size = settings.batch * settings.seq;
  return Array.from({ length: settings.batches }, () => Int32Array.from({ length: size }, draw));
}

type Tensor = ReturnType<typeof tf.tensor>;


async function runWorker(rows: number): Promise<Result> {
  const { dim, batch, seq } = settings;
  const batches = drawBatches(rows);
  const initStart = performance.now();
  const table = new EmbeddingTable({ name: 'bench', rows, dim, optimizer: { kind: 'adam', learningRate: settings.lr }, seed: settings.seed, threads: settings.threads });
  const initSeconds = (performance.now() - initStart) / 1e3;

  // loss = Σ_b ‖mean_l rows[inverse[b,l]]‖², as the peer computes it.
  const pooled: (r: Tensor, inverse: Int32Array) => Tensor =
    flags.ops === 'bag'
      ? (r, inverse) => poolRows(r as Tensor2D, inverse, seq)
      : (r, inverse) => gatherRows(r as Tensor2D, inverse).reshape([batch, seq, dim]).mean(1);
  const step = (ids: Int32Array, phases: number[]): number => {
    const t0 = performance.now();
    const { unique, inverse, rows: values } = table.lookup(ids);
    const t1 = performance.now();
    const gradTensor = tf.tidy(() => {
      const lossOf = (r: Tensor) => pooled(r, inverse).square().sum();
      return tf.grad(lossOf)(tf.tensor2d(values, [unique.length, dim]));
    });
    // Read outside tidy: tidy walks whatever it returns, element by element
    // for a typed array (~35 ms for 280k floats).
    const grad = gradTensor.dataSync() as Float32Array;
    gradTensor.dispose();
    const t2 = performance.now();
    table.applyGradients(unique, grad);
    const t3 = performance.now();
    phases[0]! += t1 - t0;
    phases[1]! += t2 - t1;
    phases[2]! += t3 - t2;
    return unique.length;
  };

  const times: number[] = [];
  const phases = [0, 0, 0];
  let uniqueTotal = 0;
  let faults = 0;
  for (let i = 0; i < settings.warmup + settings.steps; i++) {
    const measured = i >= settings.warmup;
    if (i === settings.warmup) faults = process.resourceUsage().minorPageFault;
    const start = performance.now();
    const unique = step(batches[i % batches.length]!, measured ? phases : [0, 0, 0]);
    if (measured) {
      times.push(performance.now() - start);
      uniqueTotal += unique;
    }
  }
  faults = (process.resourceUsage().minorPageFault - faults) / settings.steps;
  if (tf.memory().numTensors > 0) throw new Error(`${tf.memory().numTensors} tensors leaked by the step`);
  const sorted = [...times].sort((a, b) => a - b);
  const mean = times.reduce((s, t) => s + t, 0) / times.length;
  const memory = table.memory();
  await table.close();
  return {
    rows,
    ms_per_step_p50: round(quantile(sorted, 0.5)),
    ms_per_step_mean: round(mean),
    steps_per_s: round(1e3 / mean, 2),
    unique_rows_per_step: round(uniqueTotal / times.length, 1),
    rss_mb: round(process.memoryUsage().rss / 2 ** 20, 1),
    rss_peak_mb: round(process.resourceUsage().maxRSS / 1024, 1),
    bytes_per_row: (memory.weightBytes + memory.optimizerBytes) / rows,
    bytes_per_row_total: round(memory.bytesPerRow, 2),
    phases_ms: { lookup: round(phases[0]! / times.length), tf: round(phases[1]! / times.length), adam: round(phases[2]! / times.length) },
    init_s: round(initSeconds, 2),
    minor_faults_per_step: Math.round(faults),
  };
}

interface PeerResult {
  ms_per_step_p50: number;
  steps_per_s: number;
  rss_mb: number;
  bytes_per_row: number;
  unique_rows_per_step?: number;
}

function runSelf(rows: number, op: string): Result {
  const args = ['--rows', String(rows), '--ops', op];
  for (const name of ['dim', 'batch', 'seq', 'steps', 'warmup', 'dist', 'zipf-s', 'batches', 'seed', 'lr', 'threads'] as const) args.push(`--${name}`, String(flags[name]));
  const result = spawnWorker<Result>(import.meta.url, args, `embedding bench worker for ${rows} rows`);
  if (!result) throw new Error(`embedding bench worker for ${rows} rows failed`);
  return result;
}

function runPeer(python: string, rows: number): PeerResult | null {
  const script = fileURLToPath(new URL('./peers/embedding_sparse_adam.py', import.meta.url));
  const args = [script, '--rows', String(rows), '--threads', '2'];
  for (const name of ['dim', 'batch', 'seq', 'steps', 'warmup', 'dist', 'zipf-s', 'batches', 'seed', 'lr'] as const) args.push(`--${name}`, String(flags[name]));
  return runJsonChild<PeerResult>(python, args, 'peer (reporting ours alone)');
}

function sizes(): number[] {
  const list = (flags.rows ?? flags.sizes).split(',').map(Number);
  const bad = list.filter((n) => !Number.isInteger(n) || n < 1);
  if (bad.length > 0) throw new Error(`sizes must be positive integers (1e6 is fine), got ${bad.join(', ')}`);
  return list;
}

if (flags.worker) {
  console.log(JSON.stringify(await runWorker(sizes()[0]!)));
} else {
  const python = flags['no-peer'] ? null : peerPython();
  const { dim, batch, seq, steps, warmup, dist } = settings;
  console.log(`embedding bench: dim ${dim}, ${batch}×${seq} lookups/step, ${dist}${dist === 'zipf' ? `(${settings.zipfS})` : ''}, lazy Adam on ${settings.threads} thread(s), ${steps} steps after ${warmup} warmup, native TF ${tf.version.tfjs}`);
  if (!python && !flags['no-peer']) {
    console.log(`  ${PEER_MISSING}`);
  }
  const ops = flags.ops.split(',');
  const unknown = ops.filter((op) => op !== 'gather' && op !== 'bag');
  if (unknown.length > 0) throw new Error(`--ops takes gather and/or bag, got ${unknown.join(', ')}`);
  const results = [];
  for (const rows of sizes()) {
    console.log(`\n${rows.toLocaleString('en')} × ${dim}`);
    const ours: Record<string, Result> = {};
    for (const op of ops) {
      const result = runSelf(rows, op);
      ours[op] = result;
      console.log(`  ours ${op.padEnd(6)} ${result.ms_per_step_p50.toFixed(2)} ms/step p50, ${result.ms_per_step_mean.toFixed(2)} mean, ${result.steps_per_s} steps/s, RSS ${result.rss_mb} MB (peak ${result.rss_peak_mb})`);
      console.log(`              lookup ${result.phases_ms.lookup} ms + TF forward/grad ${result.phases_ms.tf} ms + lazy Adam ${result.phases_ms.adam} ms; ${result.unique_rows_per_step.toFixed(0)} unique rows/step, ${result.minor_faults_per_step} page faults/step`);
    }
    const first = Object.values(ours)[0]!;
    console.log(`  ours   ${first.bytes_per_row} B/row weights+Adam (${first.bytes_per_row_total} with the dedupe scratch), table init ${first.init_s} s`);
    const peer = python ? runPeer(python, rows) : null;
    const ratio = (pick: (r: { steps_per_s: number; ms_per_step_p50: number }) => number) =>
      Object.fromEntries(Object.entries(ours).map(([op, r]) => [op, peer ? Number((pick(r) / pick(peer)).toFixed(2)) : null]));
    const ratios = ratio((r) => r.steps_per_s);
    // Steps/s come from mean step times; the p50 ratio shrugs off a co-tenant stealing the CPU for a few steps.
    const ratiosP50 = ratio((r) => 1 / r.ms_per_step_p50);
    if (peer) {
      console.log(`  torch  ${peer.ms_per_step_p50.toFixed(2)} ms/step p50, ${peer.steps_per_s} steps/s, RSS ${peer.rss_mb} MB, ${peer.bytes_per_row} B/row`);
      const show = (r: Record<string, number | null>) => Object.entries(r).map(([op, x]) => `${op} ${x}×`).join(', ');
      console.log(`  ours/torch steps/s: ${show(ratios)} (by p50 step time: ${show(ratiosP50)})`);
    }
    results.push({ rows, ours, peer, ratio_steps_per_s: ratios, ratio_p50: ratiosP50 });
  }
  console.log(JSON.stringify({ bench: 'embedding', dim, batch, seq, dist, steps, warmup, ops, results }));
}
