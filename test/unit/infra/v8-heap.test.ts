import assert from 'node:assert/strict';
import path from 'node:path';
import { ValidationError } from '../../../infra/errors.js';
import { DEFAULT_HEAP_GROWING_PERCENT, heapGrowingPercentFromEnv } from '../../../infra/v8-heap.js';
import { runNode } from '../../helpers/run-node.js';

describe('the V8 heap growing setting', () => {
  it('reads RECSYS_HEAP_GROWING_PERCENT, 300 when unset, and refuses what is not an integer in [0, 1000]', () => {
    assert.equal(heapGrowingPercentFromEnv({}), DEFAULT_HEAP_GROWING_PERCENT);
    assert.equal(DEFAULT_HEAP_GROWING_PERCENT, 300);
    assert.equal(heapGrowingPercentFromEnv({ RECSYS_HEAP_GROWING_PERCENT: '0' }), 0);
    assert.equal(heapGrowingPercentFromEnv({ RECSYS_HEAP_GROWING_PERCENT: '150' }), 150);
    for (const bad of ['abc', '-1', '1.5', '2000']) {
      assert.throws(() => heapGrowingPercentFromEnv({ RECSYS_HEAP_GROWING_PERCENT: bad }), (e: unknown) => e instanceof ValidationError && e.message.includes('RECSYS_HEAP_GROWING_PERCENT'), bad);
    }
  });

  it('every recsys command reads it: a bad value stops the CLI with exit 2 and says why', async function () {
    this.timeout(60_000);
    const run = await runNode([path.join(import.meta.dirname, '../../../cli/recsys.ts'), 'models', 'list'], { env: { RECSYS_HEAP_GROWING_PERCENT: 'lots' } });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /RECSYS_HEAP_GROWING_PERCENT must be an integer from 0 to 1000/);
  });
});
