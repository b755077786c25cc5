import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Event } from '../features/events/event-schema.js';
import type { FeatureSpec } from '../features/spec/feature-spec.js';
import { loadServicesConfig } from '../infra/config.js';
import type { Logger } from '../infra/logger.js';
import { JsonlDecisionSink } from '../pipelines/decisions/decision-sink.js';
import { MemoryOnlineStore } from '../pipelines/online-store/memory-online-store.js';
import { onlineSpecFrom } from '../pipelines/online-store/online-ops.js';
import { PinnedModelRegistry } from './pinned-registry.js';
import { loadServeSettings, type ServeSettings } from './serve-config.js';
import { startServer, type RunningServer } from './server.js';
import { ServingMetrics } from './serving-metrics.js';

/**
 * Serving with no services: models from the registry folder (pinned to the
 * given versions), the online store in process memory filled from an event
 * stream (user histories, item and user attributes, as ingestion would leave
 * Redis), decision records appended to a local JSONL file. The same
 * interfaces as `recsys serve` on Redis and Kafka, so every route behaves alike.
 */
export interface EmbeddedServerOptions {
  registry: string;
  ranker: { name: string; version: number };
  /** The graph model whose item embeddings retrieval searches; null: recommend needs candidates. */
  retrieval: { name: string; version: number } | null;
  /** The ranker's feature spec: what the online store keeps (behaviour types, label rule, history length). */
  spec: FeatureSpec;
  /** Fills the online store, in time order (the training data). */
  events: Iterable<Event>;
  decisionsFile: string;
  /** Anything else (port, host, id prefixes, ANN…); over RECSYS_* env, which is over the defaults. */
  settings?: Partial<ServeSettings>;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  /** @default a new ServingMetrics (no process metrics) */
  metrics?: ServingMetrics;
}

export interface EmbeddedServer {
  running: RunningServer;
  settings: ServeSettings;
  online: MemoryOnlineStore;
  /** Events applied to the online store. */
  events: number;
}

export async function startEmbeddedServer(options: EmbeddedServerOptions): Promise<EmbeddedServer> {
  const env = options.env ?? process.env;
  const settings = loadServeSettings(env, {
    ...options.settings,
    registry: options.registry,
    ranker: options.ranker.name,
    retrieval: options.retrieval?.name ?? '',
    onlineStore: 'memory',
    decisions: 'jsonl',
    decisionsFile: options.decisionsFile,
    // Pinned versions, no Redis: neither hot reload channel nor polling.
    modelsChannel: '',
    // The pins resolve every selector to the trained version; no alias is involved.
    allowLatest: true,
    pollSeconds: 0,
  });
  const online = new MemoryOnlineStore(onlineSpecFrom(options.spec));
  let events = 0;
  const batch: Event[] = [];
  for (const event of options.events) {
    batch.push(event);
    if (batch.length >= 10_000) { online.applyEvents(batch); events += batch.length; batch.length = 0; }
  }
  online.applyEvents(batch);
  events += batch.length;
  mkdirSync(path.dirname(path.resolve(settings.decisionsFile)), { recursive: true });
  const pins = new Map([[options.ranker.name, options.ranker.version], ...(options.retrieval ? [[options.retrieval.name, options.retrieval.version] as const] : [])]);
  const running = await startServer({
    settings,
    services: loadServicesConfig(env),
    registry: new PinnedModelRegistry(options.registry, pins),
    metrics: options.metrics ?? new ServingMetrics(),
    online,
    decisions: new JsonlDecisionSink(settings.decisionsFile),
    env,
    ...(options.log ? { log: options.log } : {}),
  });
  return { running, settings, online, events };
}
