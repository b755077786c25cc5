import type { FeatureEncoder } from '../features/spec/feature-encoder.js';
import type { EmbeddingLayout } from '../features/embedding/index.js';
import { parseWith } from '../infra/config.js';
import { CtrModelConfigSchema, type CtrModelConfigInput } from './ctr/ctr-config.js';
import type { CtrModel } from './ctr/ctr-model.js';
import { DinModel } from './din/din-model.js';
import { DnnModel } from './baselines/dnn-model.js';
import { LrModel } from './baselines/lr-model.js';

/** The registry of CTR model types: config `type` → class. */
export function createCtrModel(encoder: FeatureEncoder, config: CtrModelConfigInput, layout?: EmbeddingLayout): CtrModel {
  const parsed = parseWith(CtrModelConfigSchema, config, 'invalid model config');
  switch (parsed.type) {
    case 'lr': return new LrModel(encoder, parsed, layout);
    case 'dnn': return new DnnModel(encoder, parsed, layout);
    case 'din': return new DinModel(encoder, parsed, layout);
  }
}
