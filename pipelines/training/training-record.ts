import { z } from 'zod';
import type { Artifact } from '../../models/artifact/read-artifact.js';
import { ArtifactError } from '../../models/artifact/read-artifact.js';
import { TRAINING_FILE } from '../../models/ctr-artifact/model-artifact.js';
import type { EpochResult } from '../../models/train/train-ctr.js';
import { SourceSchema, type SourceConfig } from './train-config.js';

/** training.json in an artifact: where the data came from and the learning curves. */
// JSON has no NaN (an AUC over one class): it is written as null and read back as NaN.
const metric = z.number().nullable().transform((v) => v ?? Number.NaN);
const MetricsSchema = z.object({ auc: metric, gauc: metric, logloss: metric, ece: metric, calibrationRatio: metric, examples: z.number() });

export const TrainingRecordSchema = z.object({
  source: SourceSchema,
  seed: z.number().int(),
  training: z.object({ epochs: z.number().int(), batchSize: z.number().int(), patience: z.number().int() }),
  bestEpoch: z.number().int(),
  examplesPerSecond: z.number(),
  epochs: z.array(z.object({ epoch: z.number().int(), trainLoss: z.number(), seconds: z.number(), validation: MetricsSchema })),
  /** How the data was split and the sizes (absent in records written before it was kept). */
  split: z.object({ description: z.string(), train: z.number().int(), validation: z.number().int(), test: z.number().int() }).optional(),
  /** Present when the published model was retrained on train ∪ validation for the early-stopped epoch count. */
  retrained: z.object({ epochs: z.number().int(), examples: z.number().int() }).optional(),
});

export type TrainingRecord = z.infer<typeof TrainingRecordSchema>;

export async function readTrainingRecord(artifact: Artifact): Promise<TrainingRecord> {
  let raw: unknown;
  try {
    raw = JSON.parse((await artifact.read(TRAINING_FILE)).toString('utf8'));
  } catch (error) {
    throw new ArtifactError(`${artifact.dir}: no readable ${TRAINING_FILE} (${(error as Error).message})`, { cause: error });
  }
  const parsed = TrainingRecordSchema.safeParse(raw);
  if (!parsed.success) throw new ArtifactError(`${artifact.dir}: invalid ${TRAINING_FILE}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

export function trainingRecord(source: SourceConfig, seed: number, training: TrainingRecord['training'], result: { epochs: EpochResult[]; bestEpoch: number; examplesPerSecond: number }): TrainingRecord {
  return { source, seed, training, bestEpoch: result.bestEpoch, examplesPerSecond: result.examplesPerSecond, epochs: result.epochs };
}
