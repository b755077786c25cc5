import { z } from 'zod';
import { ExplorationSchema, MAX_CANDIDATES } from '../pipelines/decisions/decision-record.js';

/** What the HTTP routes accept; validated once at the edge (unknown fields are refused). */
const Id = z.string().min(1, 'must not be empty').max(256, 'longer than 256 characters');
const AttributeValue = z.union([z.string().max(1024), z.number().finite(), z.boolean(), z.array(z.string().max(256)).max(256)]);
const Attributes = z.record(z.string().min(1).max(128), AttributeValue).refine((a) => Object.keys(a).length <= 256, 'at most 256 attributes');
export const MAX_HISTORY = 1000;
/** Newest first: item ids, or {item_id, ts} with event times in epoch ms. */
const History = z.array(z.union([Id, z.object({ item_id: Id, ts: z.number().int().nonnegative() }).strict()])).max(MAX_HISTORY);

export const ScoreRequestSchema = z.object({
  user_id: Id,
  candidates: z.array(Id).min(1, 'at least one candidate').max(MAX_CANDIDATES, `at most ${MAX_CANDIDATES} candidates`),
  context: Attributes.optional(),
  /** The user's behaviour history; read from the online store when absent. */
  history: History.optional(),
  /** The user's attributes; read from the online store when absent. */
  user_attributes: Attributes.optional(),
}).strict();
export type ScoreRequestBody = z.infer<typeof ScoreRequestSchema>;

export const RecommendRequestSchema = z.object({
  user_id: Id,
  /** Items to return. @default 10 */
  k: z.number().int().min(1).max(MAX_CANDIDATES).default(10),
  /** Items retrieved for ranking (at least k). @default the server's --num-candidates */
  num_candidates: z.number().int().min(1).max(MAX_CANDIDATES).optional(),
  context: Attributes.optional(),
  history: History.optional(),
  user_attributes: Attributes.optional(),
  /** More items not to recommend, besides the user's history. */
  exclude: z.array(Id).max(MAX_CANDIDATES).optional(),
  /** Rank these instead of retrieving candidates. */
  candidates: z.array(Id).min(1).max(MAX_CANDIDATES).optional(),
  /** The exploration policy for this request; the server's default when absent. */
  exploration: ExplorationSchema.optional(),
}).strict();
export type RecommendRequestBody = z.infer<typeof RecommendRequestSchema>;

export const FeatureEmbeddingsRequestSchema = z.object({
  features: z.array(z.object({ field: z.string().min(1).max(128), value: z.union([z.string().max(1024), z.number().finite()]) }).strict()).min(1).max(1000),
}).strict();

export const EntityEmbeddingsRequestSchema = z.object({ ids: z.array(Id).min(1).max(1000) }).strict();

export const PromoteRequestSchema = z.object({
  model: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'a model name'),
  version: z.number().int().positive(),
  reason: z.string().max(1000).optional(),
}).strict();

/** Route parameters. */
export const IdParam = Id;
export const FieldParam = z.string().min(1).max(128);
export const ValueParam = z.string().max(1024);
