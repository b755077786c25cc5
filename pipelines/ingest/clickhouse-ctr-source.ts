import { splitByTime } from '../../features/datasets/ctr-sources.js';
import type { CtrSplits } from '../../features/datasets/movielens-ctr.js';
import type { Example } from '../../features/samples/example.js';
import { PointInTimeSampleBuilder, type PointInTimeOptions } from '../../features/samples/point-in-time-builder.js';
import type { FeatureSpec } from '../../features/spec/feature-spec.js';
import type { SqlClient } from '../../infra/clickhouse/sql-client.js';
import { readEvents } from './offline-store.js';

export interface ClickHouseSourceOptions extends PointInTimeOptions {
  client: SqlClient;
  /** First event time that yields examples, epoch ms (inclusive). @default the earliest stored */
  from?: number;
  /** End of the range, epoch ms (exclusive). @default after the latest stored */
  to?: number;
  /**
   * Interactions in [historyFrom, from) fill users' histories but yield no
   * examples, so the first examples after `from` do not start with empty
   * histories. @default from
   */
  historyFrom?: number;
  /** Event time read per query. @default 1 day */
  windowMs?: number;
}

/**
 * Examples from the offline store: stored events (each once) streamed in
 * time order through the point-in-time builder, so an example's history and
 * attributes are those known strictly before it.
 */
export async function clickhouseExamples(spec: FeatureSpec, { client, from, to, historyFrom, windowMs, ...builderOptions }: ClickHouseSourceOptions): Promise<Example[]> {
  const builder = new PointInTimeSampleBuilder(spec, builderOptions);
  const examples: Example[] = [];
  const start = historyFrom ?? from;
  const keep = (batch: Example[]) => {
    for (const e of batch) if (from === undefined || e.event.ts >= from) examples.push(e);
  };
  for await (const event of readEvents(client, { ...(start !== undefined ? { from: Math.min(start, from ?? start) } : {}), ...(to !== undefined ? { to } : {}), ...(windowMs ? { windowMs } : {}) })) {
    keep(builder.push(event));
  }
  keep(builder.flush());
  return examples;
}

/** The same CtrSplits as the file and synthetic sources (features/datasets/ctr-sources.ts): split by time. */
export async function clickhouseCtrSplits(spec: FeatureSpec, options: ClickHouseSourceOptions): Promise<CtrSplits> {
  return splitByTime(spec, await clickhouseExamples(spec, options));
}
