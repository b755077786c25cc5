/**
 * Long CPU work (a replay's bootstrap) written as a generator that yields
 * between steps, run either straight through (runSteps) or in slices that
 * give the event loop back every `sliceMs` (runPaced). A job that never
 * gives it back cannot renew its BullMQ lock: the lock expires, the job is
 * taken for stalled and run a second time.
 */
export type Steps<T> = Generator<void, T, void>;

export function runSteps<T>(steps: Steps<T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

export interface PaceOptions {
  /** Longest stretch of work between two returns to the event loop. @default 50 */
  sliceMs?: number;
  /** Called at each return to the event loop with the steps done so far (progress). */
  onPause?: (steps: number) => Promise<void> | void;
  /** Checked at each return to the event loop: once aborted, the work stops there with the signal's reason. */
  signal?: AbortSignal;
}

export async function runPaced<T>(steps: Steps<T>, { sliceMs = 50, onPause, signal }: PaceOptions = {}): Promise<T> {
  let sliceStart = performance.now();
  let done = 0;
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    done++;
    if (performance.now() - sliceStart < sliceMs) continue;
    await new Promise((resolve) => setImmediate(resolve));
    signal?.throwIfAborted();
    await onPause?.(done);
    sliceStart = performance.now();
  }
}
