import assert from 'node:assert/strict';
import { MemoryDecisionSink } from '../../../../pipelines/decisions/decision-sink.js';
import { sampleDecision } from './decision-fixtures.js';

describe('in-memory decision sink', () => {
  it('is bounded: keeps the newest maxRecords (default 10,000) and counts what it dropped', async () => {
    const sink = new MemoryDecisionSink();
    for (let i = 0; i < 25_000; i++) await sink.write(sampleDecision({ request_id: `r${i}` }));
    assert.equal(sink.records.length, 10_000);
    assert.equal(sink.dropped, 15_000);
    assert.equal(sink.records[0]!.request_id, 'r15000');
    assert.equal(sink.records.at(-1)!.request_id, 'r24999');

    const small = new MemoryDecisionSink({ maxRecords: 3 });
    for (let i = 0; i < 5; i++) await small.write(sampleDecision({ request_id: `s${i}` }));
    assert.deepEqual(small.records.map((r) => r.request_id), ['s2', 's3', 's4']);
    assert.throws(() => new MemoryDecisionSink({ maxRecords: 0 }), /maxRecords must be a positive integer \(got 0\)/);
  });
});
