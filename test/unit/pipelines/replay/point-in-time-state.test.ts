import assert from 'node:assert/strict';
import path from 'node:path';
import type { Event } from '../../../../features/events/event-schema.js';
import { loadFeatureSpec } from '../../../../features/spec/feature-spec.js';
import { compareStored } from '../../../../pipelines/ingest/offline-store.js';
import { MemoryOnlineStore } from '../../../../pipelines/online-store/memory-online-store.js';
import { onlineSpecFrom } from '../../../../pipelines/online-store/online-ops.js';
import { PointInTimeState } from '../../../../pipelines/replay/point-in-time-state.js';

/**
 * The replay's rebuilt behaviour history is the one the online store serves
 * after the same events: the same order within one millisecond (a request's
 * clicks share one), the same entries when the history is full.
 */
describe('replay: point-in-time state', () => {
  const spec = loadFeatureSpec(path.resolve('configs/features/synthetic.json'));
  const click = (id: string, ts: number, item: string): Event => ({ schema_version: 1, type: 'click', event_id: id, ts, user_id: 'u1', item_id: item, label: 1 });

  it('orders and truncates same-millisecond events as the online store does', () => {
    const events: Event[] = [];
    // 60 clicks, three per millisecond, event ids that sort unlike the items.
    for (let n = 0; n < 20; n++) {
      for (const [k, item] of ['i9', 'i100', 'i25'].entries()) events.push(click(`e${n}-${2 - k}`, 1_000 + n, `${item}${n}`));
    }
    const online = new MemoryOnlineStore(onlineSpecFrom(spec));
    online.applyEvents(events);
    const state = new PointInTimeState(spec);
    for (const e of [...events].sort(compareStored)) state.push(e);
    return online.user('u1').then((served) => {
      assert.equal(served.history.length, spec.behaviour.maxLength);
      assert.deepEqual(state.history('u1'), served.history);
    });
  });

  it('keeps a replayed event once, as the online store does', async () => {
    const events = [click('a', 5, 'i1'), click('b', 5, 'i2'), click('a', 5, 'i1')];
    const online = new MemoryOnlineStore(onlineSpecFrom(spec));
    online.applyEvents(events);
    const state = new PointInTimeState(spec);
    for (const e of events) state.push(e);
    assert.deepEqual(state.history('u1'), (await online.user('u1')).history);
    assert.equal(state.history('u1').length, 2);
  });
});
