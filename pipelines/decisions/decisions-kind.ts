import type { IngestKind, TopicBinding } from '../ingest/ingest-kind.js';
import { parseDecision, type DecisionRecord } from './decision-record.js';
import { addDecisionRows } from './decision-rows.js';
import { loadDecisionSettings } from './decision-settings.js';

/**
 * Serving's decision records as an ingestion kind: validated by the decision
 * schema (bad ones → dead letters with the reason), written to the
 * `decisions` and `decision_items` tables; no online-store effect.
 */
export function decisionsKind(): IngestKind<DecisionRecord> {
  return {
    name: 'decisions',
    parse: (value) => parseDecision(value),
    addOffline: (rows, record, source) => addDecisionRows(rows, record, source),
    eventTime: (record) => record.ts,
  };
}

/**
 * The decisions topic (KAFKA_DECISIONS_TOPIC) bound to its kind, for `recsys
 * ingest`; none when INGEST_DECISIONS=0 (an ingest process for events only).
 */
export function decisionsTopicBindings(env: NodeJS.ProcessEnv = process.env): TopicBinding[] {
  if (env.INGEST_DECISIONS === '0') return [];
  const settings = loadDecisionSettings(env);
  return [{ topic: settings.decisionsTopic, kind: decisionsKind() as IngestKind, partitions: settings.decisionsPartitions }];
}
