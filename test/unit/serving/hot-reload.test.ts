import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { logger } from '../../../infra/logger.js';
import { tf } from '../../../infra/tf.js';
import type { Redis } from '../../../infra/redis/redis-client.js';
import type { CtrModel } from '../../../models/ctr/ctr-model.js';
import { CtrScorer, requestExamples, type ScoreRequest } from '../../../models/ctr/ctr-scorer.js';
import { saveCtrDelta } from '../../../models/ctr-artifact/delta-artifact.js';
import { saveCtrModel } from '../../../models/ctr-artifact/model-artifact.js';
import { ModelRegistry } from '../../../pipelines/registry/model-registry.js';
import { RankerHandle } from '../../../serving/model-bundle.js';
import { ModelHolder, type ModelHolderOptions } from '../../../serving/model-holder.js';
import { RankerThread } from '../../../serving/ranker-thread.js';
import { ServingMetrics } from '../../../serving/serving-metrics.js';
import { flipFirstByte } from '../../helpers/registry-fixtures.js';
import { publishRandomGraph, tinySplits, trainTinyCtr } from '../../helpers/serving-fixtures.js';
import { waitFor } from '../../helpers/wait-for.js';

for (const rankerThread of [false, true]) describe(`hot reload (ModelHolder${rankerThread ? ', ranker thread' : ''})`, function () {
  this.timeout(120_000);
  let root: string;
  let model: CtrModel;
  let holder: ModelHolder;
  let metrics: ServingMetrics;
  const publish = async () => (await saveCtrModel(model, { registry: root, name: 'din' })).dir;
  const REQUEST: ScoreRequest = { userId: 'u1', history: [{ item_id: 'i1', ts: 1 }], candidates: ['i1', 'i2'] };
  /** Scores as a request does: through the handle, so in its thread when it has one. */
  const predictWith = (ranker: RankerHandle, request: ScoreRequest) => ranker.predict(ranker.scorer.model.encoder.encode(requestExamples(request, () => ({}))));
  const score = async (request: ScoreRequest = REQUEST) => {
    const bundle = holder.acquire();
    try {
      return await predictWith(bundle.ranker, request);
    } finally {
      holder.release(bundle);
    }
  };

  const newHolder = (options: Partial<ModelHolderOptions> = {}) => new ModelHolder({
    registry: new ModelRegistry(root), ranker: 'din', retrieval: 'graph', precision: 'float', rankerThread, log: logger('test'), metrics, allowLatest: true,
    retrievalOptions: { ann: 'hnsw', ef: 50, m: 8, itemIdPrefix: 'i', userIdPrefix: 'u' },
    ...options,
  });

  before(() => {
    model = trainTinyCtr();
  });
  after(() => model.dispose());

  beforeEach(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'hot-reload-'));
    metrics = new ServingMetrics();
    holder = newHolder();
  });
  afterEach(async () => {
    await holder.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves latest without an alias, then swaps to a promoted version; requests in flight finish on the old one', async () => {
    await publish();
    await publishRandomGraph(root, 'graph');
    const started = await holder.start();
    assert.deepEqual([started.outcome, started.ranker], ['swapped', { model: 'din', version: 1 }]);
    assert.equal(holder.current!.ranker.served.via, 'latest');
    const expected = await score();
    assert.equal(holder.current!.ranker.threaded, rankerThread);

    await publish();
    await new ModelRegistry(root).promote('din', 2);
    const inFlight = holder.acquire(); // a request that took v1 before the swap
    const outcome = await holder.refresh('test');
    assert.equal(outcome.outcome, 'swapped');
    assert.equal(holder.current!.ranker.served.version, 2);
    assert.equal(holder.current!.ranker.served.via, 'serving');
    assert.equal(holder.current!.retrieval, inFlight.retrieval, 'an unchanged retrieval version is kept, not reloaded');
    // The old model still answers for the request that holds it, and is disposed once it lets go.
    assert.equal(inFlight.ranker.served.version, 1);
    assert.equal(inFlight.ranker.isDisposed, false);
    assert.deepEqual([...await predictWith(inFlight.ranker, REQUEST)], [...expected]);
    holder.release(inFlight);
    assert.equal(inFlight.ranker.isDisposed, true);
    assert.deepEqual([...await score()], [...expected], 'same weights, same scores');
    assert.equal((await holder.refresh('again')).outcome, 'unchanged');
  });

  it('once closed, it hands out no model and lets the served ranker go (its thread too)', async () => {
    await publish();
    await publishRandomGraph(root, 'graph');
    await holder.start();
    const { ranker } = holder.current!;
    assert.equal(ranker.threaded, rankerThread);
    await holder.close();
    assert.throws(() => holder.acquire(), /shutting down/);
    assert.equal((await holder.refresh('after close')).outcome, 'unchanged');
    assert.equal(ranker.isDisposed, true);
    await waitFor(() => !ranker.threaded, { what: 'the ranker thread to exit' });
  });

  if (rankerThread) {
    it('a ranker thread that dies while serving is counted (when="serving") and the event loop takes over', async () => {
      await publish();
      await publishRandomGraph(root, 'graph');
      await holder.start();
      const expected = await score();
      const { ranker } = holder.current!;
      await (ranker as unknown as { thread: RankerThread }).thread.terminate();
      await waitFor(() => !ranker.threaded, { what: 'the thread failure to be seen' });
      assert.match(await metrics.registry.getSingleMetricAsString('serving_ranker_thread_failures_total'), /serving_ranker_thread_failures_total\{when="serving"\} 1/);
      assert.deepEqual([...await score()], [...expected]);
    });

    it('a new ranker thread takes over from one that died, after waits that grow while new ones fail to start', async () => {
      const dir = await publish();
      await publishRandomGraph(root, 'graph');
      const restarting = newHolder({ rankerThreadRestart: { firstMs: 20, maxMs: 80 } });
      try {
        await restarting.start();
        const { ranker } = restarting.current!;
        const threadOf = (handle: RankerHandle) => (handle as unknown as { thread: RankerThread }).thread;
        const first = threadOf(ranker);
        const bundle = restarting.acquire();
        const expected = await predictWith(bundle.ranker, REQUEST);
        restarting.release(bundle);
        const failures = async () => metrics.registry.getSingleMetricAsString('serving_ranker_thread_failures_total');
        // New threads cannot load while the version's files are away: each try fails and is counted.
        renameSync(dir, `${dir}.away`);
        await first.terminate();
        await waitFor(async () => /when="restart"\} [3-9]/.test(await failures()), { what: 'three failed restarts' });
        assert.equal(ranker.threaded, false);
        assert.deepEqual([...await predictWith(ranker, REQUEST)], [...expected]);
        renameSync(`${dir}.away`, dir);
        await waitFor(() => ranker.threaded, { what: 'a new thread to take over' });
        assert.notEqual(threadOf(ranker), first);
        assert.match(await failures(), /when="serving"\} 1/);
        assert.match(await metrics.registry.getSingleMetricAsString('serving_ranker_thread_restarts_total'), /serving_ranker_thread_restarts_total 1/);
        assert.deepEqual([...await predictWith(ranker, REQUEST)], [...expected]);
        // The new thread's GC pauses reach the metric as the first's did.
        const threadPauses = async () => (await metrics.registry.getSingleMetricAsString('serving_ranker_thread_gc_seconds')).split('\n')
          .filter((line) => line.startsWith('serving_ranker_thread_gc_seconds_count')).reduce((n, line) => n + Number(line.split(' ').pop()), 0);
        const pausesBefore = await threadPauses();
        await waitFor(async () => {
          for (let i = 0; i < 200; i++) await predictWith(ranker, REQUEST);
          return (await threadPauses()) > pausesBefore;
        }, { timeoutMs: 60_000, intervalMs: 0, what: 'a GC pause of the new thread in serving_ranker_thread_gc_seconds' });
        await restarting.close();
        assert.equal(ranker.isDisposed, true);
        await waitFor(() => !ranker.threaded, { what: 'the new thread to exit' });
      } finally {
        await restarting.close();
      }
    });

    /** Watches RankerThread.start until `restore()`: how many starts began, and the threads they made. */
    const watchStarts = () => {
      const original = RankerThread.start;
      const watch = { begun: 0, made: [] as RankerThread[], restore: () => { RankerThread.start = original; } };
      RankerThread.start = async (...args: Parameters<typeof RankerThread.start>) => {
        watch.begun++;
        const thread = await original.apply(RankerThread, args);
        watch.made.push(thread);
        return thread;
      };
      return watch;
    };

    it('no new thread is started for a ranker retired while it waited, and one that loads after the ranker was retired is closed', async () => {
      await publish();
      await publishRandomGraph(root, 'graph');
      for (const [firstMs, closeAfter] of [[300, 'the failure'], [1, 'the start began']] as const) {
        const restarting = newHolder({ rankerThreadRestart: { firstMs, maxMs: firstMs } });
        await restarting.start();
        const { ranker } = restarting.current!;
        const starts = watchStarts();
        try {
          await (ranker as unknown as { thread: RankerThread }).thread.terminate();
          await waitFor(() => !ranker.threaded, { what: 'the thread failure to be seen' });
          if (closeAfter === 'the start began') await waitFor(() => starts.begun > 0, { what: 'a new thread to begin loading' });
          await restarting.close();
          // Longer than the wait and than a thread's start (~0.7 s here).
          await new Promise((resolve) => setTimeout(resolve, 2000));
          assert.equal(ranker.threaded, false, closeAfter);
          assert.equal(starts.begun, closeAfter === 'the start began' ? 1 : 0, closeAfter);
          assert.equal(starts.made.length, starts.begun, closeAfter);
          for (const thread of starts.made) assert.ok(thread.failure, `${closeAfter}: a thread that loaded after the ranker was retired is closed`);
        } finally {
          starts.restore();
          await restarting.close();
        }
      }
      assert.doesNotMatch(await metrics.registry.getSingleMetricAsString('serving_ranker_thread_restarts_total'), /total [1-9]/);
    });

    it('waits 1×, 2×, 4× … up to the cap between tries, from the first wait again only after a thread that lived long enough', async () => {
      const dir = await publish();
      const served = { model: 'din', version: 1, dir, via: 'latest' as const };
      for (const stableMs of [60_000, 0]) {
        const failures: [string, number | undefined][] = [];
        let restarts = 0;
        const ranker = await RankerHandle.load(served, {
          precision: 'float', thread: true, threadRestart: { firstMs: 20, maxMs: 80, stableMs },
          onThreadFailure: (_error, when, retryInMs) => failures.push([when, retryInMs]),
          onThreadRestarted: () => restarts++,
        });
        try {
          renameSync(dir, `${dir}.away`);
          await (ranker as unknown as { thread: RankerThread }).thread.terminate();
          await waitFor(() => failures.length >= 5, { what: 'five failures', timeoutMs: 60_000 });
          renameSync(`${dir}.away`, dir);
          assert.deepEqual(failures.slice(0, 5), [['serving', 20], ['restart', 40], ['restart', 80], ['restart', 80], ['restart', 80]]);
          await waitFor(() => ranker.threaded, { what: 'a new thread', timeoutMs: 60_000 });
          assert.equal(restarts, 1);
          const before = failures.length;
          await (ranker as unknown as { thread: RankerThread }).thread.terminate();
          await waitFor(() => failures.length > before, { what: 'the new thread\'s failure' });
          // Died young (crash loop): the wait stays at the cap; after a life of stableMs (0 here) it starts over.
          assert.deepEqual(failures[before], ['serving', stableMs === 0 ? 20 : 80], `stableMs ${stableMs}`);
          await waitFor(() => ranker.threaded, { what: 'another new thread', timeoutMs: 60_000 });
        } finally {
          if (existsSync(`${dir}.away`)) renameSync(`${dir}.away`, dir);
          ranker.retire();
        }
        await waitFor(() => !ranker.threaded, { what: 'the thread to exit' });
      }
    });
  }

  it('a version that fails to load leaves the old one serving', async () => {
    await publish();
    await publishRandomGraph(root, 'graph');
    await holder.start();
    const v2 = await publish();
    await new ModelRegistry(root).promote('din', 2);
    flipFirstByte(path.join(v2, 'dense.bin')); // corrupted after promotion (e.g. a bad disk)
    const outcome = await holder.refresh('test');
    assert.equal(outcome.outcome, 'failed');
    assert.match(outcome.error!, /sha256/);
    assert.equal(holder.current!.ranker.served.version, 1);
    assert.equal((await score()).length, 2);
    assert.match(await metrics.registry.getSingleMetricAsString('serving_model_reloads_total'), /outcome="failed"\} 1/);
    // A promoted graph version that fails likewise keeps the old pair.
    await publishRandomGraph(root, 'graph');
    const g2 = path.join(root, 'graph', 'v000002', 'item-embeddings.f32');
    flipFirstByte(g2);
    assert.equal((await holder.refresh('graph')).outcome, 'failed');
    assert.equal(holder.current!.retrieval!.served.version, 1);
  });

  it('a new ranker loaded beside a retrieval version that failed is disposed, not leaked', async () => {
    await publish();
    await publishRandomGraph(root, 'graph');
    await holder.start();
    const tensors = tf.memory().numTensors;
    await publish();
    await publishRandomGraph(root, 'graph');
    flipFirstByte(path.join(root, 'graph', 'v000002', 'item-embeddings.f32'));
    const outcome = await holder.refresh('both');
    assert.equal(outcome.outcome, 'failed');
    assert.deepEqual([holder.current!.ranker.served.version, holder.current!.retrieval!.served.version], [1, 1]);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // ample for the tiny ranker's load to end, had it been left running
    assert.equal(tf.memory().numTensors, tensors, 'the ranker v2 that loaded was disposed');
  });

  it('concurrent requests during a reload all succeed; triggers during a reload coalesce into one more', async () => {
    await publish();
    await holder.start().catch(() => {});
    // No graph model yet: start fails, nothing served.
    assert.equal(holder.current, undefined);
    assert.throws(() => holder.acquire(), /not loaded/);
    await publishRandomGraph(root, 'graph');
    await holder.start();
    await publish();
    const reloads = [holder.refresh('a'), holder.refresh('b'), holder.refresh('c')];
    const scores = await Promise.all(Array.from({ length: 30 }, async (_, i) => {
      await new Promise((resolve) => setTimeout(resolve, i % 5));
      return score();
    }));
    assert.ok(scores.every((s) => s.length === 2 && s.every((p) => p > 0 && p < 1)));
    const outcomes = await Promise.all(reloads);
    assert.equal(outcomes[0]!.outcome, 'swapped');
    assert.ok(outcomes.slice(1).every((o) => o.outcome === 'unchanged'));
    assert.equal(holder.current!.ranker.served.version, 2);
  });

  it('reloads on a registry message for a served model (Redis pub/sub)', async () => {
    await publish();
    await publishRandomGraph(root, 'graph');
    await holder.start();
    const fake = Object.assign(new EventEmitter(), { subscribe: async () => 1, disconnect: () => {} });
    await holder.subscribe(fake as unknown as Redis, 'recsys:models');
    await publish();
    fake.emit('message', 'recsys:models', JSON.stringify({ kind: 'publish', model: 'other-model', version: 1 }));
    fake.emit('message', 'recsys:models', 'not json');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(holder.current!.ranker.served.version, 1, 'other models and garbage are ignored');
    fake.emit('message', 'recsys:models', JSON.stringify({ kind: 'publish', model: 'din', version: 2 }));
    await waitFor(() => holder.current!.ranker.served.version === 2, { what: 'the swap to v2' });
  });

  it('serves a delta version (resolved down its chain) after a full one', async () => {
    const live = trainTinyCtr();
    try {
      live.layout.tables.forEach((t) => t.trackChanges());
      await saveCtrModel(live, { registry: root, name: 'din' });
      live.layout.tables.forEach((t) => t.takeChangedRows());
      const splits = tinySplits();
      const batch = splits.encoder.encode(splits.train.slice(0, 512));
      for (let i = 0; i < 3; i++) live.trainStep(batch);
      const changedRows = live.layout.tables.map((t) => t.takeChangedRows());
      assert.ok(changedRows.some((rows) => rows.length > 0));
      await saveCtrDelta(live, { registry: root, name: 'din', parent: 1, changedRows });
      await publishRandomGraph(root, 'graph');
      await holder.start();
      assert.equal(holder.current!.ranker.served.version, 2, 'the latest version is the delta');
      const request = { userId: 'u1', history: [{ item_id: 'i1', ts: 1 }], candidates: ['i1', 'i2', 'i3'] };
      const expected = CtrScorer.fromModel(live).score(request);
      const served = await score(request);
      served.forEach((p, i) => assert.ok(Math.abs(p - expected[i]!) < 1e-6, `${p} vs ${expected[i]}`));
    } finally {
      live.dispose();
    }
  });
});

