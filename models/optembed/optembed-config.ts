import { z } from 'zod';

/** OptEmbed's settings in a training config file (`optembed` section). */
export const OptEmbedConfigSchema = z.object({
  /** Weight of the threshold regulariser α·Σ exp(−t_f); larger prunes more rows. */
  alpha: z.number().min(0).default(1e-4),
  thresholdInit: z.number().default(0),
  /** Largest share of the unpruned embedding parameters the searched sizes may keep (a Unified Embedding table is resized to its chunks' keys). */
  maxEmbeddingFraction: z.number().gt(0).max(1).default(0.5),
  /** Validation examples each search candidate is scored on (the first n); default all. */
  searchExamples: z.number().int().positive().optional(),
  search: z.object({
    population: z.number().int().min(1).default(20),
    generations: z.number().int().min(1).default(10),
    topK: z.number().int().min(1).default(10),
    mutations: z.number().int().min(0).default(10),
    crossovers: z.number().int().min(0).default(10),
    mutationProbability: z.number().min(0).max(1).default(0.1),
  }).default({}),
});

export type OptEmbedConfig = z.infer<typeof OptEmbedConfigSchema>;
