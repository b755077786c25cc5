import assert from 'node:assert/strict';
import { backoffDelay, retry } from '../../../infra/retry.js';
import { NonRetriableError, RetriesExhaustedError } from '../../../infra/errors.js';

describe('retry', () => {
  it('grows the delay geometrically up to the cap, within the jitter band', () => {
    const opts = { initialDelayMs: 100, factor: 2, maxDelayMs: 1000, jitter: 0.2 };
    assert.equal(backoffDelay(0, opts, () => 0.5), 100);
    assert.equal(backoffDelay(3, opts, () => 0.5), 800);
    assert.equal(backoffDelay(10, opts, () => 0.5), 1000);
    assert.equal(backoffDelay(1, opts, () => 0), 160);
    assert.equal(backoffDelay(1, opts, () => 1), 240);
  });

  it('retries transient failures and returns the first success', async () => {
    const seen: number[] = [];
    const value = await retry(async (attempt) => {
      seen.push(attempt);
      if (attempt < 2) throw new Error('connection reset');
      return 'ok';
    }, { initialDelayMs: 1 });
    assert.equal(value, 'ok');
    assert.deepEqual(seen, [0, 1, 2]);
  });

  it('does not retry a non-retriable error', async () => {
    let calls = 0;
    await assert.rejects(retry(async () => { calls++; throw new NonRetriableError('bad schema'); }), /bad schema/);
    assert.equal(calls, 1);
  });

  it('gives up after the retry budget, keeping the last cause', async () => {
    let calls = 0;
    const error = await retry(async () => { calls++; throw new Error(`down ${calls}`); }, { retries: 2, initialDelayMs: 1 }).catch((e: unknown) => e);
    assert.ok(error instanceof RetriesExhaustedError);
    assert.equal(calls, 3);
    assert.equal((error.cause as Error).message, 'down 3');
    assert.equal(error.retriable, false);
  });

  it('tries again exactly the errors a given predicate accepts, whatever the default says', async () => {
    // The default retries a plain Error and refuses a NonRetriableError; the predicate turns both around.
    const retriable = (error: unknown) => error instanceof NonRetriableError;
    let calls = 0;
    const value = await retry(async () => {
      if (++calls < 3) throw new NonRetriableError('not hosted yet');
      return calls;
    }, { retriable, initialDelayMs: 1 });
    assert.equal(value, 3);
    calls = 0;
    await assert.rejects(retry(async () => { calls++; throw new Error('connection reset'); }, { retriable, initialDelayMs: 1 }), /connection reset/);
    assert.equal(calls, 1);
  });
});
