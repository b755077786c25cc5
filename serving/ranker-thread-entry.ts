// The ranker thread (ranker-thread.ts): loads the served CTR model from its
// artifact, warms it, then answers predictions in the order they come.
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../infra/errors.js';
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
port.on('message', (message: ToRankerThread) => {
  if (message.type === 'close') {
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
