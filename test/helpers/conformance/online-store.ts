import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Event, InteractionEvent } from '../../../features/events/event-schema.js';
import { MemoryOnlineStore } from '../../../pipelines/online-store/memory-online-store.js';
import { entityRef, opsOf, type OnlineOps, type OnlineStoreSpec } from '../../../pipelines/online-store/online-ops.js';
import { emptyCounters, type OnlineStoreReader } from '../../../pipelines/online-store/online-store.js';

/** A fresh, empty store for `spec`, and how ingestion writes to it. */
export interface OnlineStoreUnderTest {
  store: OnlineStoreReader;
  /** Applies `ops` as one chunk, atomically, the way ingestion does. */
  apply(ops: OnlineOps): Promise<void>;
  cleanup(): Promise<void>;
}

/** Every user and item touched by `events` reads the same from `actual` as from `expected`. */
export async function assertOnlineStoreMatches(actual: OnlineStoreReader, expected: OnlineStoreReader, events: readonly Event[]): Promise<void> {
  const users = new Set<string>();
  const items = new Set<string>();
  for (const e of events) {
    if ('user_id' in e) users.add(e.user_id);
    if ('item_id' in e) items.add(e.item_id);
  }
  for (const user of users) assert.deepEqual(await actual.user(user), await expected.user(user), `user ${user}`);
  const ids = [...items];
  for (let i = 0; i < ids.length; i += 500) {
    const slice = ids.slice(i, i + 500);
    assert.deepEqual(await actual.items(slice), await expected.items(slice), `items ${slice[0]}..`);
  }
}

/** Clicks make the behaviour sequence (any label); labels come from the event. */
export const CONFORMANCE_SPEC: OnlineStoreSpec = { label: { from: 'label' }, behaviour: { types: ['click'], positiveOnly: false, maxLength: 5 } };

const T0 = 1_704_067_200_000;
let seq = 0;
const interaction = (type: InteractionEvent['type'], user: string, item: string, ts: number, label?: 0 | 1): InteractionEvent =>
  ({ schema_version: 1, event_id: `e${seq++}`, type, user_id: user, item_id: item, ts: T0 + ts, ...(label === undefined ? {} : { label }) });

const empty = { history: [], attributes: {}, counters: emptyCounters() };

/**
 * The online store contract (pipelines/online-store/online-store.ts and
 * online-ops.ts), run on every implementation: in memory (unit) and Redis
 * (integration). The in-memory store is also the reference ingestion's tests
 * compare Redis with, so here each behaviour is pinned to explicit values,
 * and random event streams applied in random chunks must read as the same
 * events applied at once.
 */
export function onlineStoreConformance(name: string, open: (spec: OnlineStoreSpec) => Promise<OnlineStoreUnderTest>): void {
  describe(`online store conformance: ${name}`, function () {
    this.timeout(60_000);
    const opened: OnlineStoreUnderTest[] = [];
    const fresh = async (spec = CONFORMANCE_SPEC) => {
      const under = await open(spec);
      opened.push(under);
      return under;
    };
    afterEach(async () => {
      for (const under of opened.splice(0)) await under.cleanup();
    });

    it('reads an unknown user and unknown items as empty; items([]) is an empty map', async () => {
      const { store } = await fresh();
      assert.deepEqual(await store.user('nobody'), empty);
      assert.deepEqual(await store.items(['none', 'neither']), new Map([['none', { attributes: {}, counters: emptyCounters() }], ['neither', { attributes: {}, counters: emptyCounters() }]]));
      assert.deepEqual(await store.items([]), new Map());
    });

    it('counts each interaction type and its positives per user and item; last_ts never goes back', async () => {
      const { store, apply } = await fresh();
      await apply(opsOf(CONFORMANCE_SPEC, [
        interaction('impression', 'u1', 'i1', 10, 0), interaction('impression', 'u1', 'i1', 20, 1), interaction('click', 'u1', 'i1', 21, 1),
        interaction('impression', 'u2', 'i1', 30), interaction('rating', 'u1', 'i2', 5),
      ]));
      // A late chunk with older events adds to the counts but leaves last_ts.
      await apply(opsOf(CONFORMANCE_SPEC, [interaction('impression', 'u1', 'i1', 1, 1)]));
      const u1 = await store.user('u1');
      assert.deepEqual(u1.counters, { counts: { impression: 3, 'impression:pos': 2, click: 1, 'click:pos': 1, rating: 1 }, lastTs: T0 + 21 });
      const items = await store.items(['i1', 'i2']);
      assert.deepEqual(items.get('i1')!.counters, { counts: { impression: 4, 'impression:pos': 2, click: 1, 'click:pos': 1 }, lastTs: T0 + 30 });
      assert.deepEqual(items.get('i2')!.counters, { counts: { rating: 1 }, lastTs: T0 + 5 });
      assert.deepEqual((await store.user('u2')).counters, { counts: { impression: 1 }, lastTs: T0 + 30 });
    });

    it('applies counters without a time and a time without counters, each alone', async () => {
      const { store, apply } = await fresh();
      await apply(opsOf(CONFORMANCE_SPEC, [interaction('click', 'u1', 'i1', 10, 1)]));
      await apply(opsOf(CONFORMANCE_SPEC, [interaction('click', 'u3', 'i3', 60, 0)]));
      const ops = opsOf(CONFORMANCE_SPEC, [interaction('click', 'u2', 'i2', 30, 0)]);
      ops.counters.set(entityRef('user', 'u1'), new Map([['click', 2]]));
      ops.lastTs.set(entityRef('item', 'i1'), T0 + 40);
      ops.lastTs.set(entityRef('item', 'i9'), T0 + 50);
      // Older than what i3 holds: its last_ts stays.
      ops.lastTs.set(entityRef('item', 'i3'), T0 + 20);
      ops.counters.set(entityRef('user', 'u4'), new Map());
      ops.lastTs.set(entityRef('user', 'u4'), T0 + 70);
      await apply(ops);
      assert.deepEqual((await store.user('u1')).counters, { counts: { click: 3, 'click:pos': 1 }, lastTs: T0 + 10 });
      assert.deepEqual((await store.user('u2')).counters, { counts: { click: 1 }, lastTs: T0 + 30 });
      assert.deepEqual((await store.user('u4')).counters, { counts: {}, lastTs: T0 + 70 });
      const items = await store.items(['i1', 'i2', 'i3', 'i9']);
      assert.deepEqual(items.get('i1')!.counters, { counts: { click: 1, 'click:pos': 1 }, lastTs: T0 + 40 });
      assert.deepEqual(items.get('i2')!.counters, { counts: { click: 1 }, lastTs: T0 + 30 });
      assert.deepEqual(items.get('i3')!.counters, { counts: { click: 1 }, lastTs: T0 + 60 });
      assert.deepEqual(items.get('i9')!.counters, { counts: {}, lastTs: T0 + 50 });
    });

    it('keeps the behaviour sequence newest first, at most maxLength, across chunks; limit cuts it', async () => {
      const { store, apply } = await fresh();
      await apply(opsOf(CONFORMANCE_SPEC, [3, 1, 7, 5].map((ts) => interaction('click', 'u', `i${ts}`, ts))));
      await apply(opsOf(CONFORMANCE_SPEC, [2, 9, 8, 4, 0].map((ts) => interaction('click', 'u', `i${ts}`, ts))));
      // Impressions are not behaviour under this spec.
      await apply(opsOf(CONFORMANCE_SPEC, [interaction('impression', 'u', 'i100', 100, 1)]));
      const newest = [9, 8, 7, 5, 4].map((ts) => ({ item_id: `i${ts}`, ts: T0 + ts }));
      assert.deepEqual((await store.user('u')).history, newest);
      assert.deepEqual((await store.user('u', 2)).history, newest.slice(0, 2));
      assert.deepEqual((await store.user('u', 50)).history, newest);
      assert.deepEqual((await store.user('u', 1)).history, newest.slice(0, 1));
      // Older than everything kept: trimmed away at once.
      await apply(opsOf(CONFORMANCE_SPEC, [interaction('click', 'u', 'old', -5)]));
      assert.deepEqual((await store.user('u')).history, newest);
    });

    it('holds an event applied again in a later chunk once in the sequence (a replay adds no entry)', async () => {
      const { store, apply } = await fresh();
      const events = [interaction('click', 'u', 'a', 1), interaction('click', 'u', 'a', 2), interaction('click', 'u', 'b', 2)];
      await apply(opsOf(CONFORMANCE_SPEC, events));
      await apply({ ...opsOf(CONFORMANCE_SPEC, events), counters: new Map(), lastTs: new Map() });
      assert.deepEqual((await store.user('u')).history, [{ item_id: 'b', ts: T0 + 2 }, { item_id: 'a', ts: T0 + 2 }, { item_id: 'a', ts: T0 + 1 }]);
    });

    it('orders entries of equal time the same way (by item and event, descending)', async () => {
      const { store, apply } = await fresh({ ...CONFORMANCE_SPEC, behaviour: { ...CONFORMANCE_SPEC.behaviour, maxLength: 10 } });
      const items = ['b', 'a', 'B', 'ab', 'é', 'z9', '中'];
      await apply(opsOf(CONFORMANCE_SPEC, items.map((item) => ({ ...interaction('click', 'u', item, 7), event_id: 'same' }))));
      // Members are `<UTF-16 length>:<item><event_id>`: longer ids first, then by item descending.
      assert.deepEqual((await store.user('u')).history.map((h) => h.item_id), ['z9', 'ab', '中', 'é', 'b', 'a', 'B']);
    });

    it('orders entries of equal time as Redis does (UTF-8 bytes) also beyond the Basic Multilingual Plane', async function () {
      const { store, apply } = await fresh();
      const items = ['\u{1F600}', '\uFF61\uFF61', 'zz'];
      await apply(opsOf(CONFORMANCE_SPEC, items.map((item) => ({ ...interaction('click', 'u', item, 7), event_id: 'same' }))));
      // An astral character (UTF-8 F0 ..) sorts after U+FF61 (EF BD A1), although its first UTF-16 code unit (D83D) is the smaller.
      assert.deepEqual((await store.user('u')).history.map((h) => h.item_id), ['\u{1F600}', '\uFF61\uFF61', 'zz']);
    });

    it('answers user(id, 0) with an empty sequence', async function () {
      const { store, apply } = await fresh();
      await apply(opsOf(CONFORMANCE_SPEC, [interaction('click', 'u', 'i1', 1), interaction('click', 'u', 'i2', 2)]));
      assert.deepEqual((await store.user('u', 0)).history, []);
    });

    it('merges attribute updates by time: newer or equal replaces the named attributes, older is ignored', async () => {
      const { store, apply } = await fresh();
      const update = (kind: 'user' | 'item', id: string, ts: number, attributes: Record<string, unknown>) =>
        ({ ...opsOf(CONFORMANCE_SPEC, []), attributes: [{ kind, id, ts: T0 + ts, attributes: attributes as never }] });
      const odd = { quote: 'say "hi"', slash: 'a\\b', lines: 'tab\tnew\nline', text: 'ünïcödé 中文 🎉', int: 42, neg: -3.25, tiny: 5e-324, big: 2 ** 53 - 1, yes: true, no: false, list: ['x', '', 'y"z'], none: [], blank: '' };
      await apply(update('user', 'u', 10, { ...odd, keep: 'kept' }));
      await apply(update('user', 'u', 5, { quote: 'older, ignored', extra: 'older, ignored' }));
      await apply(update('user', 'u', 10, { int: 43 }));
      await apply(update('user', 'u', 11, { list: ['replaced'], added: 1 }));
      await apply(update('item', 'u', 12, { item: 'same id, other kind' }));
      assert.deepEqual((await store.user('u')).attributes, { ...odd, keep: 'kept', int: 43, list: ['replaced'], added: 1 });
      assert.deepEqual((await store.items(['u'])).get('u')!.attributes, { item: 'same id, other kind' });
    });

    it('keeps apart entities whose ids look like key syntax or differ only in Unicode', async () => {
      const { store, apply } = await fresh();
      const ids = ['a', 'a:h', 'a:c', 'a:a', 'u:a', 'i:a', 'a*', 'a b', 'é', 'e\u0301', '中'];
      // Each user n clicks item n (n + 1 times), so every counter and sequence is unique to its entity.
      await apply(opsOf(CONFORMANCE_SPEC, ids.flatMap((id, n) => Array.from({ length: n + 1 }, (_, k) => interaction('click', id, id, n * 100 + k, 1)))));
      await apply({ ...opsOf(CONFORMANCE_SPEC, []), attributes: ids.flatMap((id, n) => [{ kind: 'user' as const, id, ts: T0, attributes: { n } }, { kind: 'item' as const, id, ts: T0, attributes: { n: -(n + 1) } }]) });
      const items = await store.items(ids);
      for (const [n, id] of ids.entries()) {
        const user = await store.user(id);
        assert.deepEqual(user.counters.counts, { click: n + 1, 'click:pos': n + 1 }, `user ${id}`);
        assert.deepEqual(user.attributes, { n }, `user ${id}`);
        assert.deepEqual(user.history.map((h) => h.item_id), Array.from({ length: Math.min(n + 1, 5) }, () => id), `user ${id}`);
        assert.deepEqual(items.get(id), { attributes: { n: -(n + 1) }, counters: { counts: { click: n + 1, 'click:pos': n + 1 }, lastTs: T0 + n * 100 + n } }, `item ${id}`);
      }
    });

    it('answers items() for each id asked, duplicates included once', async () => {
      const { store, apply } = await fresh();
      await apply(opsOf(CONFORMANCE_SPEC, [interaction('click', 'u', 'i1', 1, 1)]));
      const items = await store.items(['i1', 'unknown', 'i1']);
      assert.deepEqual([...items.keys()].sort(), ['i1', 'unknown']);
      assert.deepEqual(items.get('i1')!.counters.counts, { click: 1, 'click:pos': 1 });
    });

    it('reads random event streams applied in random chunks as the same events applied at once', async () => {
      const ids = (prefix: string, n: number) => fc.integer({ min: 0, max: n - 1 }).map((i) => `${prefix}${i}`);
      const event = fc.oneof(
        fc.record({ type: fc.constantFrom('impression' as const, 'click' as const, 'rating' as const), user: ids('u', 4), item: ids('i', 6), ts: fc.integer({ min: 0, max: 40 }), label: fc.constantFrom(0 as const, 1 as const, undefined) })
          .map(({ type, user, item, ts, label }): Event => interaction(type, user, item, ts, label)),
        fc.record({ user: fc.boolean(), id: fc.integer({ min: 0, max: 3 }), ts: fc.integer({ min: 0, max: 40 }), key: fc.constantFrom('a', 'b'), value: fc.oneof(fc.string({ maxLength: 5 }), fc.integer(), fc.boolean()) })
          .map(({ user, id, ts, key, value }): Event => (user
            ? { schema_version: 1, event_id: `e${seq++}`, type: 'user_update', user_id: `u${id}`, ts: T0 + ts, attributes: { [key]: value } }
            : { schema_version: 1, event_id: `e${seq++}`, type: 'item_update', item_id: `i${id}`, ts: T0 + ts, attributes: { [key]: value } })),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(event, { minLength: 1, maxLength: 60 }), fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 10 }), async (events, cuts) => {
          const under = await fresh();
          const reference = new MemoryOnlineStore(CONFORMANCE_SPEC);
          reference.applyEvents(events);
          for (let at = 0, c = 0; at < events.length; at += cuts[c++ % cuts.length]!) {
            await under.apply(opsOf(CONFORMANCE_SPEC, events.slice(at, at + cuts[c % cuts.length]!)));
          }
          await assertOnlineStoreMatches(under.store, reference, events);
          opened.splice(opened.indexOf(under), 1);
          await under.cleanup();
        }),
        { numRuns: 40 },
      );
    });
  });
}
