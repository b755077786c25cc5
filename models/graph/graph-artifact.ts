import { z } from 'zod';
import { formatIssues } from '../../infra/config.js';
import { ArtifactError, readArtifact } from '../artifact/read-artifact.js';
import { writeArtifact } from '../artifact/write-artifact.js';
import type { Manifest } from '../artifact/artifact-format.js';
import { GraphModelConfigSchema, type GraphModelConfig } from './graph-config.js';
import type { GraphEmbeddings } from './graph-embeddings.js';
import { FoldIn, type PropagationBasis } from './fold-in.js';

/**
 * A graph model's artifact holds what retrieval needs and nothing it does not:
 * the final user and item representations (float32, little-endian, row-major)
 * and the external ids of their rows. The propagation weights are not saved:
 * serving scores by dot product of these rows (nearest-neighbour search over
 * the items), so it never runs the GNN.
 */
export const GRAPH_EMBEDDINGS_FILE = 'graph.json';
export const USER_EMBEDDINGS_FILE = 'user-embeddings.f32';
export const ITEM_EMBEDDINGS_FILE = 'item-embeddings.f32';
/** Fold-in basis (LightGCN): layers 0..K−1 of the users, concatenated, and their training degrees. */
export const USER_LAYERS_FILE = 'fold-in-user-layers.f32';
export const USER_DEGREES_FILE = 'fold-in-user-degrees.f32';
/** Every graph model's manifest `modelType` starts with this, e.g. `graph/lightgcn`. */
export const GRAPH_MODEL_TYPE_PREFIX = 'graph/';

const GraphFileSchema = z.object({
  config: GraphModelConfigSchema,
  dim: z.number().int().positive(),
  /** Score = dot product of a user row and an item row. */
  similarity: z.literal('dot'),
  /** External ids; artifacts written before string ids held MovieLens numbers. */
  userIds: z.array(z.union([z.string(), z.number()]).transform(String)),
  itemIds: z.array(z.union([z.string(), z.number()]).transform(String)),
  /** Present when the artifact carries the propagation fold-in basis; older artifacts fold in by the user-mean rule. */
  foldIn: z.object({ rule: z.literal('propagation'), layers: z.number().int().positive() }).optional(),
});

export interface SaveGraphOptions {
  registry: string;
  /** Registry model name, e.g. `ml100k-lightgcn`. */
  name: string;
  config: GraphModelConfig;
  embeddings: GraphEmbeddings;
  userIds: readonly string[];
  itemIds: readonly string[];
  metrics?: Record<string, number | null>;
  trainedUntil?: number | null;
  extra?: Record<string, unknown>;
}

export async function saveGraphEmbeddings(options: SaveGraphOptions): Promise<{ dir: string; manifest: Manifest }> {
  const { dim, users, items } = options.embeddings;
  if (users.length !== options.userIds.length * dim) throw new ArtifactError(`user embeddings hold ${users.length / dim} rows for ${options.userIds.length} user ids`);
  if (items.length !== options.itemIds.length * dim) throw new ArtifactError(`item embeddings hold ${items.length / dim} rows for ${options.itemIds.length} item ids`);
  const basis = options.embeddings.basis;
  const withBasis = basis !== undefined && basis.userLayers.length > 0;
  if (withBasis && (basis.userDegrees.length !== options.userIds.length || basis.userLayers.some((l) => l.length !== users.length))) throw new ArtifactError('the fold-in basis does not match the user embeddings');
  const graph: z.input<typeof GraphFileSchema> = {
    config: options.config, dim, similarity: 'dot', userIds: [...options.userIds], itemIds: [...options.itemIds],
    ...(withBasis ? { foldIn: { rule: 'propagation' as const, layers: basis.userLayers.length } } : {}),
  };
  return writeArtifact(options.registry, {
    model: options.name,
    modelType: `${GRAPH_MODEL_TYPE_PREFIX}${options.config.type}`,
    files: {
      [GRAPH_EMBEDDINGS_FILE]: `${JSON.stringify(graph)}\n`,
      [USER_EMBEDDINGS_FILE]: littleEndian(users),
      [ITEM_EMBEDDINGS_FILE]: littleEndian(items),
      ...(withBasis ? { [USER_LAYERS_FILE]: littleEndian(concat(basis.userLayers)), [USER_DEGREES_FILE]: littleEndian(basis.userDegrees) } : {}),
    },
    metrics: options.metrics ?? {},
    trainedUntil: options.trainedUntil ?? null,
    extra: { ...options.extra, users: options.userIds.length, items: options.itemIds.length, dim },
  });
}

export interface LoadedGraphEmbeddings extends GraphEmbeddings {
  dir: string;
  manifest: Manifest;
  config: GraphModelConfig;
  userIds: string[];
  itemIds: string[];
  /** External id → row. */
  userIndex: Map<string, number>;
  itemIndex: Map<string, number>;
  /** Layers of the propagation fold-in basis in the artifact (0: none). */
  foldInLayers: number;
}

/** Opens (and verifies) an artifact written by saveGraphEmbeddings; refuses any other model family. */
export async function loadGraphEmbeddings(dir: string): Promise<LoadedGraphEmbeddings> {
  const artifact = await readArtifact(dir);
  const { manifest } = artifact;
  if (!manifest.modelType.startsWith(GRAPH_MODEL_TYPE_PREFIX)) throw new ArtifactError(`${dir}: model type '${manifest.modelType}' is not a graph model`);
  let raw: unknown;
  try {
    raw = JSON.parse((await artifact.read(GRAPH_EMBEDDINGS_FILE)).toString('utf8'));
  } catch (error) {
    throw new ArtifactError(`${dir}: unreadable ${GRAPH_EMBEDDINGS_FILE}: ${(error as Error).message}`, { cause: error });
  }
  const parsed = GraphFileSchema.safeParse(raw);
  if (!parsed.success) throw new ArtifactError(`${dir}: invalid ${GRAPH_EMBEDDINGS_FILE}: ${formatIssues(parsed.error).join('; ')}`);
  const { config, dim, userIds, itemIds } = parsed.data;
  const users = fromLittleEndian(await artifact.read(USER_EMBEDDINGS_FILE));
  const items = fromLittleEndian(await artifact.read(ITEM_EMBEDDINGS_FILE));
  if (users.length !== userIds.length * dim || items.length !== itemIds.length * dim) {
    throw new ArtifactError(`${dir}: embedding files do not match ${userIds.length} users / ${itemIds.length} items × ${dim}`);
  }
  return {
    dir, manifest, config, dim, users, items, userIds, itemIds,
    userIndex: new Map(userIds.map((id, row) => [id, row])),
    itemIndex: new Map(itemIds.map((id, row) => [id, row])),
    foldInLayers: parsed.data.foldIn?.layers ?? 0,
  };
}

/**
 * The fold-in for a loaded artifact: the propagation rule when the artifact
 * carries its basis (read only here: serving never needs it), else the
 * user-mean rule.
 */
export async function loadFoldIn(graph: LoadedGraphEmbeddings): Promise<FoldIn> {
  let basis: PropagationBasis | null = null;
  if (graph.foldInLayers > 0) {
    const artifact = await readArtifact(graph.dir);
    const layers = fromLittleEndian(await artifact.read(USER_LAYERS_FILE));
    const userDegrees = fromLittleEndian(await artifact.read(USER_DEGREES_FILE));
    const size = graph.users.length;
    if (layers.length !== size * graph.foldInLayers || userDegrees.length !== graph.userIds.length) throw new ArtifactError(`${graph.dir}: fold-in files do not match ${graph.userIds.length} users × ${graph.dim} × ${graph.foldInLayers} layers`);
    basis = { dim: graph.dim, userDegrees, userLayers: Array.from({ length: graph.foldInLayers }, (_, k) => layers.subarray(k * size, (k + 1) * size)) };
  }
  return new FoldIn({ dim: graph.dim, users: graph.users, items: graph.items, basis });
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

function littleEndian(values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return bytes;
}

function fromLittleEndian(buffer: Buffer): Float32Array {
  if (buffer.length % 4 !== 0) throw new ArtifactError(`an embedding file of ${buffer.length} bytes is not float32`);
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.length);
  const out = new Float32Array(buffer.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
