import type { AttributeMap } from '../features/events/event-schema.js';
import type { DecisionCandidate, DecisionRecord, Exploration } from '../pipelines/decisions/decision-record.js';
import { DECISION_SCHEMA_VERSION } from '../pipelines/decisions/decision-record.js';
import type { Placement } from './exploration.js';

export interface ShownItem {
  item_id: string;
  score: number;
  position: number;
  propensity: number;
}

export interface DecisionInput {
  requestId: string;
  /** The caller's x-request-id, kept as a trace field. */
  clientRequestId?: string | undefined;
  userId: string;
  ts: number;
  models: DecisionRecord['models'];
  exploration: Exploration;
  k: number;
  /** Every candidate, best first. */
  ranked: readonly DecisionCandidate[];
  /** What explore() picked, by index into `ranked`. */
  placements: readonly Placement[];
  context?: AttributeMap | undefined;
  /** What the ranker was given on the user's side (see DecisionRecord.features). */
  features?: DecisionRecord['features'];
}

/** The shown list and the decision record of one /v1/recommend response (the record is checked by the caller before it is written). */
export function buildDecision(d: DecisionInput): { items: ShownItem[]; record: DecisionRecord } {
  const items = d.placements.map((p, position) => ({ item_id: d.ranked[p.index]!.item_id, score: d.ranked[p.index]!.score, position, propensity: p.propensity }));
  const record: DecisionRecord = {
    schema_version: DECISION_SCHEMA_VERSION,
    request_id: d.requestId,
    ...(d.clientRequestId ? { client_request_id: d.clientRequestId } : {}),
    user_id: d.userId,
    ts: d.ts,
    models: d.models,
    exploration: d.exploration,
    k: d.k,
    candidates: [...d.ranked],
    shown: items,
    ...(d.context ? { context: d.context } : {}),
    ...(d.features ? { features: d.features } : {}),
  };
  return { items, record };
}
