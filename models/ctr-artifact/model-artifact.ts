import { loadCheckpoint, saveCheckpoint } from '../../features/embedding/index.js';
import { FeatureEncoder, type FeatureEncoderJson } from '../../features/spec/feature-encoder.js';
import { readArtifact, ArtifactError, type Artifact } from '../artifact/read-artifact.js';
import { writeArtifact } from '../artifact/write-artifact.js';
import type { Manifest } from '../artifact/artifact-format.js';
import { createCtrModel } from '../create-model.js';
import { CtrModelConfigSchema } from '../ctr/ctr-config.js';
import type { CtrModel } from '../ctr/ctr-model.js';
import { applyDelta, resolveDeltaChain } from './delta-artifact.js';
import { EMBEDDINGS, MODEL_FILE, ROW_MASK, modelFiles, readDenseState } from './model-files.js';
import { RowMask } from '../ctr/row-mask.js';

export { TRAINING_FILE } from './model-files.js';

export interface SaveModelOptions {
  registry: string;
  name: string;
  metrics?: Record<string, number | null>;
  trainedUntil?: number | null;
  extra?: Record<string, unknown>;
  /** Written as training.json: how it was trained and its learning curves. */
  training?: unknown;
}

/** Publishes a trained CTR model as a new version in the registry (the artifact format of models/artifact). */
export async function saveCtrModel(model: CtrModel, { registry, name, metrics, trainedUntil, extra, training }: SaveModelOptions): Promise<{ dir: string; manifest: Manifest }> {
  return writeArtifact(registry, {
    model: name,
    modelType: model.config.type,
    files: modelFiles(model, training),
    stage: async (dir) => {
      await saveCheckpoint(`${dir}/${EMBEDDINGS}`, model.layout.tables);
      return [EMBEDDINGS];
    },
    metrics: metrics ?? {},
    trainedUntil: trainedUntil ?? null,
    extra: { parameters: model.parameterCount(), ...extra },
  });
}

export interface LoadModelOptions {
  /**
   * false: the embedding tables are frozen (serving, replay, evaluation, shadow
   * scoring), so nothing a caller scores can change the model; true: a trainer
   * resumes from the artifact. @default false
   */
  trainable?: boolean;
}

/**
 * Loads a CTR model from an artifact folder alone (checksums and format
 * version verified). A delta version is resolved down its chain to the full
 * snapshot it rests on, every link verified (resolveDeltaChain), and the
 * deltas applied in order.
 */
export async function loadCtrModel(dirOrArtifact: string | Artifact, { trainable = false }: LoadModelOptions = {}): Promise<{ model: CtrModel; manifest: Manifest }> {
  // An artifact already opened (and checksummed) is not read and hashed again.
  const artifact = typeof dirOrArtifact === 'string' ? await readArtifact(dirOrArtifact) : dirOrArtifact;
  const chain = artifact.manifest.kind === 'delta' ? await resolveDeltaChain(artifact) : [artifact];
  const base = chain[0]!;
  const dir = artifact.dir;
  let saved: { config: unknown; encoder: FeatureEncoderJson };
  try {
    saved = JSON.parse((await base.read(MODEL_FILE)).toString('utf8'));
  } catch (error) {
    throw new ArtifactError(`${dir}: ${MODEL_FILE} is not valid JSON`, { cause: error });
  }
  const config = CtrModelConfigSchema.parse(saved.config);
  const model = createCtrModel(FeatureEncoder.fromJSON(saved.encoder), config);
  let tables = await loadCheckpoint(base.path(EMBEDDINGS));
  for (const delta of chain.slice(1)) tables = await applyDelta(tables, delta);
  if (!trainable) for (const table of tables) table.freeze();
  model.useTables(tables);
  if (artifact.manifest.files.some((f) => f.path === ROW_MASK)) {
    const rowMask = RowMask.fromJSON(JSON.parse((await artifact.read(ROW_MASK)).toString('utf8')));
    rowMask.check(model.layout);
    model.useMasking(rowMask);
  }
  model.loadDenseState(await readDenseState(artifact));
  return { model, manifest: artifact.manifest };
}
