import assert from 'node:assert/strict';
import { RecsysError } from '../../../../infra/errors.js';
import { IngestPipeline } from '../../../../pipelines/ingest/ingest-pipeline.js';
import { MemoryOnlineStore } from '../../../../pipelines/online-store/memory-online-store.js';
import type { PartitionChunk } from '../../../../pipelines/online-store/redis-online-store.js';
import { waitFor } from '../../../helpers/wait-for.js';
import { batch, event, fakes, spec } from './pipeline-fakes.js';

describe('IngestPipeline', () => {
  it('commits a flush only after both stores hold it', async () => {
    const f = fakes();
    const flushed: number[] = [];
    const pipeline = new IngestPipeline(f.sinks, { onFatal: (e) => assert.fail(String(e)), onFlushed: (x) => flushed.push(x.messages), chunkSize: 4 });
    await pipeline.submit(batch(0, 0, 10), async () => {});
    await pipeline.submit(batch(1, 0, 5), async () => {});
    await waitFor(() => !(flushed.reduce((a, b) => a + b, 0) < 15), { what: 'flushed.reduce((a, b) => a + b, 0) < 15 to end', timeoutMs: 10_000, intervalMs: 5 });
    await pipeline.stop();
    assert.equal(f.rows.length, 15);
    const commitAt = f.log.indexOf('commit');
    assert.ok(f.log.slice(0, commitAt).some((l) => l.startsWith('insert')) && f.log.slice(0, commitAt).some((l) => l.startsWith('redis')), f.log.join(', '));
    assert.deepEqual(f.commits.flat().sort((a, b) => a.partition - b.partition), [{ topic: 't', partition: 0, offset: '10' }, { topic: 't', partition: 1, offset: '5' }]);
  });

  it('writes flushes concurrently but applies each partition in offset order and commits in flush order', async () => {
    const f = fakes();
    // The first flush's insert is slow, so later flushes finish their writes first.
    let inserts = 0;
    const insert = f.sinks.clickhouse.insert;
    f.sinks.clickhouse.insert = async (table, rows, options) => {
      if (inserts++ === 0) await new Promise((r) => setTimeout(r, 60));
      await insert(table, rows, options);
    };
    const flushed: number[] = [];
    const pipeline = new IngestPipeline(f.sinks, { onFatal: (e) => assert.fail(String(e)), onFlushed: (x) => flushed.push(x.partitions[0]!.firstOffset), maxFlushMessages: 4, maxFlushesInFlight: 3, chunkSize: 2 });
    for (let from = 0; from < 12; from += 4) await pipeline.submit(batch(0, from, 4), async () => {});
    await waitFor(() => !(flushed.length < 3), { what: 'flushed.length < 3 to end', timeoutMs: 10_000, intervalMs: 5 });
    await pipeline.stop();
    assert.deepEqual(flushed, [0, 4, 8]);
    assert.deepEqual(f.commits.map((c) => c[0]!.offset), ['4', '8', '12']);
    assert.equal(f.watermarks.get(0), 11);
    const reference = new MemoryOnlineStore(spec);
    reference.applyEvents(Array.from({ length: 12 }, (_, i) => event(i)));
    for (const u of ['u0', 'u1', 'u2']) assert.deepEqual(await f.memory.user(u), await reference.user(u));
    // Later flushes were stored while the first one's insert was still running; no commit before it.
    const firstCommit = f.log.indexOf('commit');
    assert.equal(f.log.slice(0, firstCommit).filter((l) => l.startsWith('insert')).length, 3, f.log.join(', '));
  });

  it('retries while ClickHouse is down and commits nothing until it is back', async () => {
    const f = fakes({ failInserts: 3 });
    let done = false;
    const pipeline = new IngestPipeline(f.sinks, { onFatal: (e) => assert.fail(String(e)), onFlushed: () => { done = true; } });
    await pipeline.submit(batch(0, 0, 6), async () => {});
    await waitFor(() => !(!done), { what: '!done to end', timeoutMs: 10_000, intervalMs: 5 });
    await pipeline.stop();
    assert.equal(f.rows.length, 6);
    assert.equal(f.commits.length, 1);
  });

  it('applies a replayed range to the online store once (watermark compare-and-set)', async () => {
    const f = fakes();
    let flushes = 0;
    const pipeline = new IngestPipeline(f.sinks, { onFatal: (e) => assert.fail(String(e)), onFlushed: () => { flushes++; }, chunkSize: 2 });
    await pipeline.submit(batch(0, 0, 6), async () => {});
    await waitFor(() => !(flushes < 1), { what: 'flushes < 1 to end', timeoutMs: 10_000, intervalMs: 5 });
    pipeline.dropQueued(); // as after a rebalance: the cached watermark is forgotten
    await pipeline.submit(batch(0, 3, 6), async () => {}); // overlaps offsets 3..5 and adds 6..8
    await waitFor(() => !(flushes < 2), { what: 'flushes < 2 to end', timeoutMs: 10_000, intervalMs: 5 });
    await pipeline.stop();
    const reference = new MemoryOnlineStore(spec);
    reference.applyEvents(Array.from({ length: 9 }, (_, i) => event(i)));
    for (const u of ['u0', 'u1', 'u2']) assert.deepEqual(await f.memory.user(u), await reference.user(u));
    assert.equal(f.watermarks.get(0), 8);
  });

  it('abandons a flush stuck on an unavailable store at stop, uncommitted', async () => {
    const f = fakes({ failInserts: 1e9 });
    const pipeline = new IngestPipeline(f.sinks, { onFatal: (e) => assert.fail(String(e)) });
    await pipeline.submit(batch(0, 0, 3), async () => {});
    await new Promise((r) => setTimeout(r, 50));
    await pipeline.stop();
    assert.equal(f.commits.length, 0);
  });

  it('stops on a write error no retry cures', async () => {
    const f = fakes();
    f.sinks.clickhouse.insert = async () => { throw new RecsysError('no such table', { retriable: false }); };
    let fatal: unknown;
    const pipeline = new IngestPipeline(f.sinks, { onFatal: (e) => { fatal = e; } });
    await pipeline.submit(batch(0, 0, 3), async () => {});
    await waitFor(() => !(!fatal), { what: '!fatal to end', timeoutMs: 10_000, intervalMs: 5 });
    await pipeline.stop();
    assert.match(String(fatal), /no such table/);
    assert.equal(f.commits.length, 0);
  });

  it('moves the dedupe window chunk by chunk within one flush: a copy further back than the window counts again, a near one once', async () => {
    // One flush of 1,110 records (a fast producer's single record batch): events 0..999, then copies of 0..99
    // (1,000 offsets back, beyond the window of 300) and of 990..999 (within it). It failed before the window
    // moved inside a flush: all 110 copies were taken for duplicates.
    const f = fakes({ dedupeWindow: 300 });
    const flushed: number[] = [];
    const pipeline = new IngestPipeline(f.sinks, { onFatal: (e) => assert.fail(String(e)), onFlushed: (x) => flushed.push(x.messages), chunkSize: 50, maxFlushMessages: 5000 });
    const records = [...Array.from({ length: 1000 }, (_, i) => i), ...Array.from({ length: 100 }, (_, i) => i), ...Array.from({ length: 10 }, (_, i) => 990 + i)];
    await pipeline.submit({
      topic: 't', partition: 0, kind: batch(0, 0, 1).kind, firstOffset: 0, lastOffset: records.length - 1, messages: records.length, dead: [],
      valid: records.map((n, offset) => ({ record: event(n), offset, kafkaTs: 0 })),
    }, async () => {});
    await waitFor(() => flushed.length > 0, { what: 'the flush', timeoutMs: 10_000, intervalMs: 5 });
    await pipeline.stop();
    // event(n) is an impression of user u(n % 3): 1,100 applied (1,000 + the 100 far copies), 10 recognised.
    const impressions = (await Promise.all(['u0', 'u1', 'u2'].map((u) => f.memory.user(u)))).reduce((n, s) => n + (s.counters.counts.impression ?? 0), 0);
    assert.equal(impressions, 1100);
  });

  describe('with the online store in buckets', () => {
    const events = Array.from({ length: 40 }, (_, i) => event(i, `u${i % 7}`));
    const oneBatch = () => ({ ...batch(0, 0, 40), valid: events.map((e, offset) => ({ record: e, offset, kafkaTs: 0 })) });
    const reference = new MemoryOnlineStore(spec);
    reference.applyEvents(events);
    const users = Array.from({ length: 7 }, (_, u) => `u${u}`);
    const items = Array.from({ length: 5 }, (_, i) => `i${i}`);
    /** One pipeline (one process) takes the batch and flushes it. */
    const flushOnce = async (f: ReturnType<typeof fakes>, chunkSize: number) => {
      const flushed: number[] = [];
      const pipeline = new IngestPipeline(f.sinks, { onFatal: (e) => assert.fail(String(e)), onFlushed: (x) => flushed.push(x.messages), chunkSize });
      await pipeline.submit(oneBatch(), async () => {});
      await waitFor(() => flushed.length === 1, { what: 'the flush', timeoutMs: 10_000, intervalMs: 5 });
      await pipeline.stop();
    };
    /** Every bucket at the batch's last offset, the store as the reference fed the batch once. */
    const assertAppliedOnce = async (f: ReturnType<typeof fakes>) => {
      assert.deepEqual(f.watermarks.of(0), [39, 39, 39, 39]);
      for (const u of users) assert.deepEqual(await f.memory.user(u), await reference.user(u), u);
      assert.deepEqual(await f.memory.items(items), await reference.items(items));
    };

    it('applies every bucket\'s share with its own watermark', async () => {
      const f = fakes({ buckets: 4 });
      await flushOnce(f, 16);
      await assertAppliedOnce(f);
    });

    for (const dedupeWindow of [0, 20_000]) it(`after a writer died with the chunk in some buckets only, the next applies the rest once (dedupe window ${dedupeWindow}; a bucket's ids are its own)`, async () => {
      const f = fakes({ buckets: 4, dedupeWindow });
      const apply = f.sinks.online.applyChunks.bind(f.sinks.online);
      // The first process: each bucket took a different number of the flush's chunks (16 offsets each), then it died.
      const took = [1, 2, 0, 3];
      f.sinks.online.applyChunks = async (topic: string, partition: number, chunks: readonly (readonly PartitionChunk[])[]) => {
        await apply(topic, partition, chunks.map((c, b) => c.slice(0, took[b])));
        throw new RangeError('the process died here');
      };
      let died: unknown;
      const first = new IngestPipeline(f.sinks, { onFatal: (e) => { died = e; }, chunkSize: 16 });
      await first.submit(oneBatch(), async () => {});
      await waitFor(() => died !== undefined, { what: 'the first writer to die', timeoutMs: 10_000, intervalMs: 5 });
      await first.stop();
      assert.deepEqual(f.commits, []);
      assert.deepEqual(f.watermarks.of(0), [15, 31, -1, 39], 'buckets left at different offsets');

      f.sinks.online.applyChunks = apply;
      // The next process, with chunks of another size: the buckets' watermarks fall inside them.
      await flushOnce(f, 7);
      await assertAppliedOnce(f);
    });
  });
});
