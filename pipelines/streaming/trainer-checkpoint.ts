import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { loadCheckpoint, saveCheckpoint } from '../../features/embedding/index.js';
import type { BuilderSnapshot, PointInTimeSampleBuilder, UserState } from '../../features/samples/point-in-time-builder.js';
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
const USERS = 'builder-users.jsonl';
/** Bytes gathered before each write of the users file. */
const WRITE_CHUNK = 1 << 20;
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
  /**
   * The builder's per-user state is in builder-users.jsonl, one user per line (then `builder` holds no
   * histories or users); absent in older checkpoints, whose state.json holds them.
   */
  builderUsers?: { file: string; count: number };
  adam: { beta1Power: number; beta2Power: number; length: number } | null;
}

const bytes = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * Writes the whole training state as one checkpoint: model (config, encoder,
 * dense weights, embedding tables with optimizer moments and id maps), dense
 * Adam moments, rows changed since the last publish, state.json (offsets,
 * the builder's shared state, progressive window, counters, publish state)
 * and the builder's users, streamed one JSON line per user: a million users'
 * histories exceed V8's largest string (2^29 − 24 characters) as one JSON.
 */
export async function saveTrainerCheckpoint(
  store: CheckpointStore,
  model: CtrModel,
  state: Omit<TrainerStateJson, 'adam' | 'format' | 'builderUsers'>,
  builder: PointInTimeSampleBuilder,
): Promise<{ dir: string; seq: number }> {
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
    builder: { ...state.builder, histories: [], users: [] },
    builderUsers: { file: USERS, count: builder.userCount },
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
      await writeUsers(`${dir}/${USERS}`, builder.userStates());
      return [EMBEDDINGS, USERS];
    },
  );
}

/** One line per user: [user, attributes or null, [[item, ts, seq], ...], lastTs], written in ~1 MiB chunks and fsynced. */
async function writeUsers(file: string, users: Iterable<UserState>): Promise<void> {
  const handle = await open(file, 'wx');
  try {
    let chunk: string[] = [];
    let size = 0;
    for (const u of users) {
      const line = JSON.stringify([u.user, u.attributes, u.history.map((h) => [h.item_id, h.ts, h.seq]), u.lastTs]);
      chunk.push(line);
      size += line.length + 1;
      if (size >= WRITE_CHUNK) {
        await handle.write(chunk.join('\n') + '\n');
        chunk = [];
        size = 0;
      }
    }
    if (chunk.length > 0) await handle.write(chunk.join('\n') + '\n');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Puts the checkpoint's users into a builder restored from `state.builder`
 * (nothing to do for older checkpoints, whose state.json held them). The
 * file's checksum was verified when the checkpoint was opened.
 */
export async function restoreBuilderUsers(checkpoint: OpenCheckpoint, state: TrainerStateJson, builder: PointInTimeSampleBuilder): Promise<void> {
  if (!state.builderUsers) return;
  const lines = createInterface({ input: createReadStream(checkpoint.path(state.builderUsers.file)), crlfDelay: Infinity });
  let count = 0;
  for await (const line of lines) {
    if (line.length === 0) continue;
    const [user, attributes, history, lastTs] = JSON.parse(line) as [string, UserState['attributes'], [string, number, number][], number | null];
    // JSON has no ±Infinity: a user known only by attributes from before any event time is written as null.
    builder.restoreUser({ user, attributes, history: history.map(([item_id, ts, seq]) => ({ item_id, ts, seq })), lastTs: lastTs ?? -Infinity });
    count++;
  }
  if (count !== state.builderUsers.count) throw new CheckpointError(`${checkpoint.dir}: ${state.builderUsers.file} has ${count} users, state.json says ${state.builderUsers.count}`);
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
