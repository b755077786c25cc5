import { parseFeatureSpec, type FeatureSpec } from '../../features/spec/feature-spec.js';
import { FixedVocabulary } from '../../features/spec/vocabulary.js';

/**
 * The DIN benchmarks' inputs (din-train, and serve, which serves "the DIN of
 * din-train"): user, item and category ids, and the clicked items and their
 * categories as behaviour sequences of `history` at most.
 */
export function dinBenchSpec(name: string, history: number): FeatureSpec {
  return parseFeatureSpec({
    name, version: 1, label: { from: 'label' }, exampleTypes: ['impression'],
    behaviour: { types: ['click'], maxLength: history },
    fields: [
      { kind: 'categorical', name: 'user_id', source: 'user_id' },
      { kind: 'categorical', name: 'item_id', source: 'item_id' },
      { kind: 'categorical', name: 'category', source: 'item.category' },
      { kind: 'sequence', name: 'hist_items', of: 'item_id', maxLength: history },
      { kind: 'sequence', name: 'hist_categories', of: 'category', maxLength: history },
    ],
  });
}

/** A vocabulary of exactly `rows` table rows (ids 0 and 1 are reserved, so rows − 2 tokens `prefix`0, `prefix`1, …). */
export function vocabularyOfRows(rows: number, prefix: string): FixedVocabulary {
  return new FixedVocabulary(Array.from({ length: rows - 2 }, (_, i) => `${prefix}${i}`));
}
