import type { Example } from '../samples/example.js';
import type { CategoricalField, CrossField, FeatureSpec, FieldSpec, MultiField, SequenceField } from './feature-spec.js';
import { crossToken, itemSourceValue, listTokens, scalarToken, sourceValue } from './field-values.js';
import {
  BucketVocabulary, FixedVocabulary, HashVocabulary, PAD_ID, VocabularyCounter, bucketize,
  type Vocabulary, type VocabularyJson,
} from './vocabulary.js';
import { hashString } from '../hashing.js';
import { ValidationError } from '../../infra/errors.js';

/** A list-valued input: ids row-major (size × maxLength, PAD_ID after `lengths[i]`). */
export interface ListInput {
  ids: Int32Array;
  lengths: Int32Array;
  maxLength: number;
}

/** Model inputs for a batch of examples; field names are the spec's. */
export interface EncodedBatch {
  size: number;
  labels: Float32Array;
  userIds: string[];
  itemIds: string[];
  /** Categorical and numeric fields: one id per example. */
  single: Record<string, Int32Array>;
  /** Multi-valued and sequence fields. */
  lists: Record<string, ListInput>;
}

export interface FeatureEncoderJson {
  spec: FeatureSpec;
  vocabularies: Record<string, VocabularyJson>;
}

/**
 * Example → model inputs, the same code in training and serving. Sequence
 * fields use the vocabulary of the item-side field they are `of`, so a history
 * item and a candidate item get the same id (and embedding).
 */
export class FeatureEncoder {
  constructor(readonly spec: FeatureSpec, private readonly vocabularies: Record<string, Vocabulary>) {
    for (const field of spec.fields) {
      if (field.kind !== 'sequence' && !vocabularies[field.name]) throw new ValidationError(`no vocabulary for field ${field.name}`);
    }
  }

  /** Builds the fixed vocabularies from (training) examples. */
  static fit(spec: FeatureSpec, examples: Iterable<Example>): FeatureEncoder {
    const counters = new Map<string, VocabularyCounter>();
    const fixed = spec.fields.filter((f): f is CategoricalField | MultiField | CrossField => (f.kind === 'categorical' || f.kind === 'multi' || f.kind === 'cross') && f.vocab.type === 'fixed');
    for (const f of fixed) counters.set(f.name, new VocabularyCounter());
    const sequencesOf = new Map<string, SequenceField[]>();
    for (const f of spec.fields) if (f.kind === 'sequence') sequencesOf.set(f.of, [...(sequencesOf.get(f.of) ?? []), f]);
    for (const example of examples) {
      for (const f of fixed) {
        const counter = counters.get(f.name)!;
        if (f.kind === 'categorical') {
          counter.add(scalarToken(sourceValue(f.source, example), f.transform));
          // History items count too: a history-only item still deserves a row.
          if (sequencesOf.has(f.name)) {
            for (const h of example.history) counter.add(scalarToken(itemSourceValue(f.source, h.item_id, example.itemAttributes), f.transform));
          }
        } else if (f.kind === 'cross') {
          counter.add(crossToken(f.sources, example));
        } else {
          for (const token of listTokens(sourceValue(f.source, example))) counter.add(token);
        }
      }
    }
    const vocabularies: Record<string, Vocabulary> = {};
    for (const f of spec.fields) {
      if (f.kind === 'numeric') vocabularies[f.name] = new BucketVocabulary(f.boundaries.length + 1);
      else if (f.kind === 'categorical' || f.kind === 'multi' || f.kind === 'cross') {
        vocabularies[f.name] = f.vocab.type === 'hash' ? new HashVocabulary(hashString) : counters.get(f.name)!.build(f.vocab.minCount);
      }
    }
    return new FeatureEncoder(spec, vocabularies);
  }

  static fromJSON(json: FeatureEncoderJson): FeatureEncoder {
    const vocabularies: Record<string, Vocabulary> = {};
    for (const [name, v] of Object.entries(json.vocabularies)) {
      vocabularies[name] = v.type === 'fixed' ? new FixedVocabulary(v.tokens) : v.type === 'buckets' ? new BucketVocabulary(v.count) : new HashVocabulary(hashString);
    }
    return new FeatureEncoder(json.spec, vocabularies);
  }

  toJSON(): FeatureEncoderJson {
    return { spec: this.spec, vocabularies: Object.fromEntries(Object.entries(this.vocabularies).map(([k, v]) => [k, v.toJSON()])) };
  }

  /** Ids a field can take ([0, n)); undefined for hashed fields. A sequence reports its target's. */
  cardinality(fieldName: string): number | undefined {
    return this.vocabularyOf(this.field(fieldName)).size;
  }

  /** The id of one raw value of a field (embedding lookup by feature value). */
  idOf(fieldName: string, value: string): number {
    const field = this.field(fieldName);
    if (field.kind === 'numeric') return this.vocabularyOf(field).id(String(bucketize(Number(value), field.boundaries)));
    return this.vocabularyOf(field).id(value);
  }

  field(name: string): FieldSpec {
    const field = this.spec.fields.find((f) => f.name === name);
    if (!field) throw new ValidationError(`unknown field ${JSON.stringify(name)}; fields: ${this.spec.fields.map((f) => f.name).join(', ')}`);
    return field;
  }

  encode(examples: readonly Example[]): EncodedBatch {
    const size = examples.length;
    const batch: EncodedBatch = {
      size,
      labels: new Float32Array(size),
      userIds: examples.map((e) => e.event.user_id),
      itemIds: examples.map((e) => e.event.item_id),
      single: {},
      lists: {},
    };
    examples.forEach((e, i) => { batch.labels[i] = e.label; });
    for (const field of this.spec.fields) {
      const vocab = this.vocabularyOf(field);
      switch (field.kind) {
        case 'categorical': {
          const ids = new Int32Array(size);
          examples.forEach((e, i) => { ids[i] = vocab.id(scalarToken(sourceValue(field.source, e), field.transform)); });
          batch.single[field.name] = ids;
          break;
        }
        case 'cross': {
          const ids = new Int32Array(size);
          examples.forEach((e, i) => { ids[i] = vocab.id(crossToken(field.sources, e)); });
          batch.single[field.name] = ids;
          break;
        }
        case 'numeric': {
          const ids = new Int32Array(size);
          examples.forEach((e, i) => {
            const raw = sourceValue(field.source, e);
            const x = typeof raw === 'number' ? raw : typeof raw === 'string' && raw !== '' ? Number(raw) : Number.NaN;
            ids[i] = vocab.id(Number.isFinite(x) ? String(bucketize(x, field.boundaries)) : undefined);
          });
          batch.single[field.name] = ids;
          break;
        }
        case 'multi':
          batch.lists[field.name] = this.encodeLists(examples, field.maxLength, (e) => listTokens(sourceValue(field.source, e)).map((t) => vocab.id(t)));
          break;
        case 'sequence': {
          const target = this.field(field.of);
          if (target.kind !== 'categorical') throw new ValidationError(`sequence ${field.name} must be of a categorical field`);
          // Consecutive examples of one request share their history (and item attributes): encode it once.
          let previous: Example | undefined;
          let previousIds: number[] = [];
          batch.lists[field.name] = this.encodeLists(examples, field.maxLength, (e) => {
            if (previous?.history !== e.history || previous.itemAttributes !== e.itemAttributes) {
              previousIds = e.history.map((h) => vocab.id(scalarToken(itemSourceValue(target.source, h.item_id, e.itemAttributes), target.transform)));
            }
            previous = e;
            return previousIds;
          });
          break;
        }
      }
    }
    return batch;
  }

  private vocabularyOf(field: FieldSpec): Vocabulary {
    return this.vocabularies[field.kind === 'sequence' ? field.of : field.name]!;
  }

  private encodeLists(examples: readonly Example[], maxLength: number, idsOf: (e: Example) => number[]): ListInput {
    const ids = new Int32Array(examples.length * maxLength).fill(PAD_ID);
    const lengths = new Int32Array(examples.length);
    examples.forEach((e, i) => {
      const values = idsOf(e);
      const n = Math.min(values.length, maxLength);
      for (let j = 0; j < n; j++) ids[i * maxLength + j] = values[j]!;
      lengths[i] = n;
    });
    return { ids, lengths, maxLength };
  }
}
