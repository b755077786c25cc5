import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadServicesConfig } from '../../../infra/config.js';
import { knownItemShare } from '../../../models/ctr/known-items.js';
import { MemoryDecisionSink } from '../../../pipelines/decisions/decision-sink.js';
import { MemoryOnlineStore } from '../../../pipelines/online-store/memory-online-store.js';
import { onlineSpecFrom } from '../../../pipelines/online-store/online-ops.js';
import { ModelRegistry } from '../../../pipelines/registry/model-registry.js';
import { loadServeSettings } from '../../../serving/serve-config.js';
import { startServer } from '../../../serving/server.js';
import { publishRandomGraph, publishTinyDin, tinySplits, trainTinyCtr } from '../../helpers/serving-fixtures.js';

/** A retrieval model whose items the ranker never saw is refused at load, naming the fix. */
describe('serving: retrieval items the ranker knows', function () {
  this.timeout(120_000);
  let registry: string;
  before(async () => {
    registry = mkdtempSync(path.join(tmpdir(), 'item-overlap-'));
    await publishTinyDin(registry, 'syn-din');
    await publishRandomGraph(registry, 'syn-graph');
  });
  after(() => rmSync(registry, { recursive: true, force: true }));

  const start = (env: NodeJS.ProcessEnv, itemIdPrefix: string) => startServer({
    settings: loadServeSettings({ RECSYS_SERVE_ALLOW_LATEST: 'true', ...env }, {
      registry, ranker: 'syn-din', retrieval: 'syn-graph', itemIdPrefix, userIdPrefix: 'u', modelsChannel: '', pollSeconds: 0, onlineStore: 'memory', decisions: 'memory', ann: 'exact',
    }),
    services: loadServicesConfig({}),
    registry: new ModelRegistry(registry),
    online: new MemoryOnlineStore(onlineSpecFrom(tinySplits().encoder.spec)),
    decisions: new MemoryDecisionSink(),
    listen: false,
  });

  it('counts the items a ranker has seen, and none it has not', () => {
    const model = trainTinyCtr();
    try {
      const seen = tinySplits().train.map((e) => e.event.item_id);
      assert.ok(knownItemShare(model, seen)! > 0.99, 'training items are known');
      assert.equal(knownItemShare(model, ['movie-1', 'movie-2', '1', '2']), 0);
    } finally {
      model.dispose();
    }
  });

  it('refuses a retrieval model of another id space, serves it with --allow-item-mismatch, and serves the matching one', async () => {
    await assert.rejects(start({}, 'movie-'), /only 0\.0% of 150 sampled items of retrieval model syn-graph v1 are known to ranker syn-din v1 .*check --item-id-prefix.*--allow-item-mismatch/);
    const allowed = await start({ RECSYS_SERVE_ALLOW_ITEM_MISMATCH: 'true' }, 'movie-');
    await allowed.close();
    const matching = await start({}, 'i');
    try {
      assert.equal(matching.models.current!.retrieval!.served.model, 'syn-graph');
    } finally {
      await matching.close();
    }
  });
});
