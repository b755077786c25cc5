import type { EncodedBatch, FeatureEncoder } from './feature-encoder.js';
import { FIRST_ID, UNKNOWN_ID } from './vocabulary.js';

/** How well one field is filled on a set of encoded examples. */
export interface FieldCoverage {
  field: string;
  /** Where the field reads its value (a sequence: the field it is of, over the history). */
  source: string;
  /** Share of examples with no known value (missing, unseen, or an empty list). */
  missingShare: number;
  /** Known values of a fixed vocabulary; undefined for hashed or numeric fields. */
  vocabulary: number | undefined;
}

export function fieldCoverage(encoder: FeatureEncoder, batch: EncodedBatch): FieldCoverage[] {
  return encoder.spec.fields.map((field) => {
    const source = field.kind === 'cross' ? field.sources.join(' × ') : field.kind === 'sequence' ? `history of ${field.of}` : field.source;
    let missing = 0;
    const single = batch.single[field.name];
    if (single) for (const id of single) { if (id === UNKNOWN_ID) missing++; }
    else { const list = batch.lists[field.name]; if (list) for (const n of list.lengths) if (n === 0) missing++; }
    const size = field.kind === 'numeric' ? undefined : encoder.cardinality(field.name);
    return { field: field.name, source, missingShare: batch.size === 0 ? 0 : missing / batch.size, vocabulary: size === undefined ? undefined : Math.max(0, size - FIRST_ID) };
  });
}

/**
 * Fields that cannot have learnt anything useful: an empty vocabulary (the
 * source names nothing the data has: often a typo), or missing on more than
 * `maxMissingShare` of the examples.
 */
export function coverageProblems(coverage: readonly FieldCoverage[], maxMissingShare: number): string[] {
  const out: string[] = [];
  for (const c of coverage) {
    if (c.vocabulary === 0) out.push(`field ${c.field} has an empty vocabulary: no training example has a value for ${c.source} (a typo in the source?)`);
    else if (c.missingShare > maxMissingShare) out.push(`field ${c.field} (${c.source}) is missing or unknown in ${(c.missingShare * 100).toFixed(1)}% of training examples (more than ${(maxMissingShare * 100).toFixed(0)}%)`);
  }
  return out;
}
