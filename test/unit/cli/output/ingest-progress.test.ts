import assert from 'node:assert/strict';
import { IngestProgress, type IngestProgressOptions } from '../../../../cli/output/ingest-progress.js';
import type { FlushInfo } from '../../../../pipelines/ingest/ingest-pipeline.js';

function flush(partition: number, firstOffset: number, lastOffset: number, dead = 0, unwritable = 0): FlushInfo {
  const messages = lastOffset - firstOffset + 1;
  return {
    messages, valid: messages - dead, dead, unwritable, visibleAt: 0, eventTimes: [], kafkaTimes: [],
    partitions: [{ topic: 'ev', partition, firstOffset, lastOffset }],
  };
}

function reporter(interactive: boolean, extra: Partial<IngestProgressOptions> = {}) {
  let clock = 1_000_000;
  const written: string[] = [];
  const logged: { fields: Record<string, unknown>; message: string }[] = [];
  const progress = new IngestProgress({
    interactive, now: () => clock,
    write: (text) => written.push(text),
    log: (fields, message) => logged.push({ fields, message }),
    ...extra,
  });
  return { progress, written, logged, tick: (ms: number) => { clock += ms; } };
}

/** Return to the line start and erase it: the status line is redrawn in place. */
const CLEAR = '\r\x1b[2K';
const lag = (...values: number[]) => new Map(values.map((v, i) => [`ev/${i}`, v]));

describe('IngestProgress (what recsys ingest reports)', () => {
  it('on a terminal: a status line with rate, stored, dead-lettered and lag, then "caught up" once lag is 0 and all is flushed', () => {
    const { progress, written, tick } = reporter(true);
    progress.sample({ received: 0, lag: new Map() });
    assert.match(written.at(-1)!, /ingest 0 in \(0\/s\) \| 0 stored \| 0 dead-lettered \| lag -$/);

    tick(1000);
    progress.sample({ received: 2000, lag: lag(3000, 1000) });
    assert.equal(written.at(-1), `${CLEAR}ingest 2,000 in (2,000/s) | 0 stored | 0 dead-lettered | lag 4,000`);

    progress.flushed(flush(0, 0, 999, 3));
    progress.flushed(flush(1, 0, 999));
    tick(1000);
    progress.sample({ received: 6000, lag: lag(0, 0) });
    assert.ok(!written.some((w) => w.includes('caught up')), 'received 6,000, flushed 2,000: not caught up yet');

    progress.flushed(flush(0, 1000, 2999, 0, 2));
    progress.flushed(flush(1, 1000, 2999));
    tick(500);
    progress.sample({ received: 6000, lag: lag(0, 0) });
    const caught = written.filter((w) => w.includes('caught up:'));
    assert.equal(caught.length, 1);
    assert.equal(caught[0], `${CLEAR}caught up: lag 0, 5,995 events stored, 5 dead-lettered after 2.5 s\n`);
    assert.match(written.at(-1)!, /lag 0 \| caught up$/);

    tick(1000);
    progress.sample({ received: 6000, lag: lag(0, 0) });
    assert.equal(written.filter((w) => w.includes('caught up:')).length, 1, 'said once while it stays caught up');
  });

  it('says "behind again" above the threshold only, and "caught up" again after', () => {
    const { progress, written, tick } = reporter(true, { behindAbove: 100 });
    progress.flushed(flush(0, 0, 9));
    progress.sample({ received: 10, lag: lag(0) });
    tick(1000);
    progress.sample({ received: 60, lag: lag(50) });
    assert.ok(!written.some((w) => w.includes('behind')), 'a little lag under a live producer is not "behind"');
    tick(1000);
    progress.sample({ received: 600, lag: lag(5000) });
    assert.ok(written.some((w) => w === `${CLEAR}behind again: lag 5,000\n`));
    progress.flushed(flush(0, 10, 5609));
    tick(1000);
    progress.sample({ received: 5610, lag: lag(0) });
    assert.equal(written.filter((w) => w.includes('caught up:')).length, 2);
  });

  it('is not caught up while a store is unavailable, nor before the first fetch', () => {
    const { progress, written, tick } = reporter(true);
    progress.sample({ received: 0, lag: new Map() });
    tick(1000);
    progress.sample({ received: 0, lag: new Map() });
    progress.flushed(flush(0, 0, 9));
    tick(1000);
    progress.sample({ received: 10, lag: lag(0), paused: true });
    assert.ok(!written.some((w) => w.includes('caught up:')));
    tick(1000);
    progress.sample({ received: 10, lag: lag(0), paused: false });
    assert.ok(written.some((w) => w.includes('caught up:')));
  });

  it('is caught up under a live producer when lag is 0 and no more than behindAbove messages are in flight', () => {
    const { progress, written, tick } = reporter(true, { behindAbove: 1000 });
    progress.flushed(flush(0, 0, 8999));
    tick(1000);
    progress.sample({ received: 10_001, lag: lag(0) });
    assert.ok(!written.some((w) => w.includes('caught up:')), '1,001 in flight');
    progress.flushed(flush(0, 9000, 9999));
    tick(1000);
    progress.sample({ received: 10_900, lag: lag(0) });
    assert.ok(written.some((w) => w.includes('caught up: lag 0, 10,000 events stored')));
  });

  it('counts batches dropped at a rebalance (received twice) as drained once nothing moves for a sample', () => {
    const { progress, written, tick } = reporter(true);
    progress.flushed(flush(0, 0, 99));
    progress.sample({ received: 5000, lag: lag(0) });
    assert.ok(!written.some((w) => w.includes('caught up:')), 'flushes may still be in flight');
    tick(1000);
    progress.sample({ received: 5000, lag: lag(0) });
    assert.ok(written.some((w) => w.includes('caught up:')));
  });

  it('off a terminal: structured progress lines at most every logEverySeconds and only when something moved, plus caught up', () => {
    const { progress, written, logged, tick } = reporter(false, { logEverySeconds: 10 });
    progress.sample({ received: 100, lag: lag(900) });
    assert.deepEqual(logged.at(-1), { message: 'progress', fields: { received: 100, events_per_second: 0, stored: 0, dead_lettered: 0, lag: 900 } });
    tick(5000);
    progress.sample({ received: 600, lag: lag(400) });
    assert.equal(logged.length, 1, 'not before 10 s');
    tick(5000);
    progress.flushed(flush(0, 0, 999, 1));
    progress.sample({ received: 1000, lag: lag(0) });
    assert.deepEqual(logged.map((l) => l.message), ['progress', 'caught up', 'progress']);
    assert.deepEqual(logged[1]!.fields, { stored: 999, dead_lettered: 1, seconds: 10 });
    assert.deepEqual(logged[2]!.fields, { received: 1000, events_per_second: 80, stored: 999, dead_lettered: 1, lag: 0 });
    tick(20_000);
    progress.sample({ received: 1000, lag: lag(0) });
    assert.equal(logged.length, 3, 'nothing moved: no line');
    assert.deepEqual(written, [], 'nothing raw off a terminal');
  });

  it('summarises stored, dead-lettered, seconds and messages by partition', () => {
    for (const interactive of [true, false]) {
      const { progress, written, logged, tick } = reporter(interactive);
      progress.flushed(flush(1, 0, 99, 2));
      progress.flushed(flush(10, 0, 49));
      progress.flushed(flush(1, 100, 199, 0, 1));
      tick(12_345);
      const summary = progress.finish();
      assert.deepEqual(summary, {
        stored: 247, dead_lettered: 3, seconds: 12.3,
        partitions: { 'ev/1': { messages: 200, last_offset: 199 }, 'ev/10': { messages: 50, last_offset: 49 } },
      });
      if (interactive) assert.equal(written.at(-1), 'ingested 247 events, 3 dead-lettered in 12.3 s (messages by partition: ev/1: 200, ev/10: 50)\n');
      else assert.deepEqual(logged.at(-1), { message: 'ingest summary', fields: summary });
    }
  });
});
