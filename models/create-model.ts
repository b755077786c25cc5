import type { FeatureEncoder } from '../features/spec/feature-encoder.js';
import type { FeatureSpec } from '../features/spec/feature-spec.js';
import { ValidationError } from '../infra/errors.js';
import type { EmbeddingLayout } from '../features/embedding/index.js';
import { parseWith } from '../infra/config.js';
import { CtrModelConfigSchema, type CtrModelConfigInput } from './ctr/ctr-config.js';
import type { CtrModel } from './ctr/ctr-model.js';
import { DinModel } from './din/din-model.js';
import { DnnModel } from './baselines/dnn-model.js';
import { LrModel } from './baselines/lr-model.js';

/**
 * Whether a model type can use a feature spec, checked before any data is
 * read: DIN attends over a behaviour sequence, so a spec without one is
 * refused with what to add.
 */
export function checkModelSpec(type: string, spec: FeatureSpec): void {
  if (type === 'din' && !spec.fields.some((f) => f.kind === 'sequence')) {
    throw new ValidationError(`DIN attends over the user's behaviour sequence, and feature spec ${spec.name} has none: add a field {"kind": "sequence", "name": "hist_items", "of": <an item-side categorical field, e.g. the item id>, "maxLength": 50} and a "behaviour" section (a table source also needs a "sequence" column, or "time" and "user" columns to build it from earlier rows); or train lr or dnn`);
  }
}

/** The registry of CTR model types: config `type` → class. */
export function createCtrModel(encoder: FeatureEncoder, config: CtrModelConfigInput, layout?: EmbeddingLayout): CtrModel {
  const parsed = parseWith(CtrModelConfigSchema, config, 'invalid model config');
  switch (parsed.type) {
    case 'lr': return new LrModel(encoder, parsed, layout);
    case 'dnn': return new DnnModel(encoder, parsed, layout);
    case 'din': return new DinModel(encoder, parsed, layout);
  }
}
