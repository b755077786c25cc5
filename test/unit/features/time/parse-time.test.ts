import assert from 'node:assert/strict';
import { parseTimestamp } from '../../../../features/time/parse-time.js';

describe('parseTimestamp', () => {
  it('reads epoch seconds and epoch ms, as numbers or text', () => {
    assert.equal(parseTimestamp(1_700_000_000), 1_700_000_000_000);
    assert.equal(parseTimestamp('1700000000.5'), 1_700_000_000_500);
    assert.equal(parseTimestamp(1_700_000_000_123), 1_700_000_000_123);
    assert.equal(parseTimestamp(' 1700000000123 '), 1_700_000_000_123);
  });

  it('reads ISO-8601 dates and refuses anything else', () => {
    assert.equal(parseTimestamp('2024-01-02T00:00:00Z'), Date.UTC(2024, 0, 2));
    assert.equal(parseTimestamp('2024-01-02'), Date.UTC(2024, 0, 2));
    for (const bad of ['', 'yesterday', 'Jan 2 2024', '-5', NaN, Infinity]) assert.equal(parseTimestamp(bad), undefined, String(bad));
  });
});
