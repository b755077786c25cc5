import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Event } from '../events/event-schema.js';
import { parseEvent } from '../events/parse-event.js';
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
  const events: Event[] = [];
  const bad: string[] = [];
  let invalid = 0;
  let line = 0;
  for await (const text of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    line++;
    if (text.trim() === '') continue;
    const parsed = parseEvent(text);
    if (parsed.ok) events.push(parsed.event);
    else if (++invalid <= 10) bad.push(`line ${line}: ${parsed.reason}`);
  }
  if (invalid > 0) throw new ValidationError(`${file} has ${invalid} invalid events (first ${bad.length} shown)`, bad);
  return splitByTime(spec, examplesFromEvents(spec, events));
}
