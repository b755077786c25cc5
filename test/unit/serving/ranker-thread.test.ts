import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { RankerHandle, type ServedVersion } from '../../../serving/model-bundle.js';
import { RankerThread, type GcPause } from '../../../serving/ranker-thread.js';
import { requestExamples } from '../../../models/ctr/ctr-scorer.js';
import { publishTinyDin, tinySplits } from '../../helpers/serving-fixtures.js';

describe('the ranker thread', function () {
  this.timeout(120_000);
  let registry: string;
  let served: ServedVersion;

  before(async () => {
    registry = mkdtempSync(path.join(tmpdir(), 'ranker-thread-'));
    served = { model: 'syn-din', version: 1, dir: await publishTinyDin(registry, 'syn-din'), via: 'latest' };
  });
  after(() => rmSync(registry, { recursive: true, force: true }));

  /** Two requests' examples encoded as the batcher encodes them. */
  const batchFor = (handle: RankerHandle) => {
    const [a, b] = tinySplits().test;
    const examples = [a!, b!].flatMap((e, i) => requestExamples({ userId: e.event.user_id, user: e.user, history: e.history, ts: 1_700_000_000_000, candidates: [e.event.item_id, `i${i}`, 'unknown-item'] }, () => e.item));
    return handle.scorer.model.encoder.encode(examples);
  };

  for (const precision of ['float', 'int8'] as const) {
    it(`predicts in the thread exactly what the in-process model predicts (${precision})`, async () => {
      const handle = await RankerHandle.load(served, { precision, thread: true });
      try {
        assert.equal(handle.threaded, true);
        assert.equal(handle.threadProblem, undefined);
        const batch = batchFor(handle);
        const inProcess = handle.scorer.model.predict(batch);
        const threaded = await handle.predict(batch);
        assert.equal(threaded.length, 6);
        assert.deepEqual(Array.from(threaded), Array.from(inProcess));
      } finally {
        handle.retire();
      }
    });
  }

  it('when the thread dies, predictions in flight and after are scored in-process and the failure is reported', async () => {
    const failures: Error[] = [];
    const handle = await RankerHandle.load(served, { precision: 'float', thread: true, onThreadFailure: (error) => failures.push(error) });
    const thread = (handle as unknown as { thread: RankerThread }).thread;
    try {
      const batch = batchFor(handle);
      const expected = Array.from(handle.scorer.model.predict(batch));
      const inFlight = handle.predict(batch);
      await thread.terminate();
      assert.deepEqual(Array.from(await inFlight), expected);
      assert.equal(handle.threaded, false);
      assert.equal(failures.length, 1);
      assert.match(failures[0]!.message, /ranker thread exited/);
      assert.deepEqual(Array.from(await handle.predict(batch)), expected);
    } finally {
      handle.retire();
    }
  });

  it('a thread that misses a prediction\'s deadline is stopped: the prediction rejects and the failure is reported', async () => {
    const failures: Error[] = [];
    const thread = await RankerThread.start({ dir: served.dir, precision: 'float' }, { onFailure: (error) => failures.push(error), deadlineMs: 1 });
    const handle = await RankerHandle.load(served, { precision: 'float' });
    try {
      await assert.rejects(thread.predict(batchFor(handle)), /did not answer a prediction within 1 ms/);
      assert.match(thread.failure!.message, /did not answer/);
      assert.equal(failures.length, 1);
      await assert.rejects(thread.predict(batchFor(handle)), /did not answer/);
    } finally {
      handle.retire();
      await thread.terminate();
    }
  });

  it('a model the thread cannot load is refused with the reason', async () => {
    await assert.rejects(RankerThread.start({ dir: path.join(registry, 'no-such-model'), precision: 'float' }), /the ranker thread could not load .*no-such-model/);
  });

  it('a thread not ready within its start timeout is stopped and the start refused', async () => {
    await assert.rejects(RankerThread.start({ dir: served.dir, precision: 'float' }, { startTimeoutMs: 1 }), /the ranker thread was not ready within 1 ms \(stopped\)/);
  });

  it('reports the pauses of the thread\'s own heap, which the event loop\'s GC metrics do not see', async () => {
    const pauses: GcPause[] = [];
    const handle = await RankerHandle.load(served, { precision: 'float', thread: true, onThreadGc: (pause) => pauses.push(pause) });
    try {
      const batch = batchFor(handle);
      // Each prediction leaves garbage in the thread's young generation (the batch's copy, the tensors' objects): a scavenge comes.
      const deadline = Date.now() + 60_000;
      let predictions = 0;
      while (!pauses.some((p) => p.kind === 'minor') && Date.now() < deadline) {
        await handle.predict(batch);
        predictions++;
      }
      const scavenge = pauses.find((p) => p.kind === 'minor');
      assert.ok(scavenge, `no scavenge of the thread reported after ${predictions} predictions`);
      assert.ok(scavenge.seconds > 0 && scavenge.seconds < 1, `a scavenge of ${scavenge.seconds} s`);
    } finally {
      handle.retire();
    }
  });

  it('a retired handle stops its thread, so the process can exit', async () => {
    const handle = await RankerHandle.load(served, { precision: 'float', thread: true });
    const thread = (handle as unknown as { thread: RankerThread }).thread;
    const exited = new Promise<number>((resolve) => (thread as unknown as { worker: Worker }).worker.once('exit', resolve));
    handle.retire();
    assert.equal(await exited, 0);
    assert.equal(handle.isDisposed, true);
  });
});
