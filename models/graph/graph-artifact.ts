import { z } from 'zod';
import { formatIssues } from '../../infra/config.js';
import { ArtifactError, readArtifact } from '../artifact/read-artifact.js';
import { writeArtifact } from '../artifact/write-artifact.js';
import type { Manifest } from '../artifact/artifact-format.js';
import { GraphModelConfigSchema, type GraphModelConfig } from './graph-config.js';
import type { GraphEmbeddings } from './graph-embeddings.js';

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
  const graph: z.input<typeof GraphFileSchema> = { config: options.config, dim, similarity: 'dot', userIds: [...options.userIds], itemIds: [...options.itemIds] };
  return writeArtifact(options.registry, {
    model: options.name,
    modelType: `${GRAPH_MODEL_TYPE_PREFIX}${options.config.type}`,
    files: {
      [GRAPH_EMBEDDINGS_FILE]: `${JSON.stringify(graph)}\n`,
      [USER_EMBEDDINGS_FILE]: littleEndian(users),
      [ITEM_EMBEDDINGS_FILE]: littleEndian(items),
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
  };
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
