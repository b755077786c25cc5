import { z } from 'zod';

const RowInitSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('uniform'), scale: z.number().min(0) }),
  z.object({ kind: z.literal('normal'), stddev: z.number().min(0) }),
  z.object({ kind: z.literal('zeros') }),
]);

/**
 * Dynamic rows for a unified layout (streaming training): values get a row on
 * first touch, after `admitAfter` sightings (count-min sketch), and a row
 * unseen for `expireAfter` table lookups is reset and may be reused. Fields
 * may then have hashed (unbounded) vocabularies.
 */
export const DynamicRowsSchema = z.object({
  admitAfter: z.number().int().min(1).max(255).default(1),
  /** Table lookups (a training step is one, scoring a batch another) a row may go unseen; absent: never expire. */
  expireAfter: z.number().int().positive().optional(),
  /** Admission-filter cells per hash. @default max(1024, rows) */
  filterWidth: z.number().int().positive().optional(),
});

/** How categorical fields become embedding tables (compared at equal budgets by the compression issue). */
export const LayoutConfigSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('per-field'), dim: z.number().int().min(1), dims: z.record(z.string(), z.number().int().min(1)).optional(),
    /** How fresh rows are filled. @default uniform in ±1/√dim */
    init: RowInitSchema.optional(),
  }),
  z.object({ kind: z.literal('hashed'), rows: z.number().int().min(1), dim: z.number().int().min(1) }),
  z.object({ kind: z.literal('unified'), rows: z.number().int().min(1), chunkDim: z.number().int().min(1), chunks: z.record(z.string(), z.number().int().min(1)).default({}), defaultChunks: z.number().int().min(1).default(1), dynamic: DynamicRowsSchema.optional() }),
]);

export const CtrModelConfigSchema = z.object({
  type: z.enum(['lr', 'dnn', 'din']),
  seed: z.number().int().default(1),
  embedding: LayoutConfigSchema.default({ kind: 'per-field', dim: 16 }),
  /** Dense parameters: Adam. */
  learningRate: z.number().positive().default(1e-3),
  /** Embedding rows: sparse (lazy) Adam. */
  embeddingLearningRate: z.number().positive().default(1e-3),
  /** λ of the mini-batch aware regulariser (DIN eq. 4); 0 turns it off. */
  mbaLambda: z.number().min(0).default(0),
  /** Hidden layers of the final MLP (DNN, DIN). */
  mlpUnits: z.array(z.number().int().min(1)).default([200, 80]),
  activation: z.enum(['dice', 'prelu', 'relu']).default('dice'),
  /** DIN's local activation unit. */
  attentionUnits: z.array(z.number().int().min(1)).default([80, 40]),
  attentionActivation: z.enum(['dice', 'prelu', 'relu', 'sigmoid']).default('prelu'),
  /** `none` is the paper's (weights used as they are); `softmax` and `length` normalise them. */
  attentionNorm: z.enum(['none', 'softmax', 'length']).default('none'),
  /**
   * `zeros`: the attention MLP's output layer starts at 0, so softmax attention
   * starts as the history's mean (DNN's pooling). Absent means glorot (no
   * default written in: configs that never set it parse as before).
   */
  attentionOutputInit: z.enum(['glorot', 'zeros']).optional(),
});

export type LayoutConfig = z.infer<typeof LayoutConfigSchema>;
export type DynamicRowsConfig = z.infer<typeof DynamicRowsSchema>;
export type CtrModelConfig = z.infer<typeof CtrModelConfigSchema>;
export type CtrModelConfigInput = z.input<typeof CtrModelConfigSchema>;
