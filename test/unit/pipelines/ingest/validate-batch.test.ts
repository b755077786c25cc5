import assert from 'node:assert/strict';
import type { KafkaMessage } from 'kafkajs';
import { validateBatch } from '../../../../pipelines/ingest/validate-batch.js';
import { eventsKind } from '../../../../pipelines/ingest/events-kind.js';
import { onlineSpecFrom } from '../../../../pipelines/online-store/online-ops.js';
import { loadFeatureSpec } from '../../../../features/spec/feature-spec.js';
import { DEFAULT_FEATURES_FILE } from '../../../../pipelines/ingest/ingest-config.js';
import { BAD_INPUTS } from './bad-inputs.js';

const kind = eventsKind(onlineSpecFrom(loadFeatureSpec(DEFAULT_FEATURES_FILE)));
const message = (offset: number, value: Buffer | null): KafkaMessage =>
  ({ offset: String(offset), value, key: null, timestamp: '1704067200000', attributes: 0, headers: {} }) as KafkaMessage;

describe('validateBatch (dead-letter classification)', () => {
  it(`dead-letters each of ${BAD_INPUTS.length} kinds of malformed event with its reason, keeping the good ones around them`, () => {
    assert.ok(BAD_INPUTS.length >= 50, `${BAD_INPUTS.length} kinds`);
    assert.equal(new Set(BAD_INPUTS.map((b) => b.name)).size, BAD_INPUTS.length, 'names are unique');
    const messages: KafkaMessage[] = [];
    let offset = 100;
    BAD_INPUTS.forEach((bad, i) => {
      messages.push(message(offset++, Buffer.from(JSON.stringify({ schema_version: 1, type: 'click', event_id: `good-${i}`, ts: 1_704_067_200_000 + i, user_id: 'u', item_id: 'i' }))));
      messages.push(message(offset++, bad.value));
    });
    const batch = validateBatch(kind, 't', 3, messages, offset - 1);
    assert.equal(batch.valid.length, BAD_INPUTS.length);
    assert.equal(batch.dead.length, BAD_INPUTS.length);
    assert.deepEqual(batch.valid.map((v) => v.offset), BAD_INPUTS.map((_, i) => 100 + 2 * i));
    BAD_INPUTS.forEach((bad, i) => {
      const dead = batch.dead[i]!;
      assert.equal(dead.offset, 101 + 2 * i, bad.name);
      assert.match(dead.reason, bad.reason, `${bad.name}: ${dead.reason}`);
      assert.equal(dead.value, bad.value, `${bad.name}: original bytes kept`);
    });
    assert.equal(batch.firstOffset, 100);
    assert.equal(batch.lastOffset, offset - 1);
  });

  it('dead-letters instead of crashing when a validator throws', () => {
    const throwing = { ...kind, parse: () => { throw new Error('boom'); } };
    const batch = validateBatch(throwing, 't', 0, [message(0, Buffer.from('{}'))], 0);
    assert.match(batch.dead[0]!.reason, /validator failed: boom/);
  });
});
