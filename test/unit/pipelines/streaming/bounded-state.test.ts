import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Event } from '../../../../features/events/event-schema.js';
import { PointInTimeSampleBuilder, type PointInTimeOptions } from '../../../../features/samples/point-in-time-builder.js';
import { parseFeatureSpec } from '../../../../features/spec/feature-spec.js';
import { ModelRegistry } from '../../../../pipelines/registry/model-registry.js';
import { StreamTrainer } from '../../../../pipelines/streaming/stream-trainer.js';
import type { StreamRecord } from '../../../../pipelines/streaming/stream-trainer.js';
import { smallStreamConfig, tempDir } from './stream-fixtures.js';

const spec = parseFeatureSpec({
  name: 't', version: 1, label: { from: 'label' }, exampleTypes: ['impression'],
  behaviour: { types: ['impression', 'click'], positiveOnly: true, maxLength: 3 },
  fields: [{ kind: 'categorical', name: 'item_id', source: 'item_id' }],
});
const T = 1_700_000_000_000;
let n = 0;
const click = (user: string, item: string, ts: number): Event => ({ schema_version: 1, type: 'click', event_id: `c${n++}`, ts: T + ts, user_id: user, item_id: item, label: 1 });
const imp = (user: string, item: string, ts: number): Event => ({ schema_version: 1, type: 'impression', event_id: `i${n++}`, ts: T + ts, user_id: user, item_id: item, label: 0 });
const update = (user: string, ts: number, attributes: Record<string, string>): Event => ({ schema_version: 1, type: 'user_update', event_id: `u${n++}`, ts: T + ts, user_id: user, attributes });

/** The history and user attributes an impression of `user` at `ts` would be built with. */
function stateOf(builder: PointInTimeSampleBuilder, user: string, ts: number): { history: string[]; user: Record<string, unknown> } {
  const [example] = [...builder.push(imp(user, 'probe', ts)), ...builder.flush()].filter((e) => e.event.item_id === 'probe');
  return { history: example!.history.map((h) => h.item_id), user: example!.user };
}

describe('point-in-time builder: bounded per-user state', () => {
  it('keeps at most maxUsers users, dropping the least recently active', () => {
    const builder = new PointInTimeSampleBuilder(spec, { maxUsers: 3 });
    let ts = 0;
    for (const u of ['a', 'b', 'c']) builder.push(click(u, `${u}1`, ts++));
    builder.push(update('a', ts++, { segment: 'x' }));
    builder.push(click('d', 'd1', ts++)); // 'b' is now the least recently active
    builder.flush();
    assert.equal(builder.userCount, 3);
    assert.equal(builder.stats.expiredUsers, 1);
    assert.deepEqual([...builder.userStates()].map((u) => u.user), ['c', 'a', 'd']);
    const b = stateOf(builder, 'b', ts++);
    assert.deepEqual(b.history, [], 'a dropped user starts again with an empty history');
    assert.deepEqual(stateOf(builder, 'a', ts++), { history: ['a1'], user: { segment: 'x' } });
  });

  it('drops users idle for userIdleMs of event time', () => {
    const builder = new PointInTimeSampleBuilder(spec, { userIdleMs: 1000 });
    builder.push(click('old', 'o1', 0));
    builder.push(click('new', 'n1', 900));
    builder.push(click('new', 'n2', 1500));
    builder.flush();
    assert.deepEqual([...builder.userStates()].map((u) => [u.user, u.lastTs - T]), [['new', 1500]]);
    assert.equal(builder.stats.expiredUsers, 1);
  });

  it('refuses a cap below 1 and a non-positive idle time, naming the value', () => {
    assert.throws(() => new PointInTimeSampleBuilder(spec, { maxUsers: 0 }), /maxUsers must be at least 1, got 0/);
    assert.throws(() => new PointInTimeSampleBuilder(spec, { userIdleMs: -5 }), /userIdleMs must be positive, got -5/);
  });

  it('restores the activity order, from a whole snapshot or user by user, so later expiry is the same', () => {
    const options: PointInTimeOptions = { maxUsers: 4 };
    const builder = new PointInTimeSampleBuilder(spec, options);
    let ts = 0;
    for (const u of ['a', 'b', 'c', 'd', 'b', 'a']) builder.push(click(u, `${u}${ts}`, ts++));
    builder.flush();
    const whole = PointInTimeSampleBuilder.restore(spec, options, builder.snapshot());
    const byUser = PointInTimeSampleBuilder.restore(spec, options, builder.snapshot({ users: false }));
    for (const u of builder.userStates()) byUser.restoreUser(u);
    for (const copy of [builder, whole, byUser]) {
      copy.push(click('e', 'e1', ts));
      copy.flush();
    }
    for (const copy of [whole, byUser]) assert.deepEqual(copy.snapshot(), builder.snapshot());
    assert.deepEqual([...builder.userStates()].map((u) => u.user), ['d', 'b', 'a', 'e'], "'c' was the least recently active");
  });

  it('restores a snapshot from before the activity order (older checkpoints): every user kept, as active at the watermark', () => {
    const builder = new PointInTimeSampleBuilder(spec);
    builder.push(click('a', 'a1', 0));
    builder.push(update('b', 1, { segment: 'y' }));
    builder.flush();
    const { activity: _, ...old } = builder.snapshot();
    const restored = PointInTimeSampleBuilder.restore(spec, { maxUsers: 10 }, old);
    assert.deepEqual([...restored.userStates()].map((u) => [u.user, u.lastTs - T, u.history.length, u.attributes]), [['a', 1, 1, null], ['b', 1, 0, { segment: 'y' }]]);
  });
});

/** Heap in use after a full collection (--expose-gc set at run time). */
function heapAfterGc(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}

describe('streaming trainer state at a million users', function () {
  this.timeout(600_000);

  it('writes and restores a checkpoint of 1,000,000 users (more than one JSON string can hold) exactly', async () => {
    const users = 1_000_000;
    // 520 characters of attributes per user: with its click, ~600 MB as the one JSON string of state.json,
    // past V8's largest string (2^29 − 24 ≈ 537 M characters).
    const bio = 'b'.repeat(520);
    const dir = tempDir();
    const base = smallStreamConfig(dir);
    const config = { ...base, state: { maxUsers: 2_000_000 } };
    const registry = new ModelRegistry(path.join(dir, 'registry'));
    const trainer = await StreamTrainer.open(config, { registry, topic: 'events', checkpointDir: config.checkpoint.dir! });
    let offset = 0;
    const record = (event: Event): StreamRecord => ({ partition: 0, offset: offset++, value: Buffer.from(JSON.stringify(event)), timestamp: T });
    for (let start = 0; start < users; start += 10_000) {
      const chunk: StreamRecord[] = [];
      for (let u = start; u < start + 10_000; u++) {
        chunk.push(record(update(`u${u}`, u, { bio: `${u}${bio}` })));
        chunk.push(record(click(`u${u}`, `i${u % 997}`, u)));
      }
      assert.equal(trainer.consume(chunk), null);
    }
    const saved = await trainer.checkpoint();
    assert.deepEqual(trainer.status().users, { kept: users - 1, expired: 0 });
    trainer.dispose();

    const restored = await StreamTrainer.open(config, { registry, topic: 'events', checkpointDir: config.checkpoint.dir! });
    assert.equal(restored.startedFrom.kind, 'checkpoint');
    const again = await restored.checkpoint();
    restored.dispose();
    const manifest = (ckpt: string) => JSON.parse(readFileSync(path.join(ckpt, 'checkpoint.json'), 'utf8')) as { files: { path: string; bytes: number; sha256: string }[] };
    const usersFile = (ckpt: string) => manifest(ckpt).files.find((f) => f.path === 'builder-users.jsonl')!;
    const state = (ckpt: string) => JSON.parse(readFileSync(path.join(ckpt, 'state.json'), 'utf8')) as Record<string, unknown>;
    assert.ok(usersFile(saved.dir).bytes > 2 ** 29, `the users file (${usersFile(saved.dir).bytes} bytes) is larger than one string could be`);
    assert.deepEqual(usersFile(again.dir), usersFile(saved.dir), 'the restored trainer writes back the same users, byte for byte');
    const [before, after] = [state(saved.dir), state(again.dir)];
    for (const key of ['builder', 'builderUsers', 'ledger', 'counters', 'progressive', 'publish']) assert.deepEqual(after[key], before[key], key);
    // The last instant's two events still wait in the reorder buffer (state.json's pending), their user not yet known.
    assert.deepEqual(before.builderUsers, { file: 'builder-users.jsonl', count: users - 1 });
    assert.equal((before.builder as { pending: unknown[] }).pending.length, 2);
  });

  it('keeps memory flat over a million users with maxUsers 100,000', () => {
    const builder = new PointInTimeSampleBuilder(spec, { maxUsers: 100_000 });
    const heap: number[] = [];
    for (let u = 0; u < 1_000_000; u++) {
      builder.push(update(`u${u}`, u, { segment: `s${u % 7}` }));
      builder.push(click(`u${u}`, `i${u % 997}`, u));
      if ((u + 1) % 250_000 === 0) heap.push(heapAfterGc());
    }
    builder.flush();
    assert.equal(builder.userCount, 100_000);
    assert.equal(builder.stats.expiredUsers, 900_000);
    console.log(JSON.stringify({ heapMbAt: heap.map((h, i) => ({ users: (i + 1) * 250_000, heapMb: Math.round(h / 2 ** 20) })) }));
    assert.ok(heap.at(-1)! < heap[0]! * 1.25, `heap after 1M users ${heap.at(-1)} is within 25% of that after 250k (${heap[0]})`);
  });
});
