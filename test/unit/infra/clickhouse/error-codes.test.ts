import assert from 'node:assert/strict';
import { clickHouseErrorCode, isRetriableClickHouseError } from '../../../../infra/clickhouse/error-codes.js';

describe('ClickHouse error classification', () => {
  it('retries an insert whose shard replica died mid-statement (a Distributed table on a cluster)', () => {
    // Verbatim from 18.16 in test/cluster/clickhouse/replica-fault.test.ts, after kill -9 of node 4.
    const error = new Error(
      'Code: 32, e.displayText() = DB::Exception: Attempt to read after eof: while receiving packet from 127.0.0.1:19003: Insertion status:\n' +
        'Wrote 1 blocks and 2549 rows on shard 0 replica 0, 127.0.0.1:19000 (average 0 ms per block)\n, e.what() = DB::Exception\n',
    );
    assert.equal(clickHouseErrorCode(error), 32);
    assert.equal(isRetriableClickHouseError(error), true);
  });

  it('retries when every replica of a shard is unreachable', () => {
    assert.equal(isRetriableClickHouseError(new Error('Code: 279, e.displayText() = DB::Exception: All connection tries failed. Log: ...')), true);
  });

  it('does not retry the same code when it is a parse error of the data itself', () => {
    const error = new Error('Code: 32, e.displayText() = DB::Exception: Attempt to read after eof: Cannot parse Int32 from String, because value is too short, e.what() = DB::Exception');
    assert.equal(isRetriableClickHouseError(error), false);
  });
});
