import assert from 'node:assert/strict';
import { ValidationError } from '../../../infra/errors.js';
import { loadServeSettings } from '../../../serving/serve-config.js';

describe('serving settings', () => {
  it('let the heap grow 4× its live size before a full GC unless told otherwise (flag over env over default)', () => {
    assert.equal(loadServeSettings({}).heapGrowingPercent, 300);
    assert.equal(loadServeSettings({ RECSYS_HEAP_GROWING_PERCENT: '0' }).heapGrowingPercent, 0);
    assert.equal(loadServeSettings({ RECSYS_HEAP_GROWING_PERCENT: '0' }, { heapGrowingPercent: 150 }).heapGrowingPercent, 150);
  });

  it('refuse a negative or fractional growth with the setting named', () => {
    for (const value of ['-1', '2.5', 'lots']) {
      assert.throws(() => loadServeSettings({ RECSYS_HEAP_GROWING_PERCENT: value }), (error: unknown) =>
        error instanceof ValidationError && error.message.includes('heapGrowingPercent'));
    }
  });
});
