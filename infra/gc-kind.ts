import { constants, type PerformanceEntry } from 'node:perf_hooks';

/** V8's kinds of collection, named as prom-client's `nodejs_gc_duration_seconds` labels them. */
export type GcKind = 'minor' | 'major' | 'incremental' | 'weakcb';

const KINDS: Record<number, GcKind> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/** The kind of a `gc` performance entry; undefined for an entry of another type. */
export function gcKind(entry: PerformanceEntry): GcKind | undefined {
  return KINDS[(entry as { detail?: { kind?: number } }).detail?.kind ?? -1];
}
