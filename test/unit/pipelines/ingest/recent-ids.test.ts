import assert from 'node:assert/strict';
import { RecentIds } from '../../../../pipelines/ingest/recent-ids.js';

describe('RecentIds (a partition\'s dedupe window in the ingesting process)', () => {
  it('holds the ids of the chunks that ended within the window, and lets older chunks go whole', () => {
    const recent = new RecentIds(100);
    recent.add(49, ['a', 'b']);
    recent.add(99, ['c']);
    assert.ok(recent.has('a') && recent.has('c'));
    recent.add(148, ['d']);
    assert.ok(recent.has('a'), 'the chunk ending at 49 is within 100 offsets of 148');
    recent.add(149, []);
    assert.ok(!recent.has('a') && !recent.has('b'), 'the chunk ending at 49 left at 149');
    assert.ok(recent.has('c') && recent.has('d'));
    assert.equal(recent.size, 2);
  });

  it('keeps an id a later chunk applied again when the earlier chunk leaves', () => {
    const recent = new RecentIds(10);
    recent.add(5, ['x']);
    recent.add(12, ['x']);
    recent.add(15, []);
    assert.ok(recent.has('x'), 'x came again at 12, still within the window at 15');
    recent.add(22, []);
    assert.ok(!recent.has('x'));
  });

  it('is rebuilt from Redis\'s copy in offset order, whatever order the hash returns', () => {
    const recent = RecentIds.from(100, new Map([[150, ['late']], [30, ['early']], [90, ['mid']]]));
    assert.ok(!recent.has('early'), 'the chunk ending at 30 is 120 offsets before 150');
    assert.ok(recent.has('mid') && recent.has('late'));
  });
});
