import { setFlagsFromString } from 'node:v8';
import { ValidationError } from './errors.js';

/** What every recsys process runs with unless RECSYS_HEAP_GROWING_PERCENT (or `serve --heap-growing-percent`) says otherwise. */
export const DEFAULT_HEAP_GROWING_PERCENT = 300;

/**
 * After each full GC V8 sets the next old-generation limit at live size × a
 * factor it derives from GC and allocation speed. Our processes keep a small
 * heap of long-lived state and churn through large typed arrays (a DIN batch's
 * ids, lookups and rows: ~2.9 MB per prediction of 1,024 examples), so the
 * factor stays small and full GCs come every few batches: in the din-train
 * bench one every ~4 training steps and every 8–12 predictions, each stalling
 * its batch by several ms while concurrent marking takes a core from
 * TensorFlow; in a server a slow trickle of promoted request objects brings
 * one every few seconds, each in the latency tail. A fixed factor
 * (1 + percent / 100) makes them rare for some memory. V8 reads the flag
 * whenever it sizes the heap, so setting it at start-up works. 0 is V8's own
 * heuristic.
 */
export function setHeapGrowingPercent(percent: number): void {
  setFlagsFromString(`--heap-growing-percent=${Math.round(percent)}`);
}

/**
 * V8's allocation-site pretenuring, which servers turn off (`enabled` false).
 * When most objects from an allocation site survive a scavenge, V8 starts
 * allocating that site's objects straight in the old generation; a burst of
 * load (many requests in flight at once, each living tens of ms) makes the
 * request-scoped sites look long-lived, and from then on their objects fill
 * the old generation even at low load, where they die within milliseconds.
 * `npm run bench -- serve` with `--trace-gc`: the old generation grew ~17 MB/s
 * in the open-loop windows (a full GC every ~20 s, each in the latency tail)
 * and ~4 MB/s without pretenuring.
 */
export function setAllocationSitePretenuring(enabled: boolean): void {
  setFlagsFromString(enabled ? '--allocation-site-pretenuring' : '--no-allocation-site-pretenuring');
}

/** RECSYS_HEAP_GROWING_PERCENT, an integer in [0, 1000]; DEFAULT_HEAP_GROWING_PERCENT when unset. */
export function heapGrowingPercentFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.RECSYS_HEAP_GROWING_PERCENT;
  if (raw === undefined || raw.trim() === '') return DEFAULT_HEAP_GROWING_PERCENT;
  const percent = Number(raw);
  if (!Number.isInteger(percent) || percent < 0 || percent > 1000) {
    throw new ValidationError('RECSYS_HEAP_GROWING_PERCENT must be an integer from 0 to 1000', [`got '${raw}'`]);
  }
  return percent;
}

/** The same setting as a node command-line flag, for a child process that runs our code outside the recsys CLI (benchmark workers). */
export function heapGrowingNodeFlag(env: NodeJS.ProcessEnv = process.env): string {
  return `--heap-growing-percent=${heapGrowingPercentFromEnv(env)}`;
}
