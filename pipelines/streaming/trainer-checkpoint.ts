import { loadCheckpoint, saveCheckpoint } from '../../features/embedding/index.js';
import type { BuilderSnapshot } from '../../features/samples/point-in-time-builder.js';
import { FeatureEncoder, type FeatureEncoderJson } from '../../features/spec/feature-encoder.js';
import { createCtrModel } from '../../models/create-model.js';
import { CtrModelConfigSchema } from '../../models/ctr/ctr-config.js';
import type { CtrModel } from '../../models/ctr/ctr-model.js';
import { EMBEDDINGS, MODEL_FILE, modelFiles, readDenseState } from '../../models/ctr-artifact/model-files.js';
import { CheckpointError, type CheckpointStore, type OpenCheckpoint } from './checkpoint-store.js';
import type { LedgerSnapshot } from './offset-ledger.js';
import type { ProgressiveSnapshot } from './progressive-metrics.js';
import type { ShadowSnapshot } from './serving-shadow.js';

const STATE = 'state.json';
const ADAM = 'dense-adam.bin';
const changedFile = (t: number) => `changed-${t}.bin`;

/** Counters that travel with the state (what was trained, for the accounting). */
export interface TrainerCounters {
  /** Valid events consumed. */
  events: number;
  /** Messages that were not valid events (skipped; ingestion dead-letters them). */
  invalid: number;
  /** Examples scored and trained on. */
  trained: number;
  steps: number;
  /** Σ hash(event_id) mod 2^32 over trained examples: equal sums over the same ids say "each once". */
  trainedIdHash: number;
  /** Latest event time trained on. */
  trainedUntil: number | null;
}

export interface PublishState {
  /** The version this trainer published last (the next delta's parent); null before its first. */
  lastVersion: number | null;
  deltasSinceFull: number;
  examplesSincePublish: number;
  published: number;
}

/** Everything in state.json besides model weights. */
export interface TrainerStateJson {
  format: 'recsys-train-stream-state';
  model: string;
  topic: string;
  ledger: LedgerSnapshot;
  builder: BuilderSnapshot;
  progressive: ProgressiveSnapshot;
  counters: TrainerCounters;
  publish: PublishState;
  /** The serving version's shadow window (publish.autoPromote); absent in older checkpoints. */
  shadow?: ShadowSnapshot | null;
  adam: { beta1Power: number; beta2Power: number; length: number } | null;
}

const bytes = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * Writes the whole training state as one checkpoint: model (config, encoder,
 * dense weights, embedding tables with optimizer moments and id maps), dense
 * Adam moments, rows changed since the last publish, and state.json (offsets,
 * point-in-time builder, progressive window, counters, publish state).
 */
export async function saveTrainerCheckpoint(store: CheckpointStore, model: CtrModel, state: Omit<TrainerStateJson, 'adam' | 'format'>): Promise<{ dir: string; seq: number }> {
  const tables = model.layout.tables;
  const changed = tables.map((t) => {
    const rows = t.takeChangedRows();
    t.markChanged(rows);
    return rows;
  });
  const adam = model.denseOptimizerState();
  const adamBytes = adam ? Buffer.concat([bytes(adam.m), bytes(adam.v)]) : new Uint8Array(0);
  const json: TrainerStateJson = {
    format: 'recsys-train-stream-state',
    ...state,
    adam: adam ? { beta1Power: adam.beta1Power, beta2Power: adam.beta2Power, length: adam.m.length } : null,
  };
  return store.save(
    {
      ...modelFiles(model),
      [STATE]: JSON.stringify(json),
      [ADAM]: adamBytes,
      ...Object.fromEntries(changed.map((rows, t) => [changedFile(t), bytes(rows)])),
    },
    async (dir) => {
      await saveCheckpoint(`${dir}/${EMBEDDINGS}`, tables);
      return [EMBEDDINGS];
    },
  );
}

/** A model and state restored from a checkpoint, exactly as saved. */
export async function loadTrainerCheckpoint(checkpoint: OpenCheckpoint): Promise<{ model: CtrModel; state: TrainerStateJson }> {
  const state = JSON.parse((await checkpoint.read(STATE)).toString('utf8')) as TrainerStateJson;
  if (state.format !== 'recsys-train-stream-state') throw new CheckpointError(`${checkpoint.dir}: not a streaming trainer checkpoint`);
  const saved = JSON.parse((await checkpoint.read(MODEL_FILE)).toString('utf8')) as { config: unknown; encoder: FeatureEncoderJson };
  const model = createCtrModel(FeatureEncoder.fromJSON(saved.encoder), CtrModelConfigSchema.parse(saved.config));
  model.useTables(await loadCheckpoint(checkpoint.path(EMBEDDINGS)));
  model.loadDenseState(await readDenseState(checkpoint));
  if (state.adam) {
    const raw = await checkpoint.read(ADAM);
    const all = new Float32Array(new Uint8Array(raw).buffer);
    if (all.length !== state.adam.length * 2) throw new CheckpointError(`${checkpoint.dir}: ${ADAM} has ${all.length} values, expected ${state.adam.length * 2}`);
    model.loadDenseOptimizerState({ m: all.slice(0, state.adam.length), v: all.slice(state.adam.length), beta1Power: state.adam.beta1Power, beta2Power: state.adam.beta2Power });
  }
  for (const [t, table] of model.layout.tables.entries()) {
    const raw = await checkpoint.read(changedFile(t));
    table.markChanged(new Int32Array(new Uint8Array(raw).buffer));
  }
  return { model, state };
}
