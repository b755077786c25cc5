import assert from 'node:assert/strict';
import { ValidationError } from '../../../../infra/errors.js';
import { LineProblems } from '../../../../features/files/line-problems.js';

describe('LineProblems', () => {
  it('counts every refused line and names the first ten', () => {
    const problems = new LineProblems('data.csv');
    for (let line = 2; line < 14; line++) problems.add(line, `bad ${line}`);
    assert.throws(() => problems.throwIfAny('invalid rows'), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.ok(error.message.startsWith('data.csv has 12 invalid rows (first 10 shown): line 2: bad 2; '), error.message);
      assert.deepEqual(error.issues, Array.from({ length: 10 }, (_, i) => `line ${i + 2}: bad ${i + 2}`));
      return true;
    });
  });

  it('does nothing when no line was refused', () => {
    assert.doesNotThrow(() => new LineProblems('data.csv').throwIfAny('invalid rows'));
  });
});
