import { z } from 'zod';
import { loadCheckpoint, saveCheckpoint } from '../../features/embedding/index.js';
import { FeatureEncoder, type FeatureEncoderJson } from '../../features/spec/feature-encoder.js';
import { readArtifact, ArtifactError, type Artifact } from '../artifact/read-artifact.js';
import { writeArtifact } from '../artifact/write-artifact.js';
import type { Manifest } from '../artifact/artifact-format.js';
import { createCtrModel } from '../create-model.js';
import { CtrModelConfigSchema } from './ctr-config.js';
import type { CtrModel } from './ctr-model.js';
import { RowMask } from './row-mask.js';

const MODEL_FILE = 'model.json';
const DENSE_INDEX = 'dense.json';
const DENSE_DATA = 'dense.bin';
const EMBEDDINGS = 'embeddings.ckpt';
/** Pruned models (OptEmbed): which rows each field keeps. */
const ROW_MASK = 'row-mask.json';
/** How the version was trained: source, training options, per-epoch history. */
export const TRAINING_FILE = 'training.json';

const DenseIndexSchema = z.array(z.object({ name: z.string(), shape: z.array(z.number().int().nonnegative()), offset: z.number().int().nonnegative() }));

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
  const dense = model.denseState();
  return writeArtifact(registry, {
    model: name,
    modelType: model.config.type,
    files: {
      [MODEL_FILE]: `${JSON.stringify({ config: model.config, encoder: model.encoder.toJSON() }, null, 1)}\n`,
      [DENSE_INDEX]: JSON.stringify(dense.entries),
      [DENSE_DATA]: new Uint8Array(dense.data.buffer, dense.data.byteOffset, dense.data.byteLength),
      ...(training === undefined ? {} : { [TRAINING_FILE]: `${JSON.stringify(training)}\n` }),
      ...(model.masking instanceof RowMask ? { [ROW_MASK]: JSON.stringify(model.masking.toJSON()) } : {}),
    },
    stage: async (dir) => {
      await saveCheckpoint(`${dir}/${EMBEDDINGS}`, model.layout.tables);
      return [EMBEDDINGS];
    },
    metrics: metrics ?? {},
    trainedUntil: trainedUntil ?? null,
    extra: { parameters: model.parameterCount(), ...extra },
  });
}

/** Loads a CTR model from an artifact folder alone (checksums and format version verified). */
export async function loadCtrModel(dirOrArtifact: string | Artifact): Promise<{ model: CtrModel; manifest: Manifest }> {
  // An artifact already opened (and checksummed) is not read and hashed again.
  const artifact = typeof dirOrArtifact === 'string' ? await readArtifact(dirOrArtifact) : dirOrArtifact;
  const dir = artifact.dir;
  let saved: { config: unknown; encoder: FeatureEncoderJson };
  try {
    saved = JSON.parse((await artifact.read(MODEL_FILE)).toString('utf8'));
  } catch (error) {
    throw new ArtifactError(`${dir}: ${MODEL_FILE} is not valid JSON`, { cause: error });
  }
  const config = CtrModelConfigSchema.parse(saved.config);
  const model = createCtrModel(FeatureEncoder.fromJSON(saved.encoder), config);
  model.useTables(await loadCheckpoint(artifact.path(EMBEDDINGS)));
  if (artifact.manifest.files.some((f) => f.path === ROW_MASK)) {
    const rowMask = RowMask.fromJSON(JSON.parse((await artifact.read(ROW_MASK)).toString('utf8')));
    rowMask.check(model.layout);
    model.useMasking(rowMask);
  }
  const entries = DenseIndexSchema.parse(JSON.parse((await artifact.read(DENSE_INDEX)).toString('utf8')));
  const bytes = await artifact.read(DENSE_DATA);
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  model.loadDenseState({ entries, data });
  return { model, manifest: artifact.manifest };
}
