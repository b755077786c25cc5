import assert from 'node:assert/strict';
import type { KafkaMessage } from 'kafkajs';
import { parseDecision, type DecisionRecord } from '../../../../pipelines/decisions/decision-record.js';
import { DECISION_TABLES, decisionItemRows, decisionRow } from '../../../../pipelines/decisions/decision-rows.js';
import { decisionsKind } from '../../../../pipelines/decisions/decisions-kind.js';
import { loadDecisionSettings } from '../../../../pipelines/decisions/decision-settings.js';
import { validateBatch } from '../../../../pipelines/ingest/validate-batch.js';
import type { TableRows } from '../../../../pipelines/ingest/offline-rows.js';
import { BAD_DECISIONS, sampleDecision } from './decision-fixtures.js';

describe('decision records', () => {
  it('a valid record parses (schema_version filled in)', () => {
    const { schema_version: _, ...withoutVersion } = sampleDecision();
    const parsed = parseDecision(JSON.stringify(withoutVersion));
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
    assert.deepEqual(parsed.record, sampleDecision());
  });

  for (const bad of BAD_DECISIONS) {
    it(`refuses ${bad.name} with the reason`, () => {
      const parsed = parseDecision(bad.value);
      assert.equal(parsed.ok, false);
      if (!parsed.ok) assert.match(parsed.reason, bad.reason);
    });
  }

  it('maps to one decisions row and one decision_items row per candidate', () => {
    const d = sampleDecision();
    const row = decisionRow(d, { partition: 2, offset: 17 });
    assert.deepEqual(
      [row.request_id, row.ranker_model, row.ranker_version, row.retrieval_model, row.exploration, row.epsilon, row.candidates, row.shown, row.kafka_offset, row.context],
      ['req-1', 'din', 3, 'lightgcn', 'epsilon-greedy', 0.2, 4, 2, 17, '{"device":"mobile"}'],
    );
    const items = decisionItemRows(d);
    assert.deepEqual(items.map((i) => [i.item_id, i.candidate_rank, i.position, i.propensity]), [
      ['i9', 0, 0, 0.85], ['i4', 1, -1, 0], ["it's\\odd\tid", 2, 1, 0.2 / 3], ['i1', 3, -1, 0],
    ]);
    assert.equal(items[2]!.retrieval_score, null);
  });

  it('ingestion: valid records become rows, bad ones dead letters with the reason', () => {
    const kind = decisionsKind();
    const messages = [sampleDecision(), sampleDecision({ request_id: 'req-2', exploration: { scheme: 'none' }, shown: [] })]
      .map((d): Buffer => Buffer.from(JSON.stringify(d)))
      .concat(BAD_DECISIONS.map((b) => b.value))
      .map((value, i) => ({ offset: String(i), timestamp: '1704067200000', key: null, value, headers: {}, attributes: 0 }) as unknown as KafkaMessage);
    const batch = validateBatch(kind, 'recsys.decisions', 0, messages, messages.length - 1);
    assert.equal(batch.valid.length, 2);
    assert.equal(batch.dead.length, BAD_DECISIONS.length);
    batch.dead.forEach((d, i) => assert.match(d.reason, BAD_DECISIONS[i]!.reason));
    assert.ok(batch.dead.every((d) => d.kind === 'decisions'));
    const rows: TableRows = new Map();
    for (const v of batch.valid) kind.addOffline(rows, v.record as DecisionRecord, { partition: 0, offset: v.offset });
    assert.equal(rows.get(DECISION_TABLES.decisions)!.length, 2);
    assert.equal(rows.get(DECISION_TABLES.items)!.length, 8);
    assert.equal(kind.addOnline, undefined);
  });

  it('topic settings come from env with defaults', () => {
    assert.deepEqual(loadDecisionSettings({}), { decisionsTopic: 'recsys.decisions', decisionsPartitions: 4 });
    assert.deepEqual(loadDecisionSettings({ KAFKA_DECISIONS_TOPIC: 't.x', KAFKA_DECISIONS_PARTITIONS: '2' }), { decisionsTopic: 't.x', decisionsPartitions: 2 });
    assert.throws(() => loadDecisionSettings({ KAFKA_DECISIONS_TOPIC: 'bad topic' }), /KAFKA_DECISIONS_TOPIC/);
  });
});
