import type { DecisionRecord } from '../../../../pipelines/decisions/decision-record.js';

/** A valid decision record: 4 candidates, 2 shown with epsilon-greedy propensities. */
export function sampleDecision(over: Partial<DecisionRecord> = {}): DecisionRecord {
  return {
    schema_version: 1,
    request_id: 'req-1',
    user_id: 'u1',
    ts: 1_704_067_200_000,
    models: { ranker: { name: 'din', version: 3 }, retrieval: { name: 'lightgcn', version: 2 } },
    exploration: { scheme: 'epsilon-greedy', epsilon: 0.2 },
    k: 2,
    candidates: [
      { item_id: 'i9', score: 0.8, retrieval_score: 2.5 },
      { item_id: 'i4', score: 0.6, retrieval_score: 3.1 },
      { item_id: "it's\\odd\tid", score: 0.3, retrieval_score: null },
      { item_id: 'i1', score: 0.1, retrieval_score: 1.2 },
    ],
    shown: [
      { item_id: 'i9', position: 0, score: 0.8, propensity: 0.85 },
      { item_id: "it's\\odd\tid", position: 1, score: 0.3, propensity: 0.2 / 3 },
    ],
    context: { device: 'mobile' },
    ...over,
  };
}

const json = (o: unknown) => Buffer.from(JSON.stringify(o));
const base = sampleDecision();

/** Malformed decision messages with the reason ingestion must give. */
export const BAD_DECISIONS: { name: string; value: Buffer; reason: RegExp }[] = [
  { name: 'truncated JSON', value: Buffer.from('{"request_id":'), reason: /malformed JSON/ },
  { name: 'JSON array', value: Buffer.from('[]'), reason: /not a JSON object/ },
  { name: 'invalid UTF-8', value: Buffer.from([0x7b, 0xff, 0x7d]), reason: /not valid UTF-8/ },
  { name: 'missing request_id', value: json({ ...base, request_id: undefined }), reason: /request_id: Required/ },
  { name: 'ts in seconds', value: json({ ...base, ts: 1_704_067_200 }), reason: /ts: epoch milliseconds, not seconds/ },
  { name: 'unknown field', value: json({ ...base, extra: 1 }), reason: /Unrecognized key/ },
  { name: 'unknown exploration', value: json({ ...base, exploration: { scheme: 'ucb' } }), reason: /exploration/ },
  { name: 'propensity 0', value: json({ ...base, shown: [{ ...base.shown[0]!, propensity: 0 }] }), reason: /propensity > 0/ },
  { name: 'propensity > 1', value: json({ ...base, shown: [{ ...base.shown[0]!, propensity: 1.5 }] }), reason: /propensity/ },
  { name: 'shown item not a candidate', value: json({ ...base, shown: [{ ...base.shown[0]!, item_id: 'zz' }] }), reason: /must be one of the candidates/ },
  { name: 'positions out of order', value: json({ ...base, shown: [{ ...base.shown[1]!, position: 1 }, { ...base.shown[0]!, position: 0 }] }), reason: /positions must be 0, 1, 2/ },
  { name: 'more shown than k', value: json({ ...base, k: 1 }), reason: /more items shown/ },
  { name: 'duplicate candidate', value: json({ ...base, candidates: [...base.candidates, base.candidates[0]] }), reason: /appears twice/ },
  { name: 'oversized', value: Buffer.alloc(1024 * 1024 + 1, 0x20), reason: /oversized/ },
];
