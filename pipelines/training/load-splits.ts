import { jsonlCtrSplits, syntheticCtrSplits } from '../../features/datasets/ctr-sources.js';
import { tableCtrSplits } from '../../features/table/table-splits.js';
import { defaultMovieLensDir, loadMovieLens } from '../../features/datasets/movielens.js';
import { movieLensCtrSplits, type CtrSplits } from '../../features/datasets/movielens-ctr.js';
import type { FeatureSpec } from '../../features/spec/feature-spec.js';
import { loadServicesConfig } from '../../infra/config.js';
import { createClickHouse } from '../../infra/clickhouse/clickhouse-client.js';
import { clickhouseCtrSplits } from '../ingest/clickhouse-ctr-source.js';
import type { SourceConfig } from './train-config.js';

/** Train/validation/test examples for a source, through the point-in-time builder. */
export async function loadSplits(source: SourceConfig, spec: FeatureSpec): Promise<CtrSplits> {
  switch (source.kind) {
    case 'movielens': return movieLensCtrSplits(await loadMovieLens(source.dir ?? defaultMovieLensDir()), spec);
    case 'jsonl': return jsonlCtrSplits(spec, source.file);
    case 'table': return tableCtrSplits(spec, source);
    case 'synthetic': {
      const { kind: _kind, ...options } = source;
      return syntheticCtrSplits(spec, options);
    }
    case 'clickhouse': {
      // The offline store written by `recsys ingest` (CLICKHOUSE_* env vars).
      const client = createClickHouse(loadServicesConfig().clickhouse);
      try {
        const { kind: _kind, ...range } = source;
        return await clickhouseCtrSplits(spec, { client, ...range });
      } finally {
        await client.close();
      }
    }
  }
}

/** The latest event time in the training and validation parts: replays must start after it. */
export function trainedUntil(splits: CtrSplits): number {
  let max = 0;
  for (const e of [...splits.train, ...splits.validation]) if (e.event.ts > max) max = e.event.ts;
  return max;
}
