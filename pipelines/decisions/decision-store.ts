import { sqlNumber, sqlString } from '../../infra/clickhouse/escape.js';
import type { SqlClient } from '../../infra/clickhouse/sql-client.js';
import type { DecisionItemRow, DecisionRow } from './decision-rows.js';
import { DECISION_TABLES } from './decision-rows.js';

/** Reading decisions and their outcomes back from the offline store (always with FINAL: a replayed message is read once). */
export type StoredDecision = Omit<DecisionRow, 'kafka_partition' | 'kafka_offset'> & {
  /** Candidates in rank order. */
  items: Omit<DecisionItemRow, 'request_id' | 'ts' | 'user_id'>[];
};

export interface OutcomeRow {
  request_id: string;
  event_id: string;
  event_type: string;
  ts: number;
  user_id: string;
  item_id: string;
  label: number | null;
  value: number | null;
}

const DECISION_COLUMNS = 'request_id, client_request_id, ts, user_id, ranker_model, ranker_version, retrieval_model, retrieval_version, exploration, epsilon, temperature, k, candidates, shown, context, features, schema_version';

/** Decisions by request id, or in [from, to) by ts, with their candidate rows. */
export async function readDecisions(db: SqlClient, where: { requestIds: readonly string[] } | { from: number; to: number }): Promise<StoredDecision[]> {
  const filter = 'requestIds' in where
    ? `request_id IN (${where.requestIds.length > 0 ? where.requestIds.map(sqlString).join(', ') : "''"})`
    : `ts >= ${sqlNumber(where.from)} AND ts < ${sqlNumber(where.to)}`;
  const decisions = await db.query<StoredDecision>(`SELECT ${DECISION_COLUMNS} FROM ${DECISION_TABLES.decisions} FINAL WHERE ${filter} ORDER BY ts, request_id`);
  if (decisions.length === 0) return [];
  const items = await db.query<DecisionItemRow>(
    `SELECT request_id, item_id, candidate_rank, score, retrieval_score, position, propensity FROM ${DECISION_TABLES.items} FINAL WHERE ${filter} ORDER BY request_id, candidate_rank`,
  );
  const byRequest = new Map<string, StoredDecision['items']>();
  for (const { request_id, ...item } of items) {
    let list = byRequest.get(request_id);
    if (!list) byRequest.set(request_id, (list = []));
    delete (item as Partial<DecisionItemRow>).ts;
    delete (item as Partial<DecisionItemRow>).user_id;
    list.push(item);
  }
  return decisions.map((d) => ({ ...d, items: byRequest.get(d.request_id) ?? [] }));
}

/** Outcome events that reference the given requests. */
export async function readOutcomes(db: SqlClient, requestIds: readonly string[]): Promise<OutcomeRow[]> {
  if (requestIds.length === 0) return [];
  return db.query<OutcomeRow>(
    `SELECT request_id, event_id, event_type, ts, user_id, item_id, label, value FROM ${DECISION_TABLES.outcomes} FINAL WHERE request_id IN (${requestIds.map(sqlString).join(', ')}) ORDER BY ts, event_id`,
  );
}

/**
 * Shown items joined to their outcomes in one query (the shape the A/B replay
 * reads): one row per (decision, shown item, outcome event), the outcome
 * columns empty when the item had none.
 */
export async function shownWithOutcomes(db: SqlClient, from: number, to: number): Promise<{ request_id: string; item_id: string; position: number; propensity: number; score: number; event_type: string; label: number | null }[]> {
  return db.query(
    `SELECT request_id, item_id, position, propensity, score, event_type, label
     FROM (SELECT request_id, item_id, position, propensity, score FROM ${DECISION_TABLES.items} FINAL WHERE ts >= ${sqlNumber(from)} AND ts < ${sqlNumber(to)} AND position >= 0)
     ALL LEFT JOIN (SELECT request_id, item_id, event_type, label FROM ${DECISION_TABLES.outcomes} FINAL)
     USING (request_id, item_id)
     ORDER BY request_id, position`,
  );
}
