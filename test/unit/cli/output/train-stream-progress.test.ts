import assert from 'node:assert/strict';
import { humanSeconds, TrainStreamProgress, type TrainStreamProgressOptions } from '../../../../cli/output/train-stream-progress.js';
import type { PublishedVersion } from '../../../../pipelines/streaming/version-publisher.js';

const CLEAR = '\r\x1b[2K';

function reporter(interactive: boolean, extra: Partial<TrainStreamProgressOptions> = {}) {
  let clock = 5_000_000;
  const written: string[] = [];
  const progress = new TrainStreamProgress({ interactive, now: () => clock, write: (t) => written.push(t), publish: { everyExamples: 50_000, everySeconds: 300 }, ...extra });
  return { progress, written, tick: (ms: number) => { clock += ms; } };
}

const version = (v: number, kind: 'full' | 'delta', parent: number | null, rows: number): PublishedVersion =>
  ({ version: v, kind, parent, rows, dir: `/r/v${v}`, publishedAt: 0, offsets: {}, freshness: null, promoted: v === 5, autoPromote: null });
const figures = (trained: number, events: number, auc: number | null, window: number) => ({ counters: { trained, events }, progressive: { auc, events: window } });

describe('TrainStreamProgress (what recsys train-stream reports)', () => {
  it('on a terminal, says at start when the first version comes and how to bound the run', () => {
    const { progress, written } = reporter(true);
    progress.start({ name: 'syn-din-stream', topic: 'recsys.events', groupId: 'g' });
    assert.deepEqual(written.join('').split('\n'), [
      'training syn-din-stream from recsys.events as group g (SIGTERM to stop)',
      'the first version is published after 50,000 trained examples or 5 min, whichever comes first (publish.everyExamples, publish.everySeconds in the config)',
      'for a bounded run, --idle-exit-seconds N publishes what it trained and exits once no event came for N seconds',
      '',
    ]);
  });

  it('with --idle-exit-seconds, says when it will exit instead', () => {
    const { progress, written } = reporter(true, { idleExitSeconds: 20, publish: { everyExamples: 1000, everySeconds: 90 } });
    progress.start({ name: 'm', topic: 't', groupId: 'g' });
    assert.match(written.join(''), /after 1,000 trained examples or 90 s, whichever comes first/);
    assert.match(written.join(''), /exits once no event came for 20 s, after publishing what it trained\n$/);
  });

  it('redraws a status line (examples, progressive AUC, versions) and prints each version above it', () => {
    const { progress, written, tick } = reporter(true);
    progress.start({ name: 'm', topic: 't', groupId: 'g' });
    tick(2000);
    progress.update(figures(0, 40, null, 0));
    assert.equal(written.at(-1), `${CLEAR}train-stream 0 examples from 40 events | progressive AUC - | 0 versions | 2 s`);
    tick(1000);
    progress.update(figures(51_200, 60_000, 0.71234, 10_000));
    assert.equal(written.at(-1), `${CLEAR}train-stream 51,200 examples from 60,000 events | progressive AUC 0.7123 (last 10,000) | 0 versions | 3 s`);
    progress.published(version(4, 'delta', 3, 1234));
    assert.equal(written.at(-1), `${CLEAR}published v4 (delta of v3, 1,234 rows)\n`);
    progress.update(figures(51_200, 60_000, 0.71234, 10_000));
    assert.match(written.at(-1)!, /\| 1 versions \|/);
    progress.published(version(5, 'full', null, 9));
    assert.equal(written.at(-1), `${CLEAR}published v5 (full, 9 rows), promoted to serving\n`);
  });

  it('off a terminal: only the start line and the summary (the trainer logs its own progress lines)', () => {
    const { progress, written, tick } = reporter(false);
    progress.start({ name: 'm', topic: 't', groupId: 'g' });
    progress.update(figures(10, 10, 0.5, 10));
    progress.published(version(1, 'full', null, 5));
    tick(12_340);
    progress.finish(figures(1000, 1100, 0.66666, 1000), 1);
    assert.deepEqual(written, [
      'training m from t as group g (SIGTERM to stop)\n',
      'trained 1,000 examples from 1,100 events in 12.3 s; progressive AUC 0.6667 over the last 1,000; 1 versions published\n',
    ]);
  });

  it('says durations as people do', () => {
    assert.equal(humanSeconds(300), '5 min');
    assert.equal(humanSeconds(90), '90 s');
    assert.equal(humanSeconds(0.5), '0.5 s');
  });
});
