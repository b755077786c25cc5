// DIN training speed: our DinModel (models/din, built by createCtrModel from a
// feature encoder, per-field tables outside the tape with lazy Adam, dense
// Adam in TF) against the PyTorch peer (bench/peers/din_train.py) on the same
// model, sizes and id distribution, in the same run.
//
//   npm run bench -- din-train [--steps 100] [--warmup 10] [--batch 1024] [--history 50]
//                              [--items 60000] [--cats 1000] [--users 50000] [--dim 16]
//                              [--peer-modes dense,sparse] [--no-peer] [--help]
//
// Ours runs in a child process of its own (TF's thread pools are sized from
// the environment when tfjs-node loads, and RSS is then ours alone), then the
// peer runs once per embedding mode; never two at once (the machine has 2
// cores). Every side gets the same thread count and the same glibc malloc
// settings (the peer's `--malloc tuned`, see bench/peers/peer_common.py).
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { mulberry32 } from '../features/math/mulberry32.js';
import type { EncodedBatch } from '../features/spec/feature-encoder.js';
import { dinBenchSpec, vocabularyOfRows } from './lib/din-bench-spec.js';
import { flagReader, meanOf, quantile, round, runJsonChild, spawnWorker, withLoad } from './lib/harness.js';
import { idSampler } from './lib/id-sampler.js';
// Type only: the worker sets TF's thread pools before tfjs-node loads.
import type { tf as TfModule } from '../infra/tf.js';

type Tf = typeof TfModule;

const HELP = `usage: npm run bench -- din-train [options]

DIN (batch × history behaviours; item = concat(item id, category) embeddings;
attention MLP [q,k,q−k,q⊙k] → 80 → 40 → 1 with PReLU, no softmax; final MLP
200 → 80 → 1 with Dice; Adam) trained by our DinModel and by the PyTorch peer
(bench/peers/din_train.py, the faster of its dense and sparse embedding modes).

options (defaults in brackets):
  --steps N          measured training steps [100]
  --warmup N         unmeasured training steps first [10]
  --batch N          examples per step [1024]
  --history N        behaviours per example (max history length) [50]
  --min-history N    shortest history: lengths are uniform in [min-history, history],
                     padding after them (the peer's --min-seq); = --history for no padding [1]
  --items N          item-id table rows, row 0 = padding [60000]
  --cats N           category table rows, row 0 = padding [1000]
  --users N          user-id table rows [50000]
  --dim N            embedding dim per table [16]
  --att-act KIND     attention activation: prelu, dice or sigmoid [prelu]
  --dist KIND        item popularity: zipf or uniform [zipf]
  --zipf-s S         Zipf exponent [1.05]
  --batches N        distinct batches drawn before timing and cycled [16]
  --infer-steps N    measured forward-only batches [50]
  --infer-warmup N   unmeasured forward-only batches first [5]
  --threads N        threads: TF's intra-op pool (ours), torch.set_num_threads (peer) [2]
  --lr X             learning rate, dense and embeddings [1e-3]
  --seed N           data and initialisation seed [0]
  --malloc KIND      tuned or glibc, for both sides (see bench/peers/README.md) [tuned]
  --peer-modes LIST  peer embedding modes to run, each in its own process [dense,sparse]
  --rounds N         run ours and the peer N times, alternating, and keep each side's
                     round with the fastest median step (for a busy shared machine) [1]
  --no-peer          run ours only
  --profile          after timing, print ours' TF kernels per inference and training call
  --help             this text

Prints examples/s (mean and median step), p50/p99 step ms, RSS, inference
examples/s and a loss-decrease check for both sides, then one JSON line.

On a busy shared machine torch's OpenMP threads spin-wait for a descheduled
partner at every parallel region and its steps can take 20× longer (ours, on
TF's thread pool, slows far less): compare the printed load averages, use
--rounds, and OMP_WAIT_POLICY=PASSIVE in the environment (both sides inherit
it) to give the peer its best case.`;

const { values: flags } = parseArgs({
  options: {
    steps: { type: 'string', default: '100' },
    warmup: { type: 'string', default: '10' },
    batch: { type: 'string', default: '1024' },
    history: { type: 'string', default: '50' },
    'min-history': { type: 'string', default: '1' },
    items: { type: 'string', default: '60000' },
    cats: { type: 'string', default: '1000' },
    users: { type: 'string', default: '50000' },
    dim: { type: 'string', default: '16' },
    'att-act': { type: 'string', default: 'prelu' },
    dist: { type: 'string', default: 'zipf' },
    'zipf-s': { type: 'string', default: '1.05' },
    batches: { type: 'string', default: '16' },
    'infer-steps': { type: 'string', default: '50' },
    'infer-warmup': { type: 'string', default: '5' },
    threads: { type: 'string', default: '2' },
    lr: { type: 'string', default: '1e-3' },
    seed: { type: 'string', default: '0' },
    malloc: { type: 'string', default: 'tuned' },
    'peer-modes': { type: 'string', default: 'dense,sparse' },
    rounds: { type: 'string', default: '1' },
    'no-peer': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    worker: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

/** Flags forwarded to our worker (all) and, renamed where needed, to the peer. */
const SHARED = ['steps', 'warmup', 'batch', 'history', 'min-history', 'items', 'cats', 'users', 'dim', 'att-act', 'dist', 'zipf-s', 'batches', 'infer-steps', 'infer-warmup', 'threads', 'lr', 'seed'] as const;

const { int, positive, oneOf } = flagReader(flags);

function readSettings() {
  const settings = {
    steps: int('steps', 1),
    warmup: int('warmup', 0),
    batch: int('batch', 1),
    history: int('history', 1),
    minHistory: int('min-history', 1),
    items: int('items', 3),
    cats: int('cats', 3),
    users: int('users', 3),
    dim: int('dim', 1),
    attAct: oneOf('att-act', ['prelu', 'dice', 'sigmoid'] as const),
    dist: oneOf('dist', ['zipf', 'uniform'] as const),
    zipfS: positive('zipf-s'),
    batches: int('batches', 1),
    inferSteps: int('infer-steps', 1),
    inferWarmup: int('infer-warmup', 0),
    threads: int('threads', 1),
    lr: positive('lr'),
    seed: int('seed', 0),
    malloc: oneOf('malloc', ['tuned', 'glibc'] as const),
    rounds: int('rounds', 1),
    profile: flags.profile,
  };
  if (settings.minHistory > settings.history) throw new Error(`--min-history must be ≤ --history, got ${settings.minHistory} > ${settings.history}`);
  return settings;
}
type Settings = ReturnType<typeof readSettings>;

/** One side's figures, as both the worker and the peer report them. */
interface SideResult {
  train_examples_per_s: number;
  train_examples_per_s_p50: number;
  ms_per_step_p50: number;
  ms_per_step_p99: number;
  ms_per_step_mean: number;
  ms_per_step_min: number;
  infer_examples_per_s: number;
  infer_examples_per_s_p50: number;
  infer_ms_p50: number;
  loss_first: number;
  loss_last: number;
  rss_mb: number;
  rss_peak_mb: number;
  /** RSS once the framework is loaded, before any model or data. */
  rss_base_mb: number;
  minor_faults_per_step: number;
}

// ---------------------------------------------------------------- data

/**
 * The peer's synthetic DIN data as EncodedBatch objects: one category per item,
 * history lengths uniform in [min-history, history] with padding (id 0) after them,
 * users uniform, and clicks likelier (0.8 vs 0.2) when the candidate's
 * category occurs in the history, so the attention unit has something to learn.
 */
function drawBatches(s: Settings): EncodedBatch[] {
  // Seeded, so every run trains on the same batches.
  const random = mulberry32(s.seed);
  const item = idSampler(s.items, 1, s, random);
  const categoryOf = Int32Array.from({ length: s.items }, (_, i) => (i === 0 ? 0 : 1 + Math.floor(random() * (s.cats - 1))));
  const { batch: B, history: L } = s;
  return Array.from({ length: s.batches }, () => {
    const lengths = Int32Array.from({ length: B }, () => s.minHistory + Math.floor(random() * (L - s.minHistory + 1)));
    const histItems = new Int32Array(B * L);
    const histCats = new Int32Array(B * L);
    const candidate = new Int32Array(B);
    const candidateCat = new Int32Array(B);
    const users = new Int32Array(B);
    const labels = new Float32Array(B);
    for (let b = 0; b < B; b++) {
      candidate[b] = item();
      candidateCat[b] = categoryOf[candidate[b]!]!;
      users[b] = Math.floor(random() * s.users);
      let seen = false;
      for (let l = 0; l < lengths[b]!; l++) {
        const id = item();
        histItems[b * L + l] = id;
        histCats[b * L + l] = categoryOf[id]!;
        if (categoryOf[id] === candidateCat[b]) seen = true;
      }
      labels[b] = random() < (seen ? 0.8 : 0.2) ? 1 : 0;
    }
    return {
      size: B,
      labels,
      userIds: Array.from(users, String),
      itemIds: Array.from(candidate, String),
      single: { user_id: users, item_id: candidate, category: candidateCat },
      lists: {
        hist_items: { ids: histItems, lengths, maxLength: L },
        hist_categories: { ids: histCats, lengths: lengths.slice(), maxLength: L },
      },
    };
  });
}

// ---------------------------------------------------------------- ours (worker process)

/**
 * TF kernels per call and the time of each kind (tf.profile: each kernel is
 * timed alone, synchronously, so the sum exceeds an unprofiled call), the
 * rest of a call's wall time being JS: on stderr.
 */
async function profileKernels(tf: Tf, label: string, calls: number, run: (i: number) => unknown): Promise<void> {
  const started = performance.now();
  const info = await tf.profile(() => {
    for (let i = 0; i < calls; i++) run(i);
  });
  const wall = (performance.now() - started) / calls;
  const byKernel = new Map<string, { ms: number; count: number }>();
  for (const k of info.kernels) {
    const entry = byKernel.get(k.name) ?? { ms: 0, count: 0 };
    entry.ms += Number(k.kernelTimeMs) / calls;
    entry.count += 1 / calls;
    byKernel.set(k.name, entry);
  }
  const kernelMs = [...byKernel.values()].reduce((sum, e) => sum + e.ms, 0);
  const top = [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12).map(([name, e]) => `${name} ${e.ms.toFixed(1)} ms (${Math.round(e.count)}×)`).join(', ');
  console.error(`[ours] profile ${label}: ${(info.kernels.length / calls).toFixed(0)} TF kernels/call, ${kernelMs.toFixed(1)} ms in kernels of ${wall.toFixed(1)} ms/call profiled; ${top}`);
}

async function runWorker(s: Settings): Promise<SideResult & { tf: string; unique_rows_per_step: number }> {
  // TF sizes its thread pools from these when the addon creates its context.
  process.env.TF_NUM_INTRAOP_THREADS = String(s.threads);
  process.env.TF_NUM_INTEROP_THREADS = '1';
  process.env.OMP_NUM_THREADS = String(s.threads);
  const { tf, nativeTfVersion } = await import('../infra/tf.js');
  const { FeatureEncoder } = await import('../features/spec/feature-encoder.js');
  const { createCtrModel } = await import('../models/create-model.js');
  const { layoutIds } = await import('../models/ctr/embedding-inputs.js');
  // The runtime's own footprint (tfjs-node + libtensorflow), before any model or data: the peer's rss_base_mb.
  tf.tidy(() => tf.add(tf.scalar(1), 1).dataSync());
  const rssBase = process.memoryUsage().rss / 2 ** 20;

  const spec = dinBenchSpec('din-train-bench', s.history);
  // Vocabularies of exactly the peer's table sizes.
  const vocabulary = (rows: number) => vocabularyOfRows(rows, 'v');
  const encoder = new FeatureEncoder(spec, { user_id: vocabulary(s.users), item_id: vocabulary(s.items), category: vocabulary(s.cats) });
  const model = createCtrModel(encoder, {
    type: 'din',
    seed: s.seed + 1,
    embedding: { kind: 'per-field', dim: s.dim },
    learningRate: s.lr,
    embeddingLearningRate: s.lr,
    mbaLambda: 0,
    mlpUnits: [200, 80],
    activation: 'dice',
    attentionUnits: [80, 40],
    attentionActivation: s.attAct,
    attentionNorm: 'none',
  });
  const sizes = model.layout.tables.map((t) => `${t.name} ${t.rows}×${t.dim}`).join(', ');
  console.error(`[ours] DIN: tfjs-node ${tf.version.tfjs} on libtensorflow ${nativeTfVersion()}, tables ${sizes}, ${s.threads} threads`);

  const batches = drawBatches(s);
  let uniqueRows = 0;
  for (const b of batches) {
    const ids = layoutIds(model.plans, b);
    uniqueRows += model.layout.tables.reduce((n, t) => n + new Set(ids[t.name] as Int32Array).size, 0);
  }

  const times: number[] = [];
  const losses: number[] = [];
  let faults = 0;
  for (let i = 0; i < s.warmup + s.steps; i++) {
    if (i === s.warmup) faults = process.resourceUsage().minorPageFault;
    const start = performance.now();
    losses.push(model.trainStep(batches[i % batches.length]!));
    if (i >= s.warmup) times.push(performance.now() - start);
  }
  faults = (process.resourceUsage().minorPageFault - faults) / s.steps;
  const tensorsAfterTraining = tf.memory().numTensors;

  const inferTimes: number[] = [];
  for (let i = 0; i < s.inferWarmup + s.inferSteps; i++) {
    const start = performance.now();
    model.predict(batches[i % batches.length]!);
    if (i >= s.inferWarmup) inferTimes.push(performance.now() - start);
  }
  if (tf.memory().numTensors !== tensorsAfterTraining) throw new Error(`predict leaked ${tf.memory().numTensors - tensorsAfterTraining} tensors`);
  if (s.profile) {
    // After the timed runs, so tf.profile's bookkeeping does not touch them.
    await profileKernels(tf, 'infer', 5, (i) => model.predict(batches[i % batches.length]!));
    await profileKernels(tf, 'train', 3, (i) => model.trainStep(batches[i % batches.length]!));
  }
  const rss = process.memoryUsage().rss / 2 ** 20;
  const peak = process.resourceUsage().maxRSS / 1024;
  model.dispose();

  const sorted = [...times].sort((a, b) => a - b);
  const inferSorted = [...inferTimes].sort((a, b) => a - b);
  const k = Math.max(1, Math.min(20, Math.floor(losses.length / 2)));
  return {
    tf: `${tf.version.tfjs}/${nativeTfVersion()}`,
    train_examples_per_s: round((s.batch * 1e3) / meanOf(times), 1),
    train_examples_per_s_p50: round((s.batch * 1e3) / quantile(sorted, 0.5), 1),
    ms_per_step_p50: round(quantile(sorted, 0.5)),
    ms_per_step_p99: round(quantile(sorted, 0.99)),
    ms_per_step_mean: round(meanOf(times)),
    ms_per_step_min: round(sorted[0]!),
    infer_examples_per_s: round((s.batch * 1e3) / meanOf(inferTimes), 1),
    infer_examples_per_s_p50: round((s.batch * 1e3) / quantile(inferSorted, 0.5), 1),
    infer_ms_p50: round(quantile(inferSorted, 0.5)),
    loss_first: round(meanOf(losses.slice(0, k)), 4),
    loss_last: round(meanOf(losses.slice(-k)), 4),
    rss_mb: round(rss, 1),
    rss_peak_mb: round(peak, 1),
    rss_base_mb: round(rssBase, 1),
    minor_faults_per_step: Math.round(faults),
    unique_rows_per_step: round(uniqueRows / batches.length, 1),
  };
}

// ---------------------------------------------------------------- driver

// Same values as bench/peers/peer_common.py's MALLOC_TUNABLES.
const MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296';

function runOurs(s: Settings): (SideResult & { tf: string; unique_rows_per_step: number }) | null {
  const args: string[] = [];
  for (const name of [...SHARED, 'malloc'] as const) args.push(`--${name}`, String(flags[name]));
  if (s.profile) args.push('--profile');
  const env: NodeJS.ProcessEnv = { ...process.env, TF_NUM_INTRAOP_THREADS: String(s.threads), TF_NUM_INTEROP_THREADS: '1', OMP_NUM_THREADS: String(s.threads) };
  if (s.malloc === 'tuned') env.GLIBC_TUNABLES = MALLOC_TUNABLES;
  else delete env.GLIBC_TUNABLES;
  return spawnWorker(import.meta.url, args, 'ours', env);
}

type PeerResult = SideResult & { mode: string; torch: string; threads: number };

function runPeer(s: Settings, mode: string): PeerResult | null {
  const runner = fileURLToPath(new URL('./peers/run.sh', import.meta.url));
  const args = [runner, 'din_train.py', '--emb', mode, '--seq', String(s.history), '--min-seq', String(s.minHistory), '--malloc', s.malloc];
  for (const name of SHARED) if (name !== 'history' && name !== 'min-history') args.push(`--${name}`, String(flags[name]));
  const r = runJsonChild<PeerResult & { ms_per_step_p99?: number }>('bash', args, `peer (${mode}); \`bash bench/peers/install.sh\` installs it`);
  // The peer reports no p99 and its own RSS keys; fill in what it lacks.
  return r && { ...r, ms_per_step_p99: r.ms_per_step_p99 ?? Number.NaN };
}

function describe(name: string, r: SideResult & { load: [number, number] }, batch: number): void {
  console.log(`  ${name.padEnd(13)} train ${r.train_examples_per_s.toFixed(0).padStart(6)} ex/s (p50 step ${r.train_examples_per_s_p50.toFixed(0)} ex/s); step p50 ${r.ms_per_step_p50.toFixed(1)} ms, p99 ${Number.isNaN(r.ms_per_step_p99) ? '—' : r.ms_per_step_p99.toFixed(1)} ms, mean ${r.ms_per_step_mean.toFixed(1)} ms, min ${r.ms_per_step_min.toFixed(1)} ms; load ${r.load[0]} → ${r.load[1]} on ${cpus().length} CPUs`);
  console.log(`  ${''.padEnd(13)} infer ${r.infer_examples_per_s.toFixed(0).padStart(6)} ex/s (batch ${batch}, p50 ${r.infer_ms_p50.toFixed(1)} ms); RSS ${r.rss_mb} MB (peak ${r.rss_peak_mb}, runtime alone ${r.rss_base_mb}); ${r.minor_faults_per_step} page faults/step; loss ${r.loss_first} → ${r.loss_last} ${r.loss_last < r.loss_first ? '(decreases)' : '(DOES NOT DECREASE)'}`);
}

async function main(): Promise<void> {
  if (flags.help) {
    console.log(HELP);
    return;
  }
  const s = readSettings();
  if (flags.worker) {
    console.log(JSON.stringify(await runWorker(s)));
    return;
  }
  const modes = flags['no-peer'] ? [] : flags['peer-modes'].split(',').filter(Boolean);
  const badModes = modes.filter((m) => m !== 'dense' && m !== 'sparse');
  if (badModes.length > 0) throw new Error(`--peer-modes takes dense and/or sparse, got ${badModes.join(', ')}`);
  console.log(`din-train bench: batch ${s.batch} × history ${s.history} (lengths ${s.minHistory}–${s.history}), tables items ${s.items} / cats ${s.cats} / users ${s.users} × ${s.dim}, ${s.dist}${s.dist === 'zipf' ? `(${s.zipfS})` : ''} items, attention ${s.attAct}, ${s.steps} steps after ${s.warmup} warmup, ${s.threads} threads, malloc ${s.malloc}${process.env.OMP_WAIT_POLICY ? `, OMP_WAIT_POLICY=${process.env.OMP_WAIT_POLICY}` : ''}`);

  // Each round runs ours, then each peer mode; per side the round with the fastest median step is
  // kept, so a co-tenant's busy stretch (torch's OpenMP threads suffer most) need not decide the ratio.
  type Measured<T> = T & { load: [number, number] };
  const better = <T extends SideResult>(a: Measured<T> | null, b: Measured<T> | null) => (!a || (b && b.train_examples_per_s_p50 > a.train_examples_per_s_p50) ? b : a);
  let ours: Measured<SideResult & { tf: string; unique_rows_per_step: number }> | null = null;
  const byMode = new Map<string, Measured<PeerResult> | null>();
  for (let round = 1; round <= s.rounds; round++) {
    if (s.rounds > 1) console.log(`
round ${round} of ${s.rounds}`);
    const mine = withLoad(() => runOurs(s));
    if (mine) describe(`ours${s.rounds > 1 ? ` r${round}` : ''}`, mine, s.batch);
    ours = better(ours, mine);
    for (const mode of modes) {
      const result = withLoad(() => runPeer(s, mode));
      if (result && s.rounds > 1) describe(`torch ${mode} r${round}`, result, s.batch);
      byMode.set(mode, better(byMode.get(mode) ?? null, result));
    }
  }
  if (ours) {
    console.log(`
ours (tfjs-node ${ours.tf}; ${ours.unique_rows_per_step.toFixed(0)} distinct rows/step)${s.rounds > 1 ? ', best round' : ''}`);
    describe('ours', ours, s.batch);
  }
  const peers = [...byMode.values()].filter((r): r is Measured<PeerResult> => r !== null);
  // The peer's faster mode, judged on the median step (robust to a co-tenant's stall).
  const peer = peers.reduce<(PeerResult & { load: [number, number] }) | null>((best, r) => (!best || r.train_examples_per_s_p50 > best.train_examples_per_s_p50 ? r : best), null);
  if (peers.length > 0) {
    console.log(`\npeer (torch ${peers[0]!.torch}, ${peers[0]!.threads} threads)${s.rounds > 1 ? ', best round per mode' : ''}`);
    for (const r of peers) describe(`torch ${r.mode}${r === peer ? '*' : ''}`, r, s.batch);
  }
  const ratio = (a: number | undefined, b: number | undefined) => (a && b ? round(a / b, 2) : null);
  const figures = {
    ratio_train: ratio(ours?.train_examples_per_s, peer?.train_examples_per_s),
    ratio_train_p50: ratio(ours?.train_examples_per_s_p50, peer?.train_examples_per_s_p50),
    ratio_train_min_step: ratio(peer?.ms_per_step_min, ours?.ms_per_step_min),
    ratio_infer: ratio(ours?.infer_examples_per_s, peer?.infer_examples_per_s),
  };
  const lossOk = (r: SideResult | null | undefined) => (r ? r.loss_last < r.loss_first : null);
  if (ours && peer) {
    console.log(`\nours/peer (${peer.mode}): train ${figures.ratio_train}× by mean step, ${figures.ratio_train_p50}× by median step, ${figures.ratio_train_min_step}× by fastest step; inference ${figures.ratio_infer}×`);
  }
  const loss = { ours: lossOk(ours), peer: lossOk(peer) };
  console.log(`loss decreases: ours ${loss.ours ?? '—'}, peer ${loss.peer ?? '—'}`);
  const side = (r: (SideResult & { load: [number, number] }) | null | undefined) =>
    r && {
      train_examples_per_s: r.train_examples_per_s, train_examples_per_s_p50: r.train_examples_per_s_p50,
      ms_per_step_p50: r.ms_per_step_p50, ms_per_step_p99: Number.isNaN(r.ms_per_step_p99) ? null : r.ms_per_step_p99, ms_per_step_mean: r.ms_per_step_mean, ms_per_step_min: r.ms_per_step_min,
      infer_examples_per_s: r.infer_examples_per_s, infer_ms_p50: r.infer_ms_p50,
      rss_mb: r.rss_mb, rss_peak_mb: r.rss_peak_mb, rss_base_mb: r.rss_base_mb, minor_faults_per_step: r.minor_faults_per_step,
      loss_first: r.loss_first, loss_last: r.loss_last, load_avg: r.load,
    };
  console.log(JSON.stringify({
    bench: 'din-train',
    settings: { ...s, ompWaitPolicy: process.env.OMP_WAIT_POLICY ?? null },
    ours: side(ours),
    peer: peer && { mode: peer.mode, torch: peer.torch, ...side(peer) },
    peer_modes: Object.fromEntries(peers.map((r) => [r.mode, side(r)])),
    ...figures,
    loss_decreases: loss,
  }));
  if (!ours || loss.ours === false || loss.peer === false) process.exitCode = 1;
}

await main();
