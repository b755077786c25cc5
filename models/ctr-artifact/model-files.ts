import { z } from 'zod';
import type { Artifact } from '../artifact/read-artifact.js';
import type { CtrModel, DenseState } from '../ctr/ctr-model.js';
import { RowMask } from '../ctr/row-mask.js';

/** The files of a CTR model artifact, full or delta. */
export const MODEL_FILE = 'model.json';
export const DENSE_INDEX = 'dense.json';
export const DENSE_DATA = 'dense.bin';
export const EMBEDDINGS = 'embeddings.ckpt';
/** Pruned models (OptEmbed): which rows each field keeps. */
export const ROW_MASK = 'row-mask.json';
/** How the version was trained: source, training options, per-epoch history. */
export const TRAINING_FILE = 'training.json';

const DenseIndexSchema = z.array(z.object({ name: z.string(), shape: z.array(z.number().int().nonnegative()), offset: z.number().int().nonnegative() }));

/** model.json, the dense weights, the row mask and training.json: what every version of a model carries. */
export function modelFiles(model: CtrModel, training?: unknown): Record<string, Uint8Array | string> {
  const dense = model.denseState();
  return {
    [MODEL_FILE]: `${JSON.stringify({ config: model.config, encoder: model.encoder.toJSON() }, null, 1)}\n`,
    [DENSE_INDEX]: JSON.stringify(dense.entries),
    [DENSE_DATA]: new Uint8Array(dense.data.buffer, dense.data.byteOffset, dense.data.byteLength),
    ...(training === undefined ? {} : { [TRAINING_FILE]: `${JSON.stringify(training)}\n` }),
    ...(model.masking instanceof RowMask ? { [ROW_MASK]: JSON.stringify(model.masking.toJSON()) } : {}),
  };
}

/** The dense weights of an (already verified) artifact or training checkpoint. */
export async function readDenseState(artifact: Pick<Artifact, 'read'>): Promise<DenseState> {
  const entries = DenseIndexSchema.parse(JSON.parse((await artifact.read(DENSE_INDEX)).toString('utf8')));
  const bytes = await artifact.read(DENSE_DATA);
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return { entries, data };
}
