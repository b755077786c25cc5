import { loadMovieLens } from '../../features/datasets/movielens.js';
import { movieLensEvents } from '../../features/datasets/movielens-events.js';
import { syntheticEvents } from '../../features/datasets/synthetic.js';
import type { Event } from '../../features/events/event-schema.js';
import { loadFeatureSpec } from '../../features/spec/feature-spec.js';
import { onShutdown } from '../../infra/shutdown.js';
import { setAllocationSitePretenuring } from '../../infra/v8-heap.js';
import type { SourceConfig } from '../../pipelines/training/train-config.js';
import { startEmbeddedServer } from '../../serving/embedded-server.js';
import { ServingMetrics } from '../../serving/serving-metrics.js';
import { curlExamples, pickExampleIds } from '../output/serve-examples.js';

export interface MainJobServeOptions {
  registry: string;
  ranker: { name: string; version: number };
  /** The sheaf GNN on MovieLens; null on the synthetic stream (recommend then needs candidates). */
  retrieval: { name: string; version: number } | null;
  /** The ranker's training source: its events fill the online store. */
  source: SourceConfig;
  /** The ranker's feature spec file. */
  features: string;
  decisionsFile: string;
  /** @default RECSYS_SERVE_PORT or 8080 */
  port?: number;
}

async function sourceEvents(source: SourceConfig): Promise<Event[]> {
  switch (source.kind) {
    case 'movielens': return movieLensEvents(await loadMovieLens(source.dir, { download: false }));
    case 'synthetic': return [...syntheticEvents({ events: source.events, users: source.users, items: source.items, seed: source.seed, ...(source.abruptDriftAt !== undefined ? { abruptDriftAt: source.abruptDriftAt } : {}) })];
    default: throw new Error(`the main job serves MovieLens or synthetic models, not a ${source.kind} source`);
  }
}

/**
 * The main job's last step: serve what it trained on a local port with no
 * services (registry folder, in-memory online store filled from the training
 * data, decision records to a JSONL file), print curl examples with real ids,
 * and run until SIGINT/SIGTERM.
 */
export async function serveMainJob(options: MainJobServeOptions): Promise<void> {
  const events = await sourceEvents(options.source);
  // Graph models keep MovieLens' numeric ids, which are the DIN's item and user ids as strings: no prefix.
  const server = await startEmbeddedServer({
    registry: options.registry, ranker: options.ranker, retrieval: options.retrieval, spec: loadFeatureSpec(options.features), events,
    decisionsFile: options.decisionsFile, settings: { ...(options.port !== undefined ? { port: options.port } : {}), itemIdPrefix: '', userIdPrefix: '' },
    metrics: new ServingMetrics().withProcessMetrics(),
  });
  const { running, online } = server;
  // Training is over: from here on this process is a server.
  setAllocationSitePretenuring(server.settings.pretenuring);
  const stopped = new Promise<void>((resolve) => {
    onShutdown('main-job-serve', async () => {
      await running.close();
      resolve();
    });
  });
  const retrieval = running.models.current?.retrieval;
  const ids = await pickExampleIds(events, async (id) => (await online.user(id, 1)).history.length > 0, (id) => !retrieval || retrieval.userVector(id) !== undefined);
  console.log(`\nserving on ${running.url} (Ctrl-C or SIGTERM to stop): ranker ${options.ranker.name} v${options.ranker.version}, ${options.retrieval ? `retrieval ${options.retrieval.name} v${options.retrieval.version}` : 'no retrieval model'}`);
  console.log(`online store: in memory, ${server.events} events of the training data; decision records: ${server.settings.decisionsFile}`);
  if (!options.retrieval) console.log('synthetic data: the DIN is served alone (no graph model was trained), so /v1/recommend ranks the candidates a request supplies');
  for (const example of curlExamples(running.url, ids, { retrieval: options.retrieval !== null })) {
    console.log(`# ${example.what}\n${example.command}`);
  }
  await stopped;
}
