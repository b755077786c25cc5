import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { NonRetriableError } from '../../../infra/errors.js';
import { startModuleWorker } from '../../../infra/module-worker.js';
import { CONTROL, CONTROL_INTS, FAILED_TO_START } from './apply-worker-protocol.js';
import type { WorkerSetup } from './apply-worker-protocol.js';
import type { OptimizerConfig, SparseOptimizer, SparseUpdate } from './sparse-optimizer.js';

/** Below this many floats an update is faster alone than handed out (a handoff costs tens of µs). */
const MIN_PARALLEL_FLOATS = 1 << 15;
const WAIT_MS = 60_000;

interface Helper {
  worker: Worker;
  port: MessagePort;
  control: Int32Array;
  job: number;
}

/**
 * Runs a sparse optimizer's update on `threads` threads: the rows are split
 * into contiguous ranges, the calling thread takes the first and worker
 * threads the rest. Rows are distinct, so ranges never write the same memory,
 * and each row's arithmetic is the same as on one thread: results are
 * bit-identical. Weights and slots must live on SharedArrayBuffers (`onSharedMemory`).
 * Why: the update is the largest single-threaded part of a training step,
 * while the machine's other core idles between TF ops.
 */
export class ParallelApply {
  private readonly helpers: Helper[];
  private unique = new Int32Array(new SharedArrayBuffer(4));
  private grad = new Float32Array(new SharedArrayBuffer(4));

  constructor(
    private readonly optimizer: SparseOptimizer,
    threads: number,
    weights: Float32Array,
    slots: readonly Float32Array[],
    private readonly dim: number,
  ) {
    this.helpers = Array.from({ length: threads - 1 }, () => startHelper({ config: optimizer.config as OptimizerConfig, weights, slots: [...slots], dim }));
  }

  apply(update: SparseUpdate): void {
    const count = update.unique.length;
    if (this.helpers.length === 0 || count * this.dim < MIN_PARALLEL_FLOATS) {
      this.optimizer.apply(update);
      return;
    }
    const parts = this.helpers.length + 1;
    const split = (part: number) => Math.floor((count * part) / parts);
    this.stage(update, split(1));
    this.helpers.forEach((helper, i) => {
      const { control } = helper;
      control[CONTROL.first] = split(i + 1);
      control[CONTROL.last] = split(i + 2);
      control[CONTROL.step] = update.step;
      helper.job++;
      Atomics.store(control, CONTROL.job, helper.job);
      Atomics.notify(control, CONTROL.job);
    });
    const first = split(1);
    this.optimizer.apply({ ...update, unique: subarray(update.unique, 0, first), grad: update.grad.subarray(0, first * this.dim) });
    for (const helper of this.helpers) this.await(helper);
  }

  /** Stops the worker threads; the object is unusable afterwards. */
  async close(): Promise<void> {
    for (const { control } of this.helpers) {
      Atomics.store(control, CONTROL.job, -1);
      Atomics.notify(control, CONTROL.job);
    }
    await Promise.all(this.helpers.map(({ worker }) => worker.terminate()));
  }

  /** Copies the rows the helpers will take (from `from` on) to shared memory. */
  private stage(update: SparseUpdate, from: number): void {
    const count = update.unique.length;
    if (this.unique.length < count) {
      const capacity = 2 ** Math.ceil(Math.log2(count));
      this.unique = new Int32Array(new SharedArrayBuffer(capacity * 4));
      this.grad = new Float32Array(new SharedArrayBuffer(capacity * this.dim * 4));
      for (const { port } of this.helpers) port.postMessage({ unique: this.unique, grad: this.grad });
    }
    for (let k = from; k < count; k++) this.unique[k] = update.unique[k]!;
    this.grad.set(update.grad.subarray(from * this.dim, count * this.dim), from * this.dim);
  }

  private await(helper: Helper): void {
    const { control, job } = helper;
    const started = Date.now();
    for (let done = Atomics.load(control, CONTROL.done); done !== job && !control[CONTROL.failed]; done = Atomics.load(control, CONTROL.done)) {
      if (Date.now() - started > WAIT_MS) throw new NonRetriableError(`optimizer worker thread did not finish an update within ${WAIT_MS} ms`);
      Atomics.wait(control, CONTROL.done, done, 1_000);
    }
    if (control[CONTROL.failed]) {
      const reply = receiveMessageOnPort(helper.port)?.message as { error?: string } | undefined;
      throw new NonRetriableError(`optimizer worker thread failed: ${reply?.error ?? 'unknown error'}`);
    }
  }
}

function subarray(values: ArrayLike<number>, from: number, to: number): ArrayLike<number> {
  return values instanceof Int32Array ? values.subarray(from, to) : Array.prototype.slice.call(values, from, to);
}

function startHelper(setup: Omit<WorkerSetup, 'control' | 'port'>): Helper {
  const control = new Int32Array(new SharedArrayBuffer(CONTROL_INTS * 4));
  const { port1, port2 } = new MessageChannel();
  const workerData: WorkerSetup = { ...setup, control, port: port2 };
  const worker = startModuleWorker(import.meta.url, 'apply-worker', `
    workerData.port.postMessage({ error: String((error && error.stack) || error) });
    Atomics.store(workerData.control, ${CONTROL.failed}, ${FAILED_TO_START});
    Atomics.notify(workerData.control, ${CONTROL.done});`, { workerData, transferList: [port2] });
  // A helper never keeps the process alive; it only ever waits for work.
  worker.unref();
  return { worker, port: port1, control, job: 0 };
}
