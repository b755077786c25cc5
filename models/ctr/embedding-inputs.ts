import type { CategoricalField, FieldIds } from '../../features/embedding/index.js';
import type { EncodedBatch, FeatureEncoder } from '../../features/spec/feature-encoder.js';
import { ValidationError } from '../../infra/errors.js';

/** One spec field as the model sees it: `width` positions per example. */
export interface InputPart {
  name: string;
  kind: 'single' | 'list';
  width: number;
}

/**
 * One embedded (layout) field and the spec fields that share it: a
 * categorical field followed by the sequences `of` it, so a candidate item and
 * the items in its history use the same rows.
 */
export interface EmbeddingPlan {
  field: string;
  parts: InputPart[];
}

export function embeddingPlans(encoder: FeatureEncoder, shareSequences = true): EmbeddingPlan[] {
  const fields = encoder.spec.fields;
  const plans: EmbeddingPlan[] = [];
  for (const f of fields) {
    if (f.kind === 'sequence') {
      // Unshared: a behaviour sequence gets rows of its own (LR: "item in history" ≠ "candidate item").
      if (!shareSequences) plans.push({ field: f.name, parts: [{ name: f.name, kind: 'list', width: f.maxLength }] });
      continue;
    }
    const parts: InputPart[] = [f.kind === 'multi' ? { name: f.name, kind: 'list', width: f.maxLength } : { name: f.name, kind: 'single', width: 1 }];
    if (shareSequences) {
      for (const s of fields) if (s.kind === 'sequence' && s.of === f.name) parts.push({ name: s.name, kind: 'list', width: s.maxLength });
    }
    plans.push({ field: f.name, parts });
  }
  return plans;
}

/**
 * The layout's fields with their vocabulary sizes. Hashed vocabularies are
 * refused unless `allowHashed` (a layout with dynamic rows, which never reads
 * the size: it is reported as 0).
 */
export function layoutFields(encoder: FeatureEncoder, plans: readonly EmbeddingPlan[], allowHashed = false): CategoricalField[] {
  return plans.map(({ field }) => {
    const size = encoder.cardinality(field);
    if (size === undefined && allowHashed) return { name: field, vocabularySize: 0 };
    if (size === undefined) throw new ValidationError(`field ${field} has a hashed vocabulary: use a hashed or unified layout with dynamic rows`);
    return { name: field, vocabularySize: size };
  });
}

/** Per layout field: the ids of all its parts, part after part, example-major within a part. */
export function layoutIds(plans: readonly EmbeddingPlan[], batch: EncodedBatch): Record<string, FieldIds> {
  const out: Record<string, Int32Array> = {};
  for (const plan of plans) {
    const arrays = plan.parts.map((p) => (p.kind === 'single' ? batch.single[p.name] : batch.lists[p.name]?.ids));
    const missing = plan.parts.filter((_, i) => !arrays[i]).map((p) => p.name);
    if (missing.length > 0) throw new ValidationError('batch lacks model inputs', missing);
    const ids = new Int32Array(arrays.reduce((n, a) => n + a!.length, 0));
    let at = 0;
    for (const a of arrays) {
      ids.set(a!, at);
      at += a!.length;
    }
    out[plan.field] = ids;
  }
  return out;
}

/** 1 where a list position holds a value, 0 for padding: [size × width], built outside the tape. */
export function listMask(lengths: Int32Array, width: number): Float32Array {
  const mask = new Float32Array(lengths.length * width);
  lengths.forEach((n, i) => mask.fill(1, i * width, i * width + Math.min(n, width)));
  return mask;
}
