import { fileURLToPath } from 'node:url';
import type { Example } from '../samples/example.js';
import { PointInTimeSampleBuilder } from '../samples/point-in-time-builder.js';
import { loadFeatureSpec, type FeatureSpec } from '../spec/feature-spec.js';
import { FeatureEncoder } from '../spec/feature-encoder.js';
import { movieLensEvents } from './movielens-events.js';
import { defaultMovieLensDir, loadMovieLens, type MovieLens } from './movielens.js';

export const ML100K_SPEC_FILE = fileURLToPath(new URL('../../configs/features/ml100k.json', import.meta.url));

export interface CtrSplits {
  spec: FeatureSpec;
  /** Fitted on `train` only. */
  encoder: FeatureEncoder;
  train: Example[];
  validation: Example[];
  test: Example[];
  /** How the parts were made, in words (sources whose split the user chooses). */
  description?: string;
}

/**
 * The project's CTR protocol on MovieLens-100K, used by every experiment:
 * label = rating ≥ 4; per user, ratings in (ts, item_id) order, the first
 * floor(0.8·n) are train and the rest test; validation = the last ceil(10%)
 * of each user's train ratings (taken out of train); history = the user's
 * earlier ratings in that order with label 1, most recent 50, whichever part
 * they fall in; item category = first genre.
 */
export function movieLensCtrSplits(ml: MovieLens, spec: FeatureSpec = loadFeatureSpec(ML100K_SPEC_FILE)): CtrSplits {
  const builder = new PointInTimeSampleBuilder(spec, { order: 'time-then-item' });
  const byUser = new Map<string, Example[]>();
  const collect = (examples: Example[]) => {
    for (const e of examples) {
      let list = byUser.get(e.event.user_id);
      if (!list) byUser.set(e.event.user_id, (list = []));
      list.push(e);
    }
  };
  for (const event of movieLensEvents(ml)) collect(builder.push(event));
  collect(builder.flush());

  const train: Example[] = [];
  const validation: Example[] = [];
  const test: Example[] = [];
  const users = [...byUser.keys()].sort((a, b) => Number(a) - Number(b));
  for (const user of users) {
    const examples = byUser.get(user)!;
    const nTrain = Math.floor(0.8 * examples.length);
    const nValidation = Math.ceil(0.1 * nTrain);
    train.push(...examples.slice(0, nTrain - nValidation));
    validation.push(...examples.slice(nTrain - nValidation, nTrain));
    test.push(...examples.slice(nTrain));
  }
  return { spec, encoder: FeatureEncoder.fit(spec, train), train, validation, test };
}

/** The protocol in one call: load (or download) MovieLens-100K and split it. */
export async function loadMovieLensCtr(dir: string = defaultMovieLensDir()): Promise<CtrSplits> {
  return movieLensCtrSplits(await loadMovieLens(dir));
}
