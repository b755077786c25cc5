import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EventSchema, type InteractionEvent } from '../../../../features/events/event-schema.js';
import { loadServicesConfig } from '../../../../infra/config.js';
import { MemoryDecisionSink } from '../../../../pipelines/decisions/decision-sink.js';
import { MemoryOnlineStore } from '../../../../pipelines/online-store/memory-online-store.js';
import { onlineSpecFrom } from '../../../../pipelines/online-store/online-ops.js';
import { ModelRegistry } from '../../../../pipelines/registry/model-registry.js';
import { JsonlOutcomeSink, MemoryOutcomeSink } from '../../../../pipelines/simulation/outcome-sink.js';
import { NeedsCandidatesError, simulateUsers } from '../../../../pipelines/simulation/simulate-users.js';
import { loadServeSettings } from '../../../../serving/serve-config.js';
import { startServer, type RunningServer } from '../../../../serving/server.js';
import { publishRandomGraph, publishTinyDin, TINY, tinySplits } from '../../../helpers/serving-fixtures.js';

describe('recsys simulate-users against a listening server', function () {
  this.timeout(180_000);
  let dir: string;
  let running: RunningServer | undefined;
  const decisions = new MemoryDecisionSink();

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'simulate-users-'));
    await publishTinyDin(dir, 'syn-din');
    await publishRandomGraph(dir, 'syn-graph');
    const online = new MemoryOnlineStore(onlineSpecFrom(tinySplits().encoder.spec));
    online.applyEvents(tinySplits().train.map((e) => e.event));
    running = await startServer({
      settings: loadServeSettings({}, {
        registry: dir, ranker: 'syn-din', retrieval: 'syn-graph', itemIdPrefix: 'i', userIdPrefix: 'u', port: 0,
        modelsChannel: '', pollSeconds: 0, onlineStore: 'memory', decisions: 'memory', numCandidates: 40, allowLatest: true,
        exploration: 'softmax', temperature: 0.05,
      }),
      services: loadServicesConfig({}),
      registry: new ModelRegistry(dir),
      online, decisions,
    });
  });
  after(async () => {
    await running?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('clicks only shown items, and every outcome event references an existing request_id', async () => {
    const sink = new MemoryOutcomeSink();
    const before = decisions.records.length;
    let progressCalls = 0;
    const summary = await simulateUsers({
      serveUrl: running!.url, sink, runId: 't1', users: TINY.users, items: TINY.items, seed: TINY.seed,
      requests: 60, rate: 0, k: 8, concurrency: 3, onProgress: () => { progressCalls++; },
    });
    assert.equal(summary.requests, 60);
    assert.equal(summary.failed, 0, summary.errors.join('; '));
    assert.equal(progressCalls, 60);
    assert.equal(decisions.records.length - before, 60, 'one decision per request');
    assert.equal(summary.shown, 60 * 8);
    assert.equal(summary.clicks, sink.events.length);
    assert.ok(summary.clicks > 0, 'some clicks');
    assert.ok(summary.expected_ctr > 0 && summary.expected_ctr < 1);
    assert.ok(summary.latency_p50_ms > 0 && summary.latency_p99_ms >= summary.latency_p50_ms);
    const byRequest = new Map(decisions.records.map((d) => [d.request_id, d]));
    for (const event of sink.events as InteractionEvent[]) {
      EventSchema.parse(event);
      assert.equal(event.type, 'click');
      const decision = byRequest.get(event.request_id!);
      assert.ok(decision, `outcome ${event.event_id} references unknown request ${event.request_id}`);
      assert.equal(decision.user_id, event.user_id);
      const shown = decision.shown.find((s) => s.item_id === event.item_id);
      assert.ok(shown, `${event.item_id} was not shown in ${event.request_id}`);
      assert.equal(event.context?.position, shown.position);
    }
    assert.equal(new Set(sink.events.map((e) => e.event_id)).size, sink.events.length, 'event ids are unique');
  });

  it('supplies popularity-drawn candidates when asked (servers without retrieval)', async () => {
    const before = decisions.records.length;
    const summary = await simulateUsers({ serveUrl: running!.url, sink: new MemoryOutcomeSink(), runId: 't4', users: 20, items: TINY.items, seed: TINY.seed, requests: 5, rate: 0, k: 4, candidates: 12 });
    assert.equal(summary.failed, 0, summary.errors.join('; '));
    const made = decisions.records.slice(before);
    assert.equal(made.length, 5);
    for (const d of made) {
      assert.equal(d.models.retrieval, null, 'candidates came from the request');
      assert.ok(d.candidates.length <= 12 && d.candidates.every((c) => /^i\d+$/.test(c.item_id)));
    }
  });

  it('stops at the first "no retrieval model" answer when it sent no candidates, instead of failing every request', async () => {
    const rankerOnly = await startServer({
      settings: loadServeSettings({}, {
        registry: dir, ranker: 'syn-din', retrieval: '', itemIdPrefix: 'i', userIdPrefix: 'u', port: 0,
        modelsChannel: '', pollSeconds: 0, onlineStore: 'memory', decisions: 'memory', allowLatest: true,
      }),
      services: loadServicesConfig({}),
      registry: new ModelRegistry(dir),
      online: new MemoryOnlineStore(onlineSpecFrom(tinySplits().encoder.spec)), decisions: new MemoryDecisionSink(),
    });
    try {
      let requests = 0;
      await assert.rejects(
        simulateUsers({
          serveUrl: rankerOnly.url, sink: new MemoryOutcomeSink(), runId: 't5', users: 20, items: TINY.items, seed: TINY.seed,
          requests: 200, rate: 0, k: 4, concurrency: 2, onProgress: (s) => { requests = s.requests; },
        }),
        (error: unknown) => error instanceof NeedsCandidatesError && /no retrieval model/.test(error.message) && error.serveUrl === rankerOnly.url,
      );
      assert.ok(requests <= 2, `stopped after the requests in flight, not after ${requests} of 200`);
      const withCandidates = await simulateUsers({ serveUrl: rankerOnly.url, sink: new MemoryOutcomeSink(), runId: 't6', users: 20, items: TINY.items, seed: TINY.seed, requests: 3, rate: 0, k: 4, candidates: 12 });
      assert.equal(withCandidates.failed, 0, withCandidates.errors.join('; '));
    } finally {
      await rankerOnly.close();
    }
  });

  it('writes JSONL outcome events, and counts failures without stopping', async () => {
    const file = path.join(dir, 'out', 'outcomes.jsonl');
    const sink = new JsonlOutcomeSink(file);
    const summary = await simulateUsers({ serveUrl: running!.url, sink, runId: 't2', users: 20, items: TINY.items, seed: TINY.seed, requests: 10, rate: 0, k: 5, concurrency: 1 });
    await sink.close();
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
    assert.equal(lines.length, summary.clicks);
    for (const line of lines) assert.equal(EventSchema.parse(JSON.parse(line)).type, 'click');

    const down = await simulateUsers({ serveUrl: 'http://127.0.0.1:1', sink: new MemoryOutcomeSink(), runId: 't3', users: 5, items: TINY.items, requests: 3, rate: 0, timeoutMs: 2000 });
    assert.equal(down.failed, 3);
    assert.equal(down.errors.length, 3);
  });
});
