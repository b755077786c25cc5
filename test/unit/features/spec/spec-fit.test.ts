import assert from 'node:assert/strict';
import { parseFeatureSpec } from '../../../../features/spec/feature-spec.js';
import { FeatureEncoder } from '../../../../features/spec/feature-encoder.js';
import { coverageProblems, fieldCoverage } from '../../../../features/spec/field-coverage.js';
import type { Example } from '../../../../features/samples/example.js';
import { checkModelSpec } from '../../../../models/create-model.js';
import { ValidationError } from '../../../../infra/errors.js';

const example = (context: Record<string, string>, user = 'u1'): Example => ({
  event: { schema_version: 1, event_id: 'e', type: 'impression', user_id: user, item_id: 'i1', ts: 1, label: 1, context },
  label: 1, user: {}, item: {}, history: [], itemAttributes: () => ({}),
});

describe('feature specs that fit the data', () => {
  it('label, exampleTypes and behaviour may be left out when no field needs them', () => {
    const spec = parseFeatureSpec({ name: 's', version: 1, fields: [{ kind: 'categorical', name: 'daytime', source: 'context.daytime' }] });
    assert.deepEqual(spec.label, { from: 'label' });
    assert.deepEqual(spec.exampleTypes, ['impression']);
    assert.equal(spec.behaviour.maxLength, 50);
  });

  it('a sequence field without a behaviour section is refused, saying what to add', () => {
    assert.throws(() => parseFeatureSpec({
      name: 's', version: 1,
      fields: [{ kind: 'categorical', name: 'item_id', source: 'item_id' }, { kind: 'sequence', name: 'hist', of: 'item_id', maxLength: 5 }],
    }), /sequence field hist needs a "behaviour" section/);
  });

  it('DIN on a spec without a sequence field is refused with what DIN needs; LR and DNN are not', () => {
    const spec = parseFeatureSpec({ name: 'flat', version: 1, fields: [{ kind: 'categorical', name: 'user_id', source: 'user_id' }] });
    assert.throws(() => checkModelSpec('din', spec), (e: unknown) => e instanceof ValidationError && /DIN attends over the user's behaviour sequence, and feature spec flat has none: add a field \{"kind": "sequence"/.test(e.message));
    checkModelSpec('lr', spec);
    checkModelSpec('dnn', spec);
  });

  it('an empty vocabulary (a typo in the source) and a mostly missing field are reported with their sources', () => {
    const spec = parseFeatureSpec({
      name: 's', version: 1,
      fields: [
        { kind: 'categorical', name: 'daytime', source: 'context.day_time' },
        { kind: 'categorical', name: 'device', source: 'context.device' },
        { kind: 'categorical', name: 'user_id', source: 'user_id' },
      ],
    });
    const examples = [example({ daytime: 'am', device: 'ios' }), example({ daytime: 'pm' }, 'u2'), example({ daytime: 'pm' }, 'u3')];
    const encoder = FeatureEncoder.fit(spec, examples);
    const coverage = fieldCoverage(encoder, encoder.encode(examples));
    assert.deepEqual(coverage.map((c) => [c.field, c.vocabulary, Number(c.missingShare.toFixed(3))]), [['daytime', 0, 1], ['device', 1, 0.667], ['user_id', 3, 0]]);
    const problems = coverageProblems(coverage, 0.5);
    assert.equal(problems.length, 2);
    assert.match(problems[0]!, /field daytime has an empty vocabulary: no training example has a value for context\.day_time/);
    assert.match(problems[1]!, /field device \(context\.device\) is missing or unknown in 66\.7% of training examples \(more than 50%\)/);
    assert.deepEqual(coverageProblems(coverage, 0.7).length, 1);
  });
});
