import type { SourcePosition, TableRows } from '../ingest/offline-rows.js';
import { pushRow } from '../ingest/offline-rows.js';
import type { DecisionRecord } from './decision-record.js';

/**
 * Decision records ↔ rows of the offline store (infra/migrations/0004, 0006, 0008): one
 * `decisions` row per record and one `decision_items` row per candidate
 * (its rank by score, model score, retrieval score, and, when it was shown,
 * its position and propensity). Every column is a scalar, so the rows go
 * through ingestion's TabSeparated inserts like any other table.
 */
export const DECISION_TABLES = { decisions: 'decisions', items: 'decision_items', outcomes: 'outcomes' } as const;

export interface DecisionRow {
  request_id: string;
  /** The caller's x-request-id; '' when it sent none. */
  client_request_id: string;
  ts: number;
  user_id: string;
  ranker_model: string;
  ranker_version: number;
  retrieval_model: string;
  retrieval_version: number;
  exploration: string;
  epsilon: number;
  temperature: number;
  k: number;
  candidates: number;
  shown: number;
  context: string;
  /** JSON of the record's `features`; '' when it has none. */
  features: string;
  schema_version: number;
  kafka_partition: number;
  kafka_offset: number;
}

export interface DecisionItemRow {
  request_id: string;
  ts: number;
  user_id: string;
  item_id: string;
  /** 0-based rank among the candidates (by model score, as logged). */
  candidate_rank: number;
  score: number;
  retrieval_score: number | null;
  /** 0-based position in the shown list; -1 when not shown. */
  position: number;
  /** 0 when not shown. */
  propensity: number;
}

const NO_SOURCE: SourcePosition = { partition: -1, offset: -1 };

export function decisionRow(d: DecisionRecord, source: SourcePosition = NO_SOURCE): DecisionRow {
  return {
    request_id: d.request_id,
    client_request_id: d.client_request_id ?? '',
    ts: d.ts,
    user_id: d.user_id,
    ranker_model: d.models.ranker.name,
    ranker_version: d.models.ranker.version,
    retrieval_model: d.models.retrieval?.name ?? '',
    retrieval_version: d.models.retrieval?.version ?? 0,
    exploration: d.exploration.scheme,
    epsilon: d.exploration.scheme === 'epsilon-greedy' ? d.exploration.epsilon : 0,
    temperature: d.exploration.scheme === 'softmax' ? d.exploration.temperature : 0,
    k: d.k,
    candidates: d.candidates.length,
    shown: d.shown.length,
    context: d.context === undefined ? '' : JSON.stringify(d.context),
    features: d.features === undefined ? '' : JSON.stringify(d.features),
    schema_version: d.schema_version,
    kafka_partition: source.partition,
    kafka_offset: source.offset,
  };
}

export function decisionItemRows(d: DecisionRecord): DecisionItemRow[] {
  const shown = new Map(d.shown.map((s) => [s.item_id, s]));
  return d.candidates.map((c, rank) => {
    const s = shown.get(c.item_id);
    return {
      request_id: d.request_id, ts: d.ts, user_id: d.user_id, item_id: c.item_id, candidate_rank: rank,
      score: c.score, retrieval_score: c.retrieval_score, position: s?.position ?? -1, propensity: s?.propensity ?? 0,
    };
  });
}

/** Adds one record's rows to a flush. */
export function addDecisionRows(rows: TableRows, d: DecisionRecord, source: SourcePosition): void {
  pushRow(rows, DECISION_TABLES.decisions, decisionRow(d, source) as unknown as Record<string, unknown>);
  for (const item of decisionItemRows(d)) pushRow(rows, DECISION_TABLES.items, item as unknown as Record<string, unknown>);
}
