import { setFlagsFromString } from 'node:v8';

/**
 * After each full GC V8 sets the next old-generation limit at live size × a
 * factor it derives from GC and allocation speed, and starts marking once the
 * room left is below the young generation's size. For a server whose heap is
 * mostly long-lived model state that factor stays small, so a slow trickle of
 * promoted request objects brings a full GC every few seconds, and each one
 * shows in the latency tail. A fixed factor (1 + percent / 100) makes them
 * rare for some memory. V8 reads the flag whenever it sizes the heap, so
 * setting it at start-up works. 0 keeps V8's own heuristic.
 */
export function setHeapGrowingPercent(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${Math.round(percent)}`);
}
