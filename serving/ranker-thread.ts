import type { Worker } from 'node:worker_threads';
import type { GcKind } from '../infra/gc-kind.js';
import { startModuleWorker } from '../infra/module-worker.js';
import type { EncodedBatch } from '../features/spec/feature-encoder.js';
import type { Precision } from '../models/ctr/ctr-scorer.js';

export interface RankerThreadSetup {
  /** The model's artifact folder (a registry version's). */
  dir: string;
  precision: Precision;
}

export type ToRankerThread = { type: 'predict'; id: number; batch: EncodedBatch } | { type: 'close' };
/** One pause of the thread's own heap (a worker has a heap of its own, unseen by the event loop's GC metrics). */
export interface GcPause {
  kind: GcKind;
  seconds: number;
}

export type FromRankerThread =
  | { type: 'ready' }
  | { type: 'gc'; pauses: GcPause[] }
  | { type: 'failed'; error: string }
  | { type: 'scores'; id: number; scores: Float32Array }
  | { type: 'error'; id: number; error: string };

const CLOSE_MS = 5_000;
/**
 * A prediction takes milliseconds (~30 ms for 2,000 candidates); one that
 * has not answered in this long means a thread that is alive but stuck, which
 * would hold every later request behind it: it is then stopped, and the
 * handle scores in-process.
 */
const DEADLINE_MS = 10_000;
const START_TIMEOUT_MS = 120_000;

interface Pending {
  resolve: (scores: Float32Array) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export interface RankerThreadOptions {
  /** Called if the thread dies (or is stopped for missing a deadline) while serving. */
  onFailure?: (error: Error) => void;
  /** Called for each garbage collection that paused the thread: a prediction in it waits that long. */
  onGc?: (pause: GcPause) => void;
  /** @default 10000 */
  deadlineMs?: number;
  /** A thread not ready (model loaded and warmed) within this is stopped and the start rejects. @default 120000 */
  startTimeoutMs?: number;
}

/**
 * The served CTR model loaded a second time in a worker thread, which runs
 * its predictions. TF.js runs an op synchronously on the calling thread, so
 * on the event loop every prediction (most of a score request's CPU) stops
 * HTTP parsing, online-store replies and encoding; here they overlap with
 * it on the machine's other core. The same artifact and precision give the
 * same tables and weights, so the scores are the in-process model's.
 *
 * Batches are copied, not transferred: if the thread dies the caller still
 * holds the batch and can score it in-process (`failure` is then set).
 */
export class RankerThread {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failed: Error | undefined;
  private closing = false;

  private constructor(
    private readonly worker: Worker,
    private readonly onFailure: (error: Error) => void,
    private readonly onGc: (pause: GcPause) => void,
    private readonly deadlineMs: number,
  ) {
    worker.on('message', (message: FromRankerThread) => this.receive(message));
    worker.on('error', (error) => this.fail(error));
    worker.on('messageerror', (error) => this.stop(new Error(`a reply of the ranker thread could not be read: ${error.message}`)));
    worker.on('exit', (code) => this.fail(new Error(`the ranker thread exited (code ${code})`)));
    // An idle thread never keeps the process alive; one holding predictions does.
    worker.unref();
  }

  /** Starts the thread and resolves once it has loaded and warmed the model; rejects with the reason it could not. */
  static async start(setup: RankerThreadSetup, { onFailure = () => {}, onGc = () => {}, deadlineMs = DEADLINE_MS, startTimeoutMs = START_TIMEOUT_MS }: RankerThreadOptions = {}): Promise<RankerThread> {
    const worker = startModuleWorker(import.meta.url, 'ranker-thread-entry', `
      parentPort.postMessage({ type: 'failed', error: String((error && error.message) || error) });
      parentPort.close();`, { workerData: setup });
    return new Promise((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        worker.off('error', early).off('exit', exited).off('message', ready);
      };
      const early = (error: Error): void => {
        settle();
        reject(error);
      };
      const ready = (message: FromRankerThread): void => {
        if (message.type === 'ready') {
          settle();
          resolve(new RankerThread(worker, onFailure, onGc, deadlineMs));
        } else if (message.type === 'failed') {
          settle();
          void worker.terminate();
          reject(new Error(`the ranker thread could not load ${setup.dir}: ${message.error}`));
        }
      };
      const exited = (code: number): void => early(new Error(`the ranker thread exited (code ${code}) before it was ready`));
      // A thread stuck loading would otherwise hold the process and its memory with nobody to close it.
      const timer = setTimeout(() => {
        void worker.terminate();
        early(new Error(`the ranker thread was not ready within ${startTimeoutMs} ms (stopped)`));
      }, startTimeoutMs);
      worker.on('message', ready).once('error', early).once('exit', exited);
    });
  }

  /** Set once the thread has died or been closed; predictions then reject and the caller scores in-process. */
  get failure(): Error | undefined {
    return this.failed;
  }

  predict(batch: EncodedBatch): Promise<Float32Array> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.stop(new Error(`the ranker thread did not answer a prediction within ${this.deadlineMs} ms: stopped`)), this.deadlineMs);
      timer.unref();
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject, timer });
      try {
        // Prediction reads the encoded fields only; the ids' strings would cost a copy each way and garbage in both heaps.
        this.worker.postMessage({ type: 'predict', id, batch: { ...batch, userIds: [], itemIds: [] } } satisfies ToRankerThread);
      } catch (error) {
        this.settle(id);
        reject(error as Error);
      }
    });
  }

  /** Stops the thread after the predictions already sent; in-flight ones still answer. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.failed) return;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ type: 'close' } satisfies ToRankerThread);
    const timer = setTimeout(() => void this.worker.terminate(), CLOSE_MS);
    await exited;
    clearTimeout(timer);
  }

  /** Stops the thread at once, as a crash would: predictions in flight reject with `failure` set. */
  async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  private settle(id: number): Pending | undefined {
    const pending = this.pending.get(id);
    if (!pending) return undefined;
    clearTimeout(pending.timer);
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
    return pending;
  }

  /** Marks the thread failed first, so predictions in flight reject with the reason, then stops it. */
  private stop(error: Error): void {
    this.fail(error);
    void this.worker.terminate();
  }

  private receive(message: FromRankerThread): void {
    if (message.type === 'gc') {
      for (const pause of message.pauses) this.onGc(pause);
      return;
    }
    if (message.type !== 'scores' && message.type !== 'error') return;
    const pending = this.settle(message.id);
    if (!pending) return;
    if (message.type === 'scores') pending.resolve(message.scores);
    else pending.reject(new Error(message.error));
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = error;
    for (const id of [...this.pending.keys()]) this.settle(id)!.reject(error);
    if (!this.closing) this.onFailure(error);
  }
}
