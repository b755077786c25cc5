import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadServicesConfig } from '../../../infra/config.js';
import { MemoryDecisionSink } from '../../../pipelines/decisions/decision-sink.js';
import { MemoryOnlineStore } from '../../../pipelines/online-store/memory-online-store.js';
import { onlineSpecFrom } from '../../../pipelines/online-store/online-ops.js';
import { ModelRegistry } from '../../../pipelines/registry/model-registry.js';
import { loadServeSettings } from '../../../serving/serve-config.js';
import { startServer } from '../../../serving/server.js';
import { publishTinyDin, tinySplits } from '../../helpers/serving-fixtures.js';

/** `recsys serve` answers with a version someone promoted; the newest unreviewed one only when asked to (--allow-latest). */
describe('serving only aliased versions', function () {
  this.timeout(120_000);
  let registry: string;
  before(async () => {
    registry = mkdtempSync(path.join(tmpdir(), 'aliased-'));
    await publishTinyDin(registry, 'syn-din');
    await publishTinyDin(registry, 'syn-din', { seed: 9 });
  });
  after(() => rmSync(registry, { recursive: true, force: true }));

  const start = (env: NodeJS.ProcessEnv) => startServer({
    settings: loadServeSettings(env, { registry, ranker: 'syn-din', retrieval: '', modelsChannel: '', pollSeconds: 0, onlineStore: 'memory', decisions: 'memory' }),
    services: loadServicesConfig({}),
    registry: new ModelRegistry(registry),
    online: new MemoryOnlineStore(onlineSpecFrom(tinySplits().encoder.spec)),
    decisions: new MemoryDecisionSink(),
    listen: false,
  });

  it('refuses a model with no serving alias, naming the fix', async () => {
    await assert.rejects(start({}), /no model to serve: model 'syn-din' has no serving version: promote one \(recsys models promote syn-din@<version>\) or serve its newest with --allow-latest/);
  });

  it('serves the newest version with --allow-latest, then the promoted one (not the newest) once an alias exists', async () => {
    const latest = await start({ RECSYS_SERVE_ALLOW_LATEST: 'true' });
    try {
      assert.deepEqual([latest.models.current!.ranker.served.version, latest.models.current!.ranker.served.via], [2, 'latest']);
    } finally {
      await latest.close();
    }
    await new ModelRegistry(registry).promote('syn-din', 1, { actor: 'test' });
    const aliased = await start({});
    try {
      assert.deepEqual([aliased.models.current!.ranker.served.version, aliased.models.current!.ranker.served.via], [1, 'serving']);
    } finally {
      await aliased.close();
    }
  });
});
