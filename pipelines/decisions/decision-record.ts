import { z } from 'zod';
import { parseJsonMessage } from '../../features/events/json-message.js';
import { formatIssues } from '../../infra/config.js';

/**
 * The decision record, version 1: what serving wrote for one /v1/recommend
 * response, so the A/B replay can evaluate other policies on logged traffic.
 * One record per response, keyed by `request_id`; outcomes (clicks…) are
 * events that carry the same `request_id`.
 *
 * `shown[p].propensity` is the probability that the logging policy put that
 * item at position p given the items at positions before p (1 for a
 * deterministic policy). For position 0 it is the marginal probability; the
 * product over positions is the probability of the whole shown list.
 */
export const DECISION_SCHEMA_VERSION = 1;
export const MAX_DECISION_BYTES = 1024 * 1024;
export const MAX_CANDIDATES = 1000;

export const EXPLORATION_SCHEMES = ['none', 'epsilon-greedy', 'softmax'] as const;
export type ExplorationScheme = (typeof EXPLORATION_SCHEMES)[number];

const Id = z.string().min(1, 'must not be empty').max(256, 'longer than 256 characters');
const Timestamp = z.number().int('an integer (epoch milliseconds)').min(1e12, 'epoch milliseconds, not seconds').max(1e13);
const ModelVersion = z.object({ name: z.string().min(1).max(128), version: z.number().int().positive() }).strict();
const ContextValue = z.union([z.string().max(1024), z.number().finite(), z.boolean(), z.array(z.string().max(256)).max(256)]);

/**
 * Bounds of the exploration parameters, shared by requests, `recsys serve`'s
 * settings and the record, so a policy serving accepts is one ingestion
 * accepts. ε is 0 or at least 1e-6 (a smaller ε explores about never, and
 * ε / candidates would be a propensity IPS cannot use); τ is within
 * [1e-6, 1e6] (beyond, softmax is greedy or uniform anyway).
 */
export const EXPLORATION_BOUNDS = { minEpsilon: 1e-6, minTemperature: 1e-6, maxTemperature: 1e6 } as const;
export const EpsilonSchema = z.number().min(0, 'ε must be in [0, 1]').max(1, 'ε must be in [0, 1]')
  .refine((e) => e === 0 || e >= EXPLORATION_BOUNDS.minEpsilon, 'ε must be 0 or at least 1e-6');
const TEMPERATURE_RANGE = 'the temperature must be in [1e-6, 1e6]';
export const TemperatureSchema = z.number().min(EXPLORATION_BOUNDS.minTemperature, TEMPERATURE_RANGE).max(EXPLORATION_BOUNDS.maxTemperature, TEMPERATURE_RANGE);

export const ExplorationSchema = z.discriminatedUnion('scheme', [
  z.object({ scheme: z.literal('none') }).strict(),
  z.object({ scheme: z.literal('epsilon-greedy'), epsilon: EpsilonSchema }).strict(),
  z.object({ scheme: z.literal('softmax'), temperature: TemperatureSchema }).strict(),
]);
export type Exploration = z.infer<typeof ExplorationSchema>;

export const DecisionCandidateSchema = z.object({
  item_id: Id,
  /** The ranking model's click probability. */
  score: z.number().finite(),
  /** Retrieval similarity (dot product); null when the candidate did not come from the index. */
  retrieval_score: z.number().finite().nullable(),
}).strict();

export const ShownItemSchema = z.object({
  item_id: Id,
  /** 0-based position in the response. */
  position: z.number().int().nonnegative(),
  score: z.number().finite(),
  propensity: z.number().gt(0, 'a shown item has a propensity > 0').max(1),
}).strict();

export const DecisionRecordSchema = z.object({
  schema_version: z.literal(DECISION_SCHEMA_VERSION).default(DECISION_SCHEMA_VERSION),
  request_id: Id,
  user_id: Id,
  ts: Timestamp,
  models: z.object({ ranker: ModelVersion, retrieval: ModelVersion.nullable() }).strict(),
  exploration: ExplorationSchema,
  /** Items asked for. */
  k: z.number().int().positive().max(MAX_CANDIDATES),
  /** Ranked by score (highest first): every item the policy chose from. */
  candidates: z.array(DecisionCandidateSchema).max(MAX_CANDIDATES),
  shown: z.array(ShownItemSchema).max(MAX_CANDIDATES),
  context: z.record(z.string().min(1).max(128), ContextValue).optional(),
}).strict().superRefine((d, ctx) => {
  const candidates = new Set(d.candidates.map((c) => c.item_id));
  if (candidates.size !== d.candidates.length) ctx.addIssue({ code: 'custom', path: ['candidates'], message: 'an item appears twice' });
  if (d.shown.length > d.k) ctx.addIssue({ code: 'custom', path: ['shown'], message: `more items shown (${d.shown.length}) than asked for (k = ${d.k})` });
  const shown = new Set<string>();
  d.shown.forEach((s, i) => {
    if (s.position !== i) ctx.addIssue({ code: 'custom', path: ['shown', i, 'position'], message: `positions must be 0, 1, 2… in order (got ${s.position} at index ${i})` });
    if (!candidates.has(s.item_id)) ctx.addIssue({ code: 'custom', path: ['shown', i, 'item_id'], message: 'a shown item must be one of the candidates' });
    if (shown.has(s.item_id)) ctx.addIssue({ code: 'custom', path: ['shown', i, 'item_id'], message: 'an item is shown twice' });
    shown.add(s.item_id);
  });
});

export type DecisionRecord = z.infer<typeof DecisionRecordSchema>;
export type DecisionCandidate = z.infer<typeof DecisionCandidateSchema>;
export type ShownItem = z.infer<typeof ShownItemSchema>;

export type DecisionParse = { ok: true; record: DecisionRecord } | { ok: false; reason: string };

/** Bytes or text → a valid DecisionRecord or the reason it is not one. Never throws. */
export function parseDecision(raw: Uint8Array | string, maxBytes = MAX_DECISION_BYTES): DecisionParse {
  const message = parseJsonMessage(raw, maxBytes);
  if (!message.ok) return message;
  const json = message.json;
  const result = DecisionRecordSchema.safeParse(json);
  if (!result.success) return { ok: false, reason: `invalid decision record: ${formatIssues(result.error).join('; ')}` };
  return { ok: true, record: result.data };
}

export type EncodedDecision = { ok: true; json: string; bytes: number } | { ok: false; reason: string; tooLarge: boolean };

/**
 * What a writer checks before a record leaves: the schema and size limit
 * ingestion applies (parseDecision), so a record that was served is never
 * dead-lettered afterwards. Returns the JSON to write.
 */
export function encodeDecision(record: DecisionRecord, maxBytes = MAX_DECISION_BYTES): EncodedDecision {
  const result = DecisionRecordSchema.safeParse(record);
  if (!result.success) return { ok: false, reason: `invalid decision record: ${formatIssues(result.error).join('; ')}`, tooLarge: false };
  const json = JSON.stringify(record);
  const bytes = Buffer.byteLength(json);
  if (bytes > maxBytes) return { ok: false, reason: `the decision record would be ${bytes} bytes, over the ${maxBytes}-byte limit`, tooLarge: true };
  return { ok: true, json, bytes };
}
