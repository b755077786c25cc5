// Training speed of the retrieval graph models (MF-BPR, LightGCN, sheaf
// scalar, sheaf d×d) with their shipped configs (configs/models/ml100k-*.json):
//  - MovieLens-100K CF protocol: seconds per epoch (one pass over the
//    training edges, validation excluded), timed after warm-up steps;
//  - a synthetic bipartite graph of 1M interactions: seconds per training
//    step at batch 1024 (every step propagates over the whole graph), the
//    epoch time extrapolated from it, and the process's peak RSS.
// Each (model, graph) runs in a child process of its own so RSS is that run's alone.
//
//   npm run bench -- graph-train [--models mf-bpr,lightgcn,sheaf-scalar,sheaf-matrix] [--paper]
//                                [--interactions 1000000] [--users 60000] [--items 30000] [--steps 5] [--warmup 2]
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createRng, cumulative, sampleCumulative } from '../features/math/rng.js';
import { loadMovieLens } from '../features/datasets/movielens.js';
import { movieLensCf } from '../features/datasets/movielens-cf.js';
import { buildBipartiteGraph, type BipartiteGraph } from '../models/graph/bipartite-graph.js';
import { createGraphModel } from '../models/graph/create-graph-model.js';
import { GRAPH_MODEL_TYPES, type GraphModelType } from '../models/graph/graph-config.js';
import { sampleEpochTriples } from '../models/graph/negative-sampling.js';
import { createOptimizers, trainStep } from '../models/graph/train-graph.js';
import { cfConfigFile, loadCfConfig } from '../pipelines/training/cf-config.js';
import { spawnWorker } from './lib/harness.js';

const { values: flags } = parseArgs({
  options: {
    models: { type: 'string', default: GRAPH_MODEL_TYPES.join(',') },
    paper: { type: 'boolean', default: false },
    interactions: { type: 'string', default: '1000000' },
    users: { type: 'string', default: '60000' },
    items: { type: 'string', default: '30000' },
    steps: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    batch: { type: 'string', default: '1024' },
    worker: { type: 'boolean', default: false },
    graph: { type: 'string', default: 'ml100k' },
    config: { type: 'string' },
    model: { type: 'string' },
  },
});

interface WorkerResult {
  model: string;
  config: string;
  graph: string;
  nodes: number;
  edges: number;
  layers: number;
  batch: number;
  steps_per_epoch: number;
  seconds_per_step: number;
  seconds_per_epoch: number;
  /** true when the epoch time is steps × measured step time rather than a timed epoch. */
  extrapolated: boolean;
  rss_peak_mb: number;
}

/** Zipf(0.8)-popular items, users drawn uniformly; distinct pairs until `interactions`. */
function syntheticGraph(users: number, items: number, interactions: number): BipartiteGraph {
  const rng = createRng(42);
  const cdf = cumulative(Float64Array.from({ length: items }, (_, r) => 1 / (r + 1) ** 0.8));
  const seen = new Set<number>();
  const us = new Int32Array(interactions);
  const is = new Int32Array(interactions);
  let n = 0;
  while (n < interactions) {
    const u = rng.int(users);
    const i = sampleCumulative(cdf, rng.next());
    const key = u * items + i;
    if (seen.has(key)) continue;
    seen.add(key);
    us[n] = u; is[n] = i; n++;
  }
  return buildBipartiteGraph(users, items, us, is);
}

async function worker(): Promise<WorkerResult> {
  const type = flags.model as GraphModelType;
  const config = loadCfConfig(flags.config!);
  let graph: BipartiteGraph;
  if (flags.graph === 'ml100k') {
    const split = movieLensCf(await loadMovieLens());
    graph = buildBipartiteGraph(split.userIds.length, split.itemIds.length, split.train.users, split.train.items);
  } else {
    graph = syntheticGraph(Number(flags.users), Number(flags.items), Number(flags.interactions));
  }
  const batch = flags.graph === 'ml100k' ? config.training.batchSize : Number(flags.batch);
  const model = createGraphModel({ ...config.model, type }, graph);
  const optimizer = createOptimizers(config.training.learningRate, config.training.layerLearningRate);
  const triples = sampleEpochTriples(graph, createRng(1));
  const stepsPerEpoch = Math.ceil(graph.numEdges / batch);
  const step = (k: number) => {
    const start = (k % stepsPerEpoch) * batch;
    const end = Math.min(graph.numEdges, start + batch);
    const loss = trainStep(model, optimizer, triples.users.subarray(start, end), triples.positives.subarray(start, end), triples.negatives.subarray(start, end), config.training.decay);
    loss.dataSync();
    loss.dispose();
  };
  const warmup = Number(flags.warmup);
  for (let k = 0; k < warmup; k++) step(k);
  // On ML-100K a whole epoch is timed; on the big graph a few steps, extrapolated.
  const timed = flags.graph === 'ml100k' ? stepsPerEpoch : Number(flags.steps);
  const started = performance.now();
  for (let k = 0; k < timed; k++) step(warmup + k);
  const secondsPerStep = (performance.now() - started) / 1000 / timed;
  const result: WorkerResult = {
    model: type, config: flags.config!.split('/').pop()!, graph: flags.graph!, nodes: graph.numNodes, edges: graph.numEdges,
    layers: type === 'mf-bpr' ? 0 : config.model.layers, batch, steps_per_epoch: stepsPerEpoch,
    seconds_per_step: secondsPerStep, seconds_per_epoch: secondsPerStep * stepsPerEpoch,
    extrapolated: timed < stepsPerEpoch, rss_peak_mb: process.resourceUsage().maxRSS / 1024,
  };
  model.dispose();
  optimizer.embedding.dispose();
  optimizer.layers?.dispose();
  return result;
}

if (flags.worker) {
  console.log(JSON.stringify(await worker()));
} else {
  const runs: { model: GraphModelType; file: string }[] = [];
  for (const model of flags.models.split(',') as GraphModelType[]) {
    runs.push({ model, file: cfConfigFile(model) });
    if (flags.paper && existsSync(cfConfigFile(model, 'paper'))) runs.push({ model, file: cfConfigFile(model, 'paper') });
  }
  const results: WorkerResult[] = [];
  for (const graph of ['ml100k', 'synthetic']) {
    for (const run of runs) {
      const args = ['--graph', graph, '--model', run.model, '--config', run.file,
        '--interactions', flags.interactions, '--users', flags.users, '--items', flags.items, '--steps', flags.steps, '--warmup', flags.warmup, '--batch', flags.batch];
      const r = spawnWorker<WorkerResult>(import.meta.url, args, `${run.model} on ${graph}`);
      if (!r) continue;
      results.push(r);
      console.log(`${graph.padEnd(9)} ${r.config.padEnd(28)} ${String(r.nodes).padStart(7)} nodes ${String(r.edges).padStart(8)} edges  batch ${r.batch}  ${(r.seconds_per_step * 1000).toFixed(1)} ms/step  ${r.seconds_per_epoch.toFixed(2)} s/epoch${r.extrapolated ? ' (extrapolated)' : ''}  RSS peak ${r.rss_peak_mb.toFixed(0)} MB`);
    }
  }
  console.log(JSON.stringify({ bench: 'graph-train', results }));
}
