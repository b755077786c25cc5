import { z } from 'zod';

/**
 * A model artifact is a folder `<registry>/<model>/<version>/` holding
 * `manifest.json` and the files it lists, each with its sha256. Later issues
 * add fields (delta parents, source offsets) under `extra`; the format version
 * changes only when a reader of the old one would misread the new one.
 */
export const ARTIFACT_FORMAT = 'recsys-model';
export const ARTIFACT_FORMAT_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';

export const ArtifactFileSchema = z.object({
  path: z.string().regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, 'a relative path without ..').refine((p) => !p.split('/').includes('..'), 'no ..'),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export const ManifestSchema = z.object({
  format: z.literal(ARTIFACT_FORMAT),
  formatVersion: z.number().int(),
  model: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/),
  version: z.number().int().positive(),
  /** `delta`: only what changed since `extra.parent` (embedding rows touched since then, all dense weights); see models/ctr/delta-artifact.ts. */
  kind: z.enum(['full', 'delta']),
  /** The model family that can load it, e.g. `din`, `dnn`, `lr`. */
  modelType: z.string().min(1),
  createdAt: z.string(),
  files: z.array(ArtifactFileSchema),
  metrics: z.record(z.string(), z.number().nullable()).default({}),
  /** Latest event time the model was trained on (epoch ms); replay windows must start after it. */
  trainedUntil: z.number().int().nullable().default(null),
  extra: z.record(z.string(), z.unknown()).default({}),
});

export type ArtifactFile = z.infer<typeof ArtifactFileSchema>;
export type Manifest = z.infer<typeof ManifestSchema>;
