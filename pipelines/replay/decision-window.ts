import { sqlNumber } from '../../infra/clickhouse/escape.js';
import type { SqlClient } from '../../infra/clickhouse/sql-client.js';
import { readDecisions, type OutcomeRow, type StoredDecision } from '../decisions/decision-store.js';
import { DECISION_TABLES } from '../decisions/decision-rows.js';
import type { LoggedDecision } from './estimators/logged-decision.js';

/**
 * The logged decisions of a window with their rewards, streamed from the
 * offline store one slice of decision time at a time (decisions, candidates
 * and outcomes joined by request_id), in (ts, request_id) order, each once
 * (FINAL). Only what the decision store reads is used, plus two counts.
 */
export interface WindowCounts {
  decisions: number;
  impressions: number;
}

export async function countWindow(db: SqlClient, from: number, to: number): Promise<WindowCounts> {
  const [row] = await db.query<{ decisions: number; impressions: number }>(
    `SELECT count() AS decisions, sum(shown) AS impressions FROM ${DECISION_TABLES.decisions} FINAL WHERE ts >= ${sqlNumber(from)} AND ts < ${sqlNumber(to)}`,
  );
  return { decisions: Number(row?.decisions ?? 0), impressions: Number(row?.impressions ?? 0) };
}

/** 1 when an outcome of that request and item is a click or carries label 1. */
export function rewardsByRequest(outcomes: readonly OutcomeRow[]): Map<string, Set<string>> {
  const clicked = new Map<string, Set<string>>();
  for (const o of outcomes) {
    if (!(o.event_type === 'click' || Number(o.label) === 1)) continue;
    let items = clicked.get(o.request_id);
    if (!items) clicked.set(o.request_id, (items = new Set()));
    items.add(o.item_id);
  }
  return clicked;
}

export function toLoggedDecision(d: StoredDecision, clicked: ReadonlySet<string> | undefined): LoggedDecision {
  const items = [...d.items].sort((x, y) => x.candidate_rank - y.candidate_rank);
  const shown = items
    .map((item, index) => ({ item, index }))
    .filter(({ item }) => Number(item.position) >= 0)
    .sort((x, y) => x.item.position - y.item.position)
    .map(({ item, index }) => ({ index, propensity: Number(item.propensity), reward: clicked?.has(item.item_id) ? 1 : 0 }));
  const decision: LoggedDecision = {
    requestId: d.request_id,
    userId: d.user_id,
    ts: Number(d.ts),
    candidates: items.map((i) => i.item_id),
    loggedScores: Float32Array.from(items, (i) => Number(i.score)),
    ranker: { model: d.ranker_model, version: Number(d.ranker_version) },
    shown,
  };
  const logging = loggingPolicyOf(d);
  if (logging) decision.logging = logging;
  if (d.context) decision.context = JSON.parse(d.context) as Record<string, unknown>;
  if (d.features) decision.served = JSON.parse(d.features) as NonNullable<LoggedDecision['served']>;
  return decision;
}

function loggingPolicyOf(d: StoredDecision): LoggedDecision['logging'] {
  switch (d.exploration) {
    case 'none': return { scheme: 'none' };
    case 'epsilon-greedy': return { scheme: 'epsilon-greedy', epsilon: Number(d.epsilon) };
    case 'softmax': return { scheme: 'softmax', temperature: Number(d.temperature) };
    default: return undefined;
  }
}

/**
 * Outcomes of the decisions made in [from, to), selected by a subquery rather
 * than a list of request ids (a slice's ids would exceed the server's query size).
 * GLOBAL: on a cluster both tables are Distributed, and ClickHouse refuses a
 * plain IN of one Distributed table inside a query of another (error 288);
 * GLOBAL runs the subquery once and ships its ids to every shard. On one
 * server it is the plain IN.
 */
export async function outcomesOfDecisions(db: SqlClient, from: number, to: number): Promise<OutcomeRow[]> {
  return db.query<OutcomeRow>(
    `SELECT request_id, event_id, event_type, ts, user_id, item_id, label, value FROM ${DECISION_TABLES.outcomes} FINAL
     WHERE request_id GLOBAL IN (SELECT request_id FROM ${DECISION_TABLES.decisions} WHERE ts >= ${sqlNumber(from)} AND ts < ${sqlNumber(to)})
     ORDER BY request_id, item_id, event_id`,
  );
}

/** Slices of `sliceMs` decision time, each read in three queries (decisions, their candidates, their outcomes). */
export async function* streamWindow(db: SqlClient, from: number, to: number, sliceMs = 3_600_000): AsyncGenerator<LoggedDecision[]> {
  for (let start = from; start < to; start += sliceMs) {
    const end = Math.min(to, start + sliceMs);
    const decisions = await readDecisions(db, { from: start, to: end });
    if (decisions.length === 0) continue;
    const clicked = rewardsByRequest(await outcomesOfDecisions(db, start, end));
    yield decisions.map((d) => toLoggedDecision(d, clicked.get(d.request_id)));
  }
}
