import assert from 'node:assert/strict';
import { BucketRouter } from '../../../../pipelines/ingest/bucket-router.js';
import { RecentIds } from '../../../../pipelines/ingest/recent-ids.js';

// Ids name their bucket: 'b1:x' is in bucket 1.
const bucketOf = (id: string) => Number(id.slice(1, id.indexOf(':')));

describe('BucketRouter', () => {
  it('gives each bucket only the records past its own watermark', () => {
    const router = new BucketRouter(bucketOf, [10, 12], undefined);
    router.next(11, undefined);
    assert.equal(router.target('user', 'b0:u'), router.ops[0]);
    assert.equal(router.target('item', 'b1:i'), undefined, 'bucket 1 holds offset 11 already');
    router.next(13, undefined);
    assert.equal(router.target('user', 'b1:u'), router.ops[1]);
  });

  it('skips a record whose id a bucket\'s window holds, in that bucket only, and says it was a duplicate', () => {
    const recent = [RecentIds.from(100, new Map([[5, ['e1']]])), RecentIds.from(100, new Map())];
    const router = new BucketRouter(bucketOf, [5, 5], recent);
    router.next(6, 'e1');
    assert.equal(router.target('user', 'b0:u'), undefined);
    assert.equal(router.target('item', 'b1:i'), router.ops[1], 'bucket 1 never took e1 (its writer died before it)');
    assert.equal(router.duplicate, true);
    assert.deepEqual(router.ids, [[], ['e1']]);
  });

  it('lets a record touch one bucket twice (user and item in the same bucket) and takes a repeat within the chunk once', () => {
    const router = new BucketRouter(bucketOf, [-1], [new RecentIds(100)]);
    router.next(0, 'e1');
    assert.equal(router.target('user', 'b0:u'), router.ops[0]);
    assert.equal(router.target('item', 'b0:i'), router.ops[0], 'the same record\'s second entity');
    assert.equal(router.duplicate, false);
    router.next(1, 'e1');
    assert.equal(router.target('user', 'b0:u'), undefined, 'the same id again, later in the chunk');
    assert.equal(router.duplicate, true);
    assert.deepEqual(router.ids, [['e1']]);
  });
});
