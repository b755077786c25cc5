import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadServicesConfig } from '../../../infra/config.js';
import { MemoryDecisionSink } from '../../../pipelines/decisions/decision-sink.js';
import { MemoryOnlineStore } from '../../../pipelines/online-store/memory-online-store.js';
import { onlineSpecFrom } from '../../../pipelines/online-store/online-ops.js';
import { ModelRegistry } from '../../../pipelines/registry/model-registry.js';
import { loadServeSettings, type ServeSettings } from '../../../serving/serve-config.js';
import { startServer, type RunningServer } from '../../../serving/server.js';
import { publishRandomGraph, publishTinyDin, tinySplits } from '../../helpers/serving-fixtures.js';

export const ADMIN_TOKEN = 'test-admin-token-of-32-characters';

/** A server (not listening: supertest drives the app) over a temp registry with a tiny DIN and random graph embeddings. */
export interface ServingEnv {
  registry: string;
  running: RunningServer;
  decisions: MemoryDecisionSink;
  online: MemoryOnlineStore;
  cleanup(): Promise<void>;
}

export async function createServingEnv(settings: Partial<ServeSettings> = {}, { random }: { random?: () => number } = {}): Promise<ServingEnv> {
  const registry = mkdtempSync(path.join(tmpdir(), 'serving-'));
  await publishTinyDin(registry, 'syn-din');
  await publishRandomGraph(registry, 'syn-graph');
  const splits = tinySplits();
  const online = new MemoryOnlineStore(onlineSpecFrom(splits.encoder.spec));
  // The online store as ingestion would leave it: every training example's event, plus item attributes.
  online.applyEvents(splits.train.map((e) => e.event));
  for (const e of splits.train.slice(0, 400)) {
    online.applyEvents([{ schema_version: 1, type: 'item_update', event_id: `attr-${e.event.item_id}`, ts: 1, item_id: e.event.item_id, attributes: e.item }]);
  }
  const decisions = new MemoryDecisionSink();
  const running = await startServer({
    settings: loadServeSettings({}, {
      registry, ranker: 'syn-din', retrieval: 'syn-graph', itemIdPrefix: 'i', userIdPrefix: 'u', adminToken: ADMIN_TOKEN,
      modelsChannel: '', pollSeconds: 0, onlineStore: 'memory', decisions: 'memory', maxBodyBytes: 64 * 1024, numCandidates: 50, allowLatest: true, ...settings,
    }),
    services: loadServicesConfig({}),
    registry: new ModelRegistry(registry),
    online, decisions, listen: false,
    ...(random ? { random } : {}),
  });
  return {
    registry, running, decisions, online,
    async cleanup() {
      await running.close();
      rmSync(registry, { recursive: true, force: true });
    },
  };
}
