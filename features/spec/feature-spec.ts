import { z } from 'zod';
import { loadJsonFile, parseWith } from '../../infra/config.js';
import { INTERACTION_TYPES } from '../events/event-schema.js';

/**
 * The declarative feature specification: one JSON file per model config,
 * read by training and serving alike so both turn an event into the same
 * model inputs (no train/serve skew).
 *
 * A field's `source` names where its raw value comes from:
 * `user_id`, `item_id`, `user.<attr>`, `item.<attr>` or `context.<key>`.
 */
const Source = z.string().regex(/^(user_id|item_id|(user|item|context)\.[A-Za-z0-9_]+)$/, 'user_id, item_id, user.<attr>, item.<attr> or context.<key>');
const FieldName = z.string().regex(/^[a-z][a-z0-9_]*$/, 'snake_case');

const Vocab = z
  .discriminatedUnion('type', [
    /** Values seen in training (at least minCount times) get their own id. */
    z.object({ type: z.literal('fixed'), minCount: z.number().int().min(1).default(1) }),
    /** Any value maps to a stable 31-bit hash; the embedding layout buckets it. */
    z.object({ type: z.literal('hash') }),
  ])
  .default({ type: 'fixed', minCount: 1 });

const Categorical = z.object({
  kind: z.literal('categorical'),
  name: FieldName,
  source: Source,
  /** `first_char` keeps the first character (e.g. a zip code's region). */
  transform: z.enum(['none', 'first_char']).default('none'),
  vocab: Vocab,
});

const Numeric = z.object({
  kind: z.literal('numeric'),
  name: FieldName,
  source: Source,
  /** Bucket i holds boundaries[i-1] <= x < boundaries[i]; the bucket is a categorical id. */
  boundaries: z.array(z.number()).min(1).refine((b) => b.every((x, i) => i === 0 || x > b[i - 1]!), 'strictly increasing'),
});

const Multi = z.object({
  kind: z.literal('multi'),
  name: FieldName,
  source: Source,
  maxLength: z.number().int().min(1).max(1024),
  vocab: Vocab,
});

/**
 * A feature cross (Wide & Deep's crossed columns): one categorical value per
 * example made of the sources' values together, e.g. user × item category, so
 * a model learns a row per combination instead of having to multiply two
 * embeddings. Missing when any source is missing.
 */
const Cross = z.object({
  kind: z.literal('cross'),
  name: FieldName,
  sources: z.array(Source).min(2).max(4),
  vocab: Vocab,
});

const Sequence = z.object({
  kind: z.literal('sequence'),
  name: FieldName,
  /** The item-side categorical field evaluated on each behaviour event; shares its vocabulary and embedding. */
  of: FieldName,
  maxLength: z.number().int().min(1).max(1024),
});

const Behaviour = z.object({
  types: z.array(z.enum(INTERACTION_TYPES)).min(1),
  positiveOnly: z.boolean().default(true),
  maxLength: z.number().int().min(1).max(1024),
});

const DEFAULT_BEHAVIOUR: z.infer<typeof Behaviour> = { types: ['click'], positiveOnly: true, maxLength: 50 };

export const FieldSchema = z.discriminatedUnion('kind', [Categorical, Numeric, Multi, Cross, Sequence]);

export const FeatureSpecSchema = z
  .object({
    name: z.string().min(1),
    version: z.literal(1),
    /** label = the event's `label` (a table source's mapped label column), or `value >= threshold` (e.g. rating >= 4). @default {from: 'label'} */
    label: z.discriminatedUnion('from', [
      z.object({ from: z.literal('label') }),
      z.object({ from: z.literal('value'), threshold: z.number() }),
    ]).default({ from: 'label' }),
    /** Which interactions become training examples. @default ['impression'] */
    exampleTypes: z.array(z.enum(INTERACTION_TYPES)).min(1).default(['impression']),
    /** Which earlier interactions form the behaviour sequence; needed only with a sequence field. */
    behaviour: Behaviour.optional(),
    fields: z.array(FieldSchema).min(1),
  })
  .superRefine((spec, ctx) => {
    const sequences = spec.fields.filter((f) => f.kind === 'sequence').map((f) => f.name);
    if (sequences.length > 0 && !spec.behaviour) {
      ctx.addIssue({ code: 'custom', message: `sequence field ${sequences.join(', ')} needs a "behaviour" section: which earlier interactions form it, e.g. {"types": ["click"], "positiveOnly": true, "maxLength": 50}` });
    }
    const names = new Set<string>();
    for (const field of spec.fields) {
      if (names.has(field.name)) ctx.addIssue({ code: 'custom', message: `duplicate field ${field.name}` });
      names.add(field.name);
    }
    for (const field of spec.fields) {
      if (field.kind !== 'sequence') continue;
      const target = spec.fields.find((f) => f.name === field.of);
      if (!target || target.kind !== 'categorical' || !(target.source === 'item_id' || target.source.startsWith('item.'))) {
        ctx.addIssue({ code: 'custom', message: `sequence ${field.name}: 'of' must name an item-side categorical field, got ${field.of}` });
      }
      if (spec.behaviour && field.maxLength > spec.behaviour.maxLength) {
        ctx.addIssue({ code: 'custom', message: `sequence ${field.name}: maxLength ${field.maxLength} exceeds behaviour.maxLength ${spec.behaviour.maxLength}` });
      }
    }
  })
  // Without a sequence field the history is never read; serving and ingestion still keep one of this length.
  .transform((spec) => ({ ...spec, behaviour: spec.behaviour ?? DEFAULT_BEHAVIOUR }));

export type FeatureSpec = z.infer<typeof FeatureSpecSchema>;
export type FieldSpec = z.infer<typeof FieldSchema>;
export type CategoricalField = z.infer<typeof Categorical>;
export type NumericField = z.infer<typeof Numeric>;
export type MultiField = z.infer<typeof Multi>;
export type CrossField = z.infer<typeof Cross>;
export type SequenceField = z.infer<typeof Sequence>;

export function parseFeatureSpec(value: unknown, where = 'feature spec'): FeatureSpec {
  return parseWith(FeatureSpecSchema, value, `invalid ${where}`);
}

export function loadFeatureSpec(file: string): FeatureSpec {
  return loadJsonFile(FeatureSpecSchema, file, 'feature spec');
}
