// The ranker thread (ranker-thread.ts): loads the served CTR model from its
// artifact, warms it, then answers predictions in the order they come.
import { PerformanceObserver } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../infra/errors.js';
import { gcKind } from '../infra/gc-kind.js';
import { loadCtrModel } from '../models/ctr-artifact/model-artifact.js';
import { CtrScorer } from '../models/ctr/ctr-scorer.js';
import type { FromRankerThread, RankerThreadSetup, ToRankerThread } from './ranker-thread.js';

const port = parentPort!;
const { dir, precision } = workerData as RankerThreadSetup;
const { model } = await loadCtrModel(dir);
const scorer = CtrScorer.fromModel(model, precision);
// The first call compiles TensorFlow's kernels: done before the thread reports ready.
scorer.score({ userId: 'warm-up', history: [], candidates: ['warm-up'] });

const reply = (message: FromRankerThread): void => port.postMessage(message);

// Started once the model is warm: pauses of loading and warming delay no request.
// Every entry of a delivery (prom-client's own GC metric reads only the first of each), one message per delivery.
const gcObserver = new PerformanceObserver((list) => {
  const pauses = list.getEntries().flatMap((entry) => {
    const kind = gcKind(entry);
    return kind ? [{ kind, seconds: entry.duration / 1000 }] : [];
  });
  if (pauses.length > 0) reply({ type: 'gc', pauses });
});
gcObserver.observe({ entryTypes: ['gc'] });
port.on('message', (message: ToRankerThread) => {
  if (message.type === 'close') {
    gcObserver.disconnect();
    model.dispose();
    port.close();
    return;
  }
  try {
    reply({ type: 'scores', id: message.id, scores: model.predict(message.batch) });
  } catch (error) {
    reply({ type: 'error', id: message.id, error: errorMessage(error) });
  }
});
reply({ type: 'ready' });
