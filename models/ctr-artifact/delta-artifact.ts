import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { EmbeddingTable } from '../../features/embedding/index.js';
import { MANIFEST_FILE, type Manifest } from '../artifact/artifact-format.js';
import { ArtifactError, readArtifact, type Artifact } from '../artifact/read-artifact.js';
import { versionDir, writeArtifact } from '../artifact/write-artifact.js';
import type { CtrModel } from '../ctr/ctr-model.js';
import { MODEL_FILE, modelFiles } from './model-files.js';

/**
 * Delta versions: a `kind: "delta"` artifact names its parent version and
 * holds only the embedding rows changed since it (trained, allocated, reset
 * or freed), with their optimizer state and id-map entries, plus all dense
 * weights (small). Publishing then costs the rows a period touched, not the
 * whole table. Loading resolves the chain down to a full snapshot and checks
 * every link: each artifact's own checksums, the parent's manifest hash the
 * child recorded (so a re-published or swapped parent is refused), the same
 * model name, type and model.json, and versions that strictly decrease.
 *
 *   delta.json       DeltaIndex: parent, base, depth, per table its sections
 *   delta-rows.bin   per table: row indices (i32), weights (f32 rows × dim),
 *                    each optimizer slot (f32), and for dynamic ids the rows'
 *                    ids (i32), lastSeen (f64) and live flags (u8)
 */
export const DELTA_INDEX = 'delta.json';
export const DELTA_ROWS = 'delta-rows.bin';

const SectionSchema = z.object({ name: z.string(), offset: z.number().int().nonnegative(), bytes: z.number().int().nonnegative() });
const DeltaTableSchema = z.object({
  name: z.string(),
  rows: z.number().int().positive(),
  dim: z.number().int().positive(),
  changed: z.number().int().nonnegative(),
  lookups: z.number().int().nonnegative(),
  optimizerStep: z.number().int().nonnegative(),
  slots: z.number().int().nonnegative(),
  dynamic: z.boolean(),
  sections: z.array(SectionSchema),
});
export const DeltaIndexSchema = z.object({
  parent: z.object({ version: z.number().int().positive(), manifestSha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  /** The full snapshot the chain rests on. */
  base: z.number().int().positive(),
  /** Deltas from the base to this version, this one included. */
  depth: z.number().int().positive(),
  tables: z.array(DeltaTableSchema),
});
export type DeltaIndex = z.infer<typeof DeltaIndexSchema>;

/** Longest chain a loader follows before calling the registry broken. */
export const MAX_DELTA_DEPTH = 1000;

export interface SaveDeltaOptions {
  registry: string;
  name: string;
  /** The version this delta applies to (a full snapshot or another delta of `name`). */
  parent: number;
  /** Per table of the model's layout, the rows changed since `parent` (EmbeddingTable.takeChangedRows). */
  changedRows: readonly Int32Array[];
  metrics?: Record<string, number | null>;
  trainedUntil?: number | null;
  extra?: Record<string, unknown>;
  training?: unknown;
}

const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');
const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Publishes the rows changed since `parent` plus the dense weights as a delta version. */
export async function saveCtrDelta(model: CtrModel, options: SaveDeltaOptions): Promise<{ dir: string; manifest: Manifest }> {
  const { registry, name, parent, changedRows } = options;
  const tables = model.layout.tables;
  if (changedRows.length !== tables.length) throw new ArtifactError(`delta of ${name}: ${changedRows.length} row lists for ${tables.length} tables`);
  const parentDir = path.join(registry, name, versionDir(parent));
  const parentArtifact = await readArtifact(parentDir);
  const parentManifest = parentArtifact.manifest;
  const files = modelFiles(model, options.training);
  if (parentManifest.model !== name) throw new ArtifactError(`delta of ${name}: parent ${parentDir} is model ${parentManifest.model}`);
  const parentModelFile = parentManifest.files.find((f) => f.path === MODEL_FILE)?.sha256;
  if (parentModelFile !== sha256(files[MODEL_FILE]!)) throw new ArtifactError(`delta of ${name}: model.json differs from parent v${parent}'s (config or encoder changed): publish a full version`);
  const parentIndex = parentManifest.kind === 'delta' ? DeltaIndexSchema.parse(JSON.parse((await parentArtifact.read(DELTA_INDEX)).toString('utf8'))) : null;

  const chunks: Uint8Array[] = [];
  let offset = 0;
  const entries = tables.map((table, t) => {
    const rows = changedRows[t]!;
    const dim = table.dim;
    const gather = (source: Float32Array): Float32Array => {
      const out = new Float32Array(rows.length * dim);
      rows.forEach((row, i) => out.set(source.subarray(row * dim, row * dim + dim), i * dim));
      return out;
    };
    const sections: { name: string; data: ArrayBufferView }[] = [{ name: 'rows', data: rows }, { name: 'weights', data: gather(table.weights) }];
    table.optimizerState.slots.forEach((slot, i) => sections.push({ name: `slot:${i}`, data: gather(slot) }));
    const dynamic = table.dynamicState;
    if (dynamic) {
      sections.push(
        { name: 'ids.lastSeen', data: Float64Array.from(rows, (row) => dynamic.lastSeen[row]!) },
        { name: 'ids.rowIds', data: Int32Array.from(rows, (row) => dynamic.rowIds[row]!) },
        { name: 'ids.live', data: Uint8Array.from(rows, (row) => dynamic.live[row]!) },
      );
    }
    const placed = sections.map(({ name: section, data }) => {
      // 8-byte aligned, so a reader may view sections in place.
      const pad = (8 - (offset % 8)) % 8;
      if (pad > 0) chunks.push(new Uint8Array(pad));
      offset += pad;
      const entry = { name: section, offset, bytes: data.byteLength };
      chunks.push(bytesOf(data));
      offset += data.byteLength;
      return entry;
    });
    return {
      name: table.name, rows: table.rows, dim, changed: rows.length, lookups: table.lookups, optimizerStep: table.optimizerState.step,
      slots: table.optimizerState.slots.length, dynamic: dynamic !== null, sections: placed,
    };
  });
  const index: DeltaIndex = {
    parent: { version: parent, manifestSha256: sha256(await readFile(path.join(parentDir, MANIFEST_FILE))) },
    base: parentIndex ? parentIndex.base : parent,
    depth: (parentIndex?.depth ?? 0) + 1,
    tables: entries,
  };
  const rowsBin = Buffer.concat(chunks);
  return writeArtifact(registry, {
    model: name,
    modelType: model.config.type,
    kind: 'delta',
    files: { ...files, [DELTA_INDEX]: `${JSON.stringify(index)}\n`, [DELTA_ROWS]: rowsBin },
    metrics: options.metrics ?? {},
    trainedUntil: options.trainedUntil ?? null,
    extra: {
      parameters: model.parameterCount(), ...options.extra, parent, base: index.base, depth: index.depth,
      changedRows: entries.reduce((n, e) => n + e.changed, 0),
    },
  });
}

async function readIndex(artifact: Artifact): Promise<DeltaIndex> {
  try {
    return DeltaIndexSchema.parse(JSON.parse((await artifact.read(DELTA_INDEX)).toString('utf8')));
  } catch (error) {
    if (error instanceof ArtifactError) throw error;
    throw new ArtifactError(`${artifact.dir}: ${DELTA_INDEX} is invalid (${(error as Error).message})`, { cause: error });
  }
}

/**
 * The verified chain of a version: [full snapshot, delta, …, the version].
 * Every artifact is opened with its checksums; every link must match the
 * parent's manifest hash the child recorded, the model name and type, and
 * model.json. Throws ArtifactError naming the broken link.
 */
export async function resolveDeltaChain(dirOrArtifact: string | Artifact): Promise<Artifact[]> {
  let child = typeof dirOrArtifact === 'string' ? await readArtifact(dirOrArtifact) : dirOrArtifact;
  const chain: Artifact[] = [child];
  const top = child.manifest;
  const modelFileHash = (a: Artifact) => a.manifest.files.find((f) => f.path === MODEL_FILE)?.sha256;
  while (child.manifest.kind === 'delta') {
    const { version, model, modelType } = child.manifest;
    const where = `${model} v${version}`;
    if (chain.length > MAX_DELTA_DEPTH) throw new ArtifactError(`${where}: delta chain longer than ${MAX_DELTA_DEPTH}`);
    const index = await readIndex(child);
    if (child.manifest.extra.parent !== index.parent.version) throw new ArtifactError(`${where}: manifest parent ${String(child.manifest.extra.parent)} and ${DELTA_INDEX} parent ${index.parent.version} differ`);
    if (index.parent.version >= version) throw new ArtifactError(`${where}: parent v${index.parent.version} does not precede it (broken delta chain)`);
    const parentDir = path.join(path.dirname(child.dir), versionDir(index.parent.version));
    let parent: Artifact;
    try {
      parent = await readArtifact(parentDir);
    } catch (error) {
      throw new ArtifactError(`${where}: parent v${index.parent.version} cannot be used (broken delta chain): ${(error as Error).message}`, { cause: error });
    }
    const parentHash = sha256(await readFile(path.join(parentDir, MANIFEST_FILE)));
    if (parentHash !== index.parent.manifestSha256) {
      throw new ArtifactError(`${where}: parent v${index.parent.version}'s manifest is not the one this delta was made from (replaced or edited; broken delta chain)`);
    }
    const p = parent.manifest;
    if (p.model !== model || p.modelType !== modelType) throw new ArtifactError(`${where}: parent v${p.version} is ${p.model} (${p.modelType}), not ${model} (${modelType})`);
    if (modelFileHash(parent) !== modelFileHash(child)) throw new ArtifactError(`${where}: ${MODEL_FILE} differs from parent v${p.version}'s`);
    chain.unshift(parent);
    child = parent;
  }
  if (chain.length > 1 && top.kind === 'delta') {
    const index = await readIndex(chain.at(-1)!);
    if (index.base !== chain[0]!.manifest.version) throw new ArtifactError(`${top.model} v${top.version}: chain ends at full v${chain[0]!.manifest.version}, ${DELTA_INDEX} names base v${index.base}`);
  }
  return chain;
}

/** Tables with one delta's rows written over them (same names and shapes), id maps rebuilt. */
export async function applyDelta(tables: readonly EmbeddingTable[], delta: Artifact): Promise<EmbeddingTable[]> {
  const index = await readIndex(delta);
  const where = `${delta.manifest.model} v${delta.manifest.version}`;
  const bin = await delta.read(DELTA_ROWS);
  const byName = new Map(tables.map((t) => [t.name, t]));
  if (index.tables.length !== tables.length) throw new ArtifactError(`${where}: delta has ${index.tables.length} tables, the model ${tables.length}`);
  return index.tables.map((entry) => {
    const table = byName.get(entry.name);
    if (!table || table.rows !== entry.rows || table.dim !== entry.dim) {
      throw new ArtifactError(`${where}: delta table '${entry.name}' (${entry.rows}×${entry.dim}) does not fit the model's ${table ? `${table.rows}×${table.dim}` : 'tables'}`);
    }
    if (entry.slots !== table.optimizerState.slots.length || entry.dynamic !== (table.dynamicState !== null)) {
      throw new ArtifactError(`${where}: delta table '${entry.name}' has another optimizer or id kind than its parent`);
    }
    const section = <T extends ArrayBufferView>(name: string, View: { new(buffer: ArrayBuffer): T; BYTES_PER_ELEMENT: number }, count: number): T => {
      const s = entry.sections.find((x) => x.name === name);
      if (!s || s.bytes !== count * View.BYTES_PER_ELEMENT || s.offset + s.bytes > bin.length) throw new ArtifactError(`${where}: delta section ${entry.name}/${name} is missing or of the wrong size`);
      return new View(new Uint8Array(bin.subarray(s.offset, s.offset + s.bytes)).buffer);
    };
    const n = entry.changed;
    const dim = entry.dim;
    const rows = section('rows', Int32Array, n);
    for (const row of rows) if (row < 0 || row >= entry.rows) throw new ArtifactError(`${where}: delta row ${row} of '${entry.name}' is out of range`);
    const scatter = (target: Float32Array, values: Float32Array) => rows.forEach((row, i) => target.set(values.subarray(i * dim, i * dim + dim), row * dim));
    const state = table.state;
    scatter(state.weights, section('weights', Float32Array, n * dim));
    state.optimizer.slots.forEach((slot, i) => scatter(slot, section(`slot:${i}`, Float32Array, n * dim)));
    if (state.dynamic) {
      const lastSeen = section('ids.lastSeen', Float64Array, n);
      const rowIds = section('ids.rowIds', Int32Array, n);
      const live = section('ids.live', Uint8Array, n);
      rows.forEach((row, i) => {
        state.dynamic!.lastSeen[row] = lastSeen[i]!;
        state.dynamic!.rowIds[row] = rowIds[i]!;
        state.dynamic!.live[row] = live[i]!;
      });
    }
    // A new table over the patched arrays rebuilds the id → row map from them.
    return new EmbeddingTable(table.options, { ...state, optimizer: { slots: state.optimizer.slots, step: entry.optimizerStep }, lookups: entry.lookups });
  });
}
