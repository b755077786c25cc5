import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { syntheticImpressions } from '../../../../features/datasets/synthetic.js';
import { hashString } from '../../../../features/hashing.js';
import { spawnTs } from '../ingest/child.js';
import { waitFor } from '../../../helpers/wait-for.js';
import { createStreamEnv, produceSynthetic, type StreamEnv } from './stream-env.js';

const CLI = fileURLToPath(new URL('./fixtures/recsys-cli.ts', import.meta.url));
const CONFIG = fileURLToPath(new URL('../../../../configs/models/synthetic-din-stream.json', import.meta.url));

interface FinalStatus {
  startedFrom: { kind: string };
  counters: { trained: number; events: number; trainedIdHash: number };
  ledger: { partitions: Record<string, [number, number][]>; replaysSkipped: number; gaps: number; doubles: number };
  versions: { version: number; kind: string }[];
}

/** The trainer's newest checkpoint's state.json, if any. */
function checkpointState(dir: string): { counters: { trained: number }; ledger: { partitions: Record<string, [number, number][]> } } | undefined {
  try {
    const current = readFileSync(path.join(dir, 'CURRENT'), 'utf8').trim();
    return JSON.parse(readFileSync(path.join(dir, current, 'state.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

describe('streaming training survives kill -9 (real Kafka)', function () {
  this.timeout(900_000);
  const synthetic = { events: 30_000, users: 500, items: 1000, seed: 9 };
  let env: StreamEnv;
  let messages: number;

  before(async () => {
    env = await createStreamEnv(2);
    messages = await produceSynthetic(env, synthetic);
  });
  after(async () => {
    await env?.cleanup();
  });

  it('kill -9 mid-stream, restart: the offsets consumed have no gap, no example is trained twice', async () => {
    const config = path.join(env.dir, 'stream.json');
    const base = JSON.parse(readFileSync(CONFIG, 'utf8'));
    writeFileSync(config, JSON.stringify({
      ...base, features: path.resolve(path.dirname(CONFIG), base.features), initFrom: 'scratch',
      publish: { everyExamples: 6000, everySeconds: 3600, fullEvery: 2 }, checkpoint: { everySeconds: 2, keep: 2 },
    }));
    const args = ['train-stream', '--config', config, '--registry', env.registry, '--topic', env.topic, '--group', env.groupId,
      '--checkpoint-dir', env.checkpointDir, '--idle-exit-seconds', '6', '--brokers', env.brokers, '--json'];
    const childEnv = { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'warn' };

    const first = spawnTs(CLI, args, childEnv);
    // Killed once a checkpoint holds ≥ 8,000 trained examples and training has gone on past it.
    const saved = await waitFor(() => { const s = checkpointState(env.checkpointDir); return s && s.counters.trained >= 8000 ? s : undefined; }, { timeoutMs: 600_000, intervalMs: 200, what: 'a checkpoint with 8,000 examples' });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    first.process.kill('SIGKILL');
    assert.equal((await first.exited).signal, 'SIGKILL');
    const atKill = checkpointState(env.checkpointDir)!;
    assert.ok(atKill.counters.trained >= saved.counters.trained);
    assert.ok(atKill.counters.trained < 30_000, 'killed mid-stream');

    const second = spawnTs(CLI, args, childEnv);
    const exit = await second.exited;
    assert.equal(exit.code, 0, second.stderr.slice(-10).join('\n'));
    const final = second.lines.at(-1) as FinalStatus;
    assert.equal(final.startedFrom.kind, 'checkpoint');

    const offsets = await env.admin.fetchTopicOffsets(env.topic);
    const ends = Object.fromEntries(offsets.map((o) => [o.partition, Number(o.high)]));
    assert.deepEqual(final.ledger.partitions, Object.fromEntries(Object.entries(ends).map(([p, high]) => [p, [[0, high]]])), 'each partition consumed as one unbroken range');
    assert.equal(final.ledger.gaps, 0);
    assert.equal(final.ledger.doubles, 0);
    assert.equal(final.counters.events, messages);
    const ids = [...syntheticImpressions(synthetic)].map((s) => s.event.event_id);
    assert.equal(final.counters.trained, ids.length, 'each impression trained exactly once across both runs');
    assert.equal(final.counters.trainedIdHash, ids.reduce((sum, id) => (sum + hashString(id)) % 2 ** 32, 0));
    assert.ok(final.versions.length > 0);
    console.log(JSON.stringify({ killedAtCheckpointTrained: atKill.counters.trained, replaysSkipped: final.ledger.replaysSkipped, versions: final.versions }));
  });
});
