import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { syntheticImpressions } from '../../../../features/datasets/synthetic.js';
import { hashString } from '../../../../features/hashing.js';
import { smallStreamConfig } from '../../../unit/pipelines/streaming/stream-fixtures.js';
import { waitFor } from '../../../helpers/wait-for.js';
import { spawnTs } from '../ingest/child.js';
import { createStreamEnv, produceSynthetic, type StreamEnv } from './stream-env.js';

const CLI = fileURLToPath(new URL('./fixtures/recsys-cli.ts', import.meta.url));

interface FinalStatus {
  startedFrom: { kind: string };
  counters: { trained: number; events: number; invalid: number; trainedIdHash: number };
  positions: Record<string, number>;
  ledger: { partitions: Record<string, [number, number][]>; gaps: number; doubles: number };
  versions: unknown[];
}

const lineCount = (file: string): number => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0).length : 0);

describe('recsys train-stream on SIGTERM (real Kafka)', function () {
  this.timeout(600_000);
  const synthetic = { events: 40_000, users: 500, items: 1000, seed: 13 };
  let env: StreamEnv;
  let messages: number;

  before(async () => {
    env = await createStreamEnv(2);
    messages = await produceSynthetic(env, synthetic);
  });
  after(async () => {
    await env?.cleanup();
  });

  it('stops fetching, trains the micro-batch in hand, checkpoints, commits and exits 0; a restart loses and repeats nothing', async () => {
    const config = path.join(env.dir, 'stream.json');
    const base = smallStreamConfig(env.dir);
    writeFileSync(config, JSON.stringify({ ...base, checkpoint: { ...base.checkpoint, dir: env.checkpointDir } }));
    const scores = path.join(env.dir, 'scores.jsonl');
    const args = ['train-stream', '--config', config, '--registry', env.registry, '--topic', env.topic, '--group', env.groupId,
      '--brokers', env.brokers, '--scores-out', scores, '--json'];
    const childEnv = { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'warn' };

    const first = spawnTs(CLI, args, childEnv);
    await waitFor(() => lineCount(scores) >= 3000, { timeoutMs: 300_000, intervalMs: 100, what: '3,000 scored examples' });
    const signalledAt = Date.now();
    first.process.kill('SIGTERM');
    const exit = await Promise.race([first.exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 30_000))]);
    if (exit === 'timeout') first.process.kill('SIGKILL');
    assert.notEqual(exit, 'timeout', 'exited within 30 s of SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null }, first.stderr.slice(-10).join('\n'));
    const drainMs = Date.now() - signalledAt;

    const stopped = first.lines.at(-1) as FinalStatus;
    assert.equal(typeof stopped, 'object', `the final status line is printed before exiting; stdout: ${JSON.stringify(first.lines.slice(-2))}`);
    const consumed = Object.values(stopped.positions).reduce((a, b) => a + b, 0);
    assert.ok(consumed < messages, `stopped mid-stream (${consumed} of ${messages} consumed)`);
    assert.deepEqual(stopped.versions, [], 'a stop is not a publish: the next run publishes on schedule');
    assert.equal(lineCount(scores), stopped.counters.trained, 'every trained example\'s score is in --scores-out (the file is flushed before exit)');

    // The checkpoint holds exactly the stopped state, and the group committed its offsets.
    const current = readFileSync(path.join(env.checkpointDir, 'CURRENT'), 'utf8').trim();
    const saved = JSON.parse(readFileSync(path.join(env.checkpointDir, current, 'state.json'), 'utf8')) as { counters: FinalStatus['counters']; ledger: FinalStatus['ledger'] };
    assert.deepEqual(saved.counters, stopped.counters);
    assert.deepEqual(saved.ledger.partitions, stopped.ledger.partitions);
    const committed = await env.admin.fetchOffsets({ groupId: env.groupId, topics: [env.topic] });
    // (A partition not reached yet has nothing committed: -1.)
    const expected = Object.fromEntries(committed[0]!.partitions.map((p) => [String(p.partition), stopped.positions[String(p.partition)] ?? -1]));
    assert.deepEqual(Object.fromEntries(committed[0]!.partitions.map((p) => [String(p.partition), Number(p.offset)])), expected);
    assert.ok(Object.keys(stopped.positions).length > 0);

    // A restart carries on from there: each impression trained exactly once over both runs.
    const second = spawnTs(CLI, [...args, '--idle-exit-seconds', '4'], childEnv);
    assert.deepEqual(await second.exited, { code: 0, signal: null }, second.stderr.slice(-10).join('\n'));
    const final = second.lines.at(-1) as FinalStatus;
    assert.equal(final.startedFrom.kind, 'checkpoint');
    const ends = Object.fromEntries((await env.admin.fetchTopicOffsets(env.topic)).map((o) => [String(o.partition), [[0, Number(o.high)]]]));
    assert.deepEqual(final.ledger.partitions, ends, `each partition consumed as one unbroken range: ${JSON.stringify(final.ledger)} vs ${JSON.stringify(ends)}`);
    assert.deepEqual([final.ledger.gaps, final.ledger.doubles], [0, 0]);
    const ids = [...syntheticImpressions(synthetic)].map((s) => s.event.event_id);
    assert.equal(final.counters.trained, ids.length);
    assert.equal(final.counters.trainedIdHash, ids.reduce((sum, id) => (sum + hashString(id)) % 2 ** 32, 0));
    assert.equal(lineCount(scores), ids.length, 'each example scored once across both runs');
    console.log(JSON.stringify({ drainMs, stoppedAt: stopped.positions, trainedAtStop: stopped.counters.trained }));
  });
});
