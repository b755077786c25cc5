// Helper thread of ParallelApply: waits for a job, updates rows [first, last)
// of the shared unique/grad arrays, reports done; until told to stop.
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../../../infra/errors.js';
import { CONTROL } from './apply-worker-protocol.js';
import type { WorkerSetup } from './apply-worker-protocol.js';
import { createOptimizer } from './create-optimizer.js';

const { config, weights, slots, dim, control, port } = workerData as WorkerSetup;
const optimizer = createOptimizer(config);
let unique: Int32Array = new Int32Array(0);
let grad: Float32Array = new Float32Array(0);

for (let seen = 0; ; ) {
  Atomics.wait(control, CONTROL.job, seen);
  seen = Atomics.load(control, CONTROL.job);
  if (seen < 0) break;
  for (let message = receiveMessageOnPort(port); message; message = receiveMessageOnPort(port)) {
    ({ unique, grad } = message.message as { unique: Int32Array; grad: Float32Array });
  }
  const first = control[CONTROL.first]!;
  const last = control[CONTROL.last]!;
  try {
    optimizer.apply({ weights, slots, step: control[CONTROL.step]!, unique: unique.subarray(first, last), grad: grad.subarray(first * dim, last * dim), dim });
    control[CONTROL.failed] = 0;
  } catch (error) {
    control[CONTROL.failed] = 1;
    port.postMessage({ error: errorMessage(error) });
  }
  Atomics.store(control, CONTROL.done, seen);
  Atomics.notify(control, CONTROL.done);
}
