import type { Event } from '../events/event-schema.js';
import { readJsonlEvents } from '../events/jsonl-events.js';
import type { Example } from '../samples/example.js';
import { PointInTimeSampleBuilder } from '../samples/point-in-time-builder.js';
import { FeatureEncoder } from '../spec/feature-encoder.js';
import type { FeatureSpec } from '../spec/feature-spec.js';
import { ValidationError } from '../../infra/errors.js';
import type { CtrSplits } from './movielens-ctr.js';
import { syntheticEvents, type SyntheticOptions } from './synthetic.js';

/**
 * Examples from a time-ordered event stream, split by time: the first 80% of
 * examples train (its last 10% validation), the last 20% test. Time, not
 * random rows, so evaluation never peeks at the future.
 */
export function splitByTime(spec: FeatureSpec, examples: Example[]): CtrSplits {
  const nTrain = Math.floor(0.8 * examples.length);
  const nValidation = Math.ceil(0.1 * nTrain);
  const train = examples.slice(0, nTrain - nValidation);
  if (train.length === 0) throw new ValidationError(`too few examples to train on (${examples.length})`);
  return {
    spec,
    encoder: FeatureEncoder.fit(spec, train),
    train,
    validation: examples.slice(nTrain - nValidation, nTrain),
    test: examples.slice(nTrain),
  };
}

export function examplesFromEvents(spec: FeatureSpec, events: Iterable<Event>): Example[] {
  const builder = new PointInTimeSampleBuilder(spec);
  const out: Example[] = [];
  for (const event of events) for (const e of builder.push(event)) out.push(e);
  out.push(...builder.flush());
  return out;
}

export function syntheticCtrSplits(spec: FeatureSpec, options: SyntheticOptions = {}): CtrSplits {
  return splitByTime(spec, examplesFromEvents(spec, syntheticEvents(options)));
}

/** A JSONL file of events in the event schema, in time order; invalid lines are reported with their number. */
export async function jsonlCtrSplits(spec: FeatureSpec, file: string): Promise<CtrSplits> {
  return splitByTime(spec, examplesFromEvents(spec, await readJsonlEvents(file)));
}
