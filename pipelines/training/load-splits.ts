import { jsonlCtrSplits, syntheticCtrSplits } from '../../features/datasets/ctr-sources.js';
import { defaultMovieLensDir, loadMovieLens } from '../../features/datasets/movielens.js';
import { movieLensCtrSplits, type CtrSplits } from '../../features/datasets/movielens-ctr.js';
import type { FeatureSpec } from '../../features/spec/feature-spec.js';
import type { SourceConfig } from './train-config.js';

/** Train/validation/test examples for a source, through the point-in-time builder. */
export async function loadSplits(source: SourceConfig, spec: FeatureSpec): Promise<CtrSplits> {
  switch (source.kind) {
    case 'movielens': return movieLensCtrSplits(await loadMovieLens(source.dir ?? defaultMovieLensDir()), spec);
    case 'jsonl': return jsonlCtrSplits(spec, source.file);
    case 'synthetic': {
      const { kind: _kind, ...options } = source;
      return syntheticCtrSplits(spec, options);
    }
  }
}

/** The latest event time in the training and validation parts: replays must start after it. */
export function trainedUntil(splits: CtrSplits): number {
  let max = 0;
  for (const e of [...splits.train, ...splits.validation]) if (e.event.ts > max) max = e.event.ts;
  return max;
}
