import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { syntheticEvents } from '../../../features/datasets/synthetic.js';
import type { Event } from '../../../features/events/event-schema.js';
import { loadFeatureSpec } from '../../../features/spec/feature-spec.js';
import { ModelRegistry } from '../../../pipelines/registry/model-registry.js';
import { startEmbeddedServer, type EmbeddedServer } from '../../../serving/embedded-server.js';
import { curlExamples, pickExampleIds } from '../../../cli/output/serve-examples.js';
import { publishRandomGraph, publishTinyDin, TINY } from '../../helpers/serving-fixtures.js';

const SPEC = path.resolve('configs/features/synthetic.json');

/** `curl -s URL [-H '…' -d 'JSON']` → a fetch. */
async function runCurl(command: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const match = /^curl -s (\S+)(?: -H '[^']*' -d '(.*)')?$/.exec(command);
  assert.ok(match, command);
  const res = await fetch(match[1]!, match[2] ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: match[2] } : {});
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('embedded serving (the main job: memory online store, JSONL decisions, pinned versions)', function () {
  this.timeout(180_000);
  let dir: string;
  let server: EmbeddedServer | undefined;
  let events: Event[];
  const decisionsFile = () => path.join(dir, 'var', 'decisions.jsonl');
  const lines = () => readFileSync(decisionsFile(), 'utf8').split('\n').filter((l) => l !== '');

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'embedded-serving-'));
    const registry = path.join(dir, 'registry');
    await publishTinyDin(registry, 'syn-din');
    await publishTinyDin(registry, 'syn-din');
    await publishRandomGraph(registry, 'syn-graph');
    // An older serving alias must not win over the version the job trained.
    await new ModelRegistry(registry).promote('syn-din', 2, { reason: 'test' });
    events = [...syntheticEvents(TINY)];
    server = await startEmbeddedServer({
      registry, ranker: { name: 'syn-din', version: 1 }, retrieval: { name: 'syn-graph', version: 1 },
      spec: loadFeatureSpec(SPEC), events, decisionsFile: decisionsFile(), env: {},
      settings: { port: 0, itemIdPrefix: 'i', userIdPrefix: 'u', numCandidates: 40 },
    });
  });
  after(async () => {
    await server?.running.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('listens on a free port and fills the online store from the events', async () => {
    assert.ok(server!.running.port > 0);
    assert.equal(server!.events, events.length);
    assert.ok((await server!.online.user('u3')).history.length > 0);
    const item = events.find((e) => e.type === 'item_update')!;
    assert.ok(Object.keys((await server!.online.items([(item as { item_id: string }).item_id])).values().next().value!.attributes).length > 0);
  });

  it('one recommend call (retrieval → ranking) appends exactly one JSONL decision record with its request id', async () => {
    const before = (() => { try { return lines().length; } catch { return 0; } })();
    const res = await fetch(`${server!.running.url}/v1/recommend`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: 'u3', k: 4 }) });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { request_id: string; items: { item_id: string }[]; retrieval: string; models: { ranker: { version: number } } };
    assert.equal(body.retrieval, 'index');
    assert.equal(body.items.length, 4);
    assert.equal(body.models.ranker.version, 1, 'the pinned version, not the serving alias (v2)');
    const after = lines();
    assert.equal(after.length, before + 1);
    const record = JSON.parse(after.at(-1)!) as { request_id: string; user_id: string; shown: { item_id: string }[]; models: { ranker: { name: string; version: number } } };
    assert.equal(record.request_id, body.request_id);
    assert.equal(record.user_id, 'u3');
    assert.deepEqual(record.models.ranker, { name: 'syn-din', version: 1 });
    assert.deepEqual(record.shown.map((s) => s.item_id), body.items.map((i) => i.item_id));
  });

  it('the printed curl examples use real ids and all answer 200', async () => {
    const retrieval = server!.running.models.current!.retrieval!;
    const ids = await pickExampleIds(events, async (id) => (await server!.online.user(id, 1)).history.length > 0, (id) => retrieval.userVector(id) !== undefined);
    assert.match(ids.userId, /^u\d+$/);
    assert.equal(ids.items.length, 3);
    const seen = new Set((await server!.online.user(ids.userId)).history.map((h) => h.item_id));
    for (const item of ids.items) assert.ok(!seen.has(item) && /^i\d+$/.test(item), item);
    for (const withRetrieval of [true, false]) {
      const examples = curlExamples(server!.running.url, ids, { retrieval: withRetrieval });
      assert.equal(examples.length, withRetrieval ? 5 : 4);
      for (const example of examples) {
        const { status, body } = await runCurl(example.command);
        assert.equal(status, 200, `${example.command} → ${JSON.stringify(body)}`);
      }
    }
  });
});
