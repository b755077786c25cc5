import assert from 'node:assert/strict';
import { ValidationError } from '../../../../infra/errors.js';
import { checkWindowTime } from '../../../../pipelines/replay/replay-checks.js';
import { parseReplaySpec } from '../../../../pipelines/replay/replay-spec.js';

const DAY = 86_400_000;
const models = { a: { model: 'din', version: 1 }, b: { model: 'din', version: 2 } };
const refused = (input: Record<string, unknown>, message: RegExp) => assert.throws(() => parseReplaySpec({ ...models, ...input }), (e: unknown) => e instanceof ValidationError && message.test(e.message));

/** A replay window is read one hour at a time: a window of decades (seconds typed for milliseconds, a typo) would hold a worker for days. */
describe('replay windows within sane bounds', () => {
  const now = Date.UTC(2026, 11, 3);

  it('refuses seconds typed for milliseconds, with the flag named', () => {
    refused({ from: Math.floor(now / 1000) - 3600, to: now }, /from: --from is before 2001-09-09 in epoch milliseconds: give milliseconds \(13 digits\), not seconds/);
    refused({ from: now - DAY, to: Math.floor(now / 1000) }, /to: --to is before 2001-09-09/);
  });

  it('refuses a window longer than 92 days, a history longer than 92 days and times past 2100', () => {
    refused({ from: now - 400 * DAY, to: now }, /the window .* is longer than 92 days: replay it in parts/);
    refused({ from: now - DAY, to: now, historyMs: 365 * DAY }, /--history-days is at most 92/);
    refused({ from: now - DAY, to: 1e17 }, /--to is after 2100-01-01/);
    assert.equal(parseReplaySpec({ ...models, from: now - 92 * DAY, to: now }).to, now, '92 days is allowed');
  });

  it('refuses at submit a window that ends more than an hour after now', () => {
    assert.throws(() => checkWindowTime({ to: now + 2 * 3_600_000 }, now), /--to \(2026-12-03T02:00:00.000Z\) is in the future/);
    assert.doesNotThrow(() => checkWindowTime({ to: now + 1 }, now));
  });
});
