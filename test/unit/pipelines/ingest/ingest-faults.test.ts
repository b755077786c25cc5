import assert from 'node:assert/strict';
import { RecsysError } from '../../../../infra/errors.js';
import { readDeadLetterHeaders, type DeadLetter } from '../../../../pipelines/ingest/dead-letter.js';
import { IngestMetrics } from '../../../../pipelines/ingest/ingest-metrics.js';
import { IngestPipeline, type FlushInfo, type PartitionBatch } from '../../../../pipelines/ingest/ingest-pipeline.js';
import type { PartitionChunk } from '../../../../pipelines/online-store/redis-online-store.js';
import { MemoryOnlineStore } from '../../../../pipelines/online-store/memory-online-store.js';
import { waitFor } from '../../../helpers/wait-for.js';
import { batch, BROKER_MESSAGE_MAX_BYTES, event, fakes, kind, spec } from './pipeline-fakes.js';

const noHeartbeat = async () => {};
const gaugeValue = async (g: { get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }> }) => (await g.get()).values.reduce((n, v) => n + v.value, 0);

/** A batch of `n` malformed messages of `size` bytes each (as validateBatch leaves them). */
function deadBatch(partition: number, from: number, n: number, size: number): PartitionBatch {
  const dead: DeadLetter[] = Array.from({ length: n }, (_, k) => ({
    topic: 't', partition, offset: from + k, timestamp: 0, kind: 'events', reason: 'malformed JSON: Unexpected token', key: null, value: Buffer.alloc(size, 0x7b),
  }));
  return { topic: 't', partition, kind, firstOffset: from, lastOffset: from + n - 1, messages: n, bytes: n * size, valid: [], dead };
}

describe('IngestPipeline under hostile input and faults', () => {
  it('dead-letters a burst of 5,000 malformed messages in produce requests below the broker limit, and commits', async () => {
    const f = fakes();
    const flushes: FlushInfo[] = [];
    const pipeline = new IngestPipeline(f.sinks, { onFatal: (e) => assert.fail(String(e)), onFlushed: (x) => flushes.push(x) });
    await pipeline.submit(deadBatch(0, 0, 5000, 1000), noHeartbeat);
    await waitFor(() => flushes.length === 1, { timeoutMs: 10_000, what: 'the flush of 5,000 dead letters to commit' });
    await pipeline.stop();
    assert.equal(f.deadLetters.flat().length, 5000);
    assert.ok(f.deadLetters.length >= 5, `requests: ${f.deadLetters.length}`);
    assert.deepEqual(f.deadLetters.flat().map((m) => readDeadLetterHeaders(m.headers).offset), Array.from({ length: 5000 }, (_, i) => i), 'in order, each once');
    assert.deepEqual(f.commits, [[{ topic: 't', partition: 0, offset: '5000' }]]);
  });

  it('sends a dead letter larger than the broker limit cut to fit, with its original size in a header', async () => {
    const f = fakes();
    let flushed = false;
    const pipeline = new IngestPipeline(f.sinks, { onFatal: (e) => assert.fail(String(e)), onFlushed: () => { flushed = true; } });
    await pipeline.submit(deadBatch(0, 0, 1, 2 * BROKER_MESSAGE_MAX_BYTES), noHeartbeat);
    await waitFor(() => flushed, { timeoutMs: 10_000, what: 'the flush to commit' });
    await pipeline.stop();
    const [message] = f.deadLetters.flat();
    assert.equal(message!.headers!['dlq-truncated-from-bytes'], String(2 * BROKER_MESSAGE_MAX_BYTES));
    assert.ok((message!.value as Buffer).byteLength < BROKER_MESSAGE_MAX_BYTES);
  });

  it('bounds a flush by bytes: 20,000 messages at the 64 KiB cap never go into one insert', async () => {
    const f = fakes();
    const flushes: FlushInfo[] = [];
    let insertedRows = 0;
    f.sinks.clickhouse.insert = async (_table, rows) => { insertedRows += rows.length; };
    const pipeline = new IngestPipeline(f.sinks, { onFatal: (e) => assert.fail(String(e)), onFlushed: (x) => flushes.push(x) });
    const size = 64 * 1024;
    for (let from = 0; from < 20_000; from += 100) await pipeline.submit({ ...batch(0, from, 100), bytes: 100 * size }, noHeartbeat);
    await waitFor(() => flushes.reduce((n, x) => n + x.messages, 0) === 20_000, { timeoutMs: 60_000, what: 'all flushes' });
    await pipeline.stop();
    const largest = Math.max(...flushes.map((x) => x.messages));
    assert.ok(largest * size <= 16 * 1024 * 1024, `largest flush: ${largest} messages × 64 KiB = ${(largest * size / 2 ** 20).toFixed(0)} MiB`);
    assert.equal(insertedRows, 20_000);
  });

  it('stops fetching when the queued bytes reach their bound, whatever the message count', async () => {
    const f = fakes({ failInserts: 1e9 }); // ClickHouse away: nothing drains
    const pipeline = new IngestPipeline(f.sinks, { onFatal: (e) => assert.fail(String(e)), maxFlushBytes: 1024 * 1024 });
    const size = 64 * 1024;
    let accepted = 0;
    let blocked = false;
    for (let from = 0; from < 2000 && !blocked; from += 10) {
      const submitted = pipeline.submit({ ...batch(0, from, 10), bytes: 10 * size }, noHeartbeat);
      blocked = await Promise.race([submitted.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 100))]);
      if (!blocked) accepted += 10;
    }
    assert.ok(blocked, 'submit waits once the queue is full by bytes');
    // In flight (≤ 3 flushes of 1 MiB) plus queued (≤ 3 MiB): bounded, far below 2,000 × 64 KiB.
    assert.ok(accepted * size <= 7 * 1024 * 1024, `accepted ${accepted} messages (${(accepted * size / 2 ** 20).toFixed(1)} MiB)`);
    assert.ok(pipeline.queued.bytes <= 3 * 1024 * 1024, `queued ${pipeline.queued.bytes} bytes`);
    await pipeline.stop();
  });

  it('dead-letters a record ClickHouse never takes (unrecognised error) after bounded retries; stores the rest and commits', async () => {
    const f = fakes();
    const metrics = new IngestMetrics();
    const insert = f.sinks.clickhouse.insert;
    let attempts = 0;
    f.sinks.clickhouse.insert = async (table, rows, options) => {
      if (rows.some((r) => r.event_id === 'e7')) {
        attempts++;
        throw new TypeError('cannot serialise row'); // not a store outage: no client classifies it
      }
      await insert(table, rows, options);
    };
    const flushes: FlushInfo[] = [];
    const pipeline = new IngestPipeline(f.sinks, { onFatal: (e) => assert.fail(String(e)), onFlushed: (x) => flushes.push(x), metrics });
    await pipeline.submit(batch(0, 0, 20), noHeartbeat);
    await waitFor(() => flushes.length === 1, { timeoutMs: 10_000, what: 'the flush to commit' });
    await pipeline.stop();
    assert.equal(flushes[0]!.unwritable, 1);
    assert.deepEqual(f.rows.filter((r) => 'event_id' in r).map((r) => r.event_id).sort(), Array.from({ length: 20 }, (_, i) => `e${i}`).filter((id) => id !== 'e7').sort());
    assert.deepEqual(f.rows.filter((r) => 'source_offset' in r).map((r) => r.source_offset), [7], 'and in the dead_letters table');
    const dead = f.deadLetters.flat();
    assert.equal(dead.length, 1);
    const headers = readDeadLetterHeaders(dead[0]!.headers);
    assert.equal(headers.offset, 7);
    assert.match(headers.reason, /^unwritable: ClickHouse refused the record: cannot serialise row/);
    assert.ok(attempts <= 4 + 6, `attempts with the poison record: ${attempts}`);
    assert.equal(await gaugeValue(metrics.writeFailures), 1);
    assert.deepEqual(f.commits, [[{ topic: 't', partition: 0, offset: '20' }]]);
  });

  for (const buckets of [1, 4]) it(`skips (and dead-letters) an event the Redis script refuses, so the partition moves on (${buckets} bucket(s))`, async () => {
    const f = fakes({ buckets });
    const apply = f.sinks.online.applyChunks.bind(f.sinks.online);
    // As a Redis script error reply on one entity's data: permanent, whatever the retry.
    f.sinks.online.applyChunks = async (topic: string, partition: number, chunks: readonly (readonly PartitionChunk[])[]) => {
      const poisoned = chunks.map((c) => c.some((x) => x.ops.counters.has('user\u0000poison')));
      if (!poisoned.includes(true)) return apply(topic, partition, chunks);
      // As Redis: the other buckets' scripts run, the poisoned one fails.
      await apply(topic, partition, chunks.map((c, b) => (poisoned[b] ? [] : c)));
      throw new RecsysError('Redis apply failed: ERR user_script:12: attempt to compare nil with number', { retriable: false });
    };
    const events = Array.from({ length: 10 }, (_, i) => event(i, i === 4 ? 'poison' : `u${i % 3}`));
    const b: PartitionBatch = { ...batch(0, 0, 10), valid: events.map((e, i) => ({ record: e, offset: i, kafkaTs: 0 })) };
    const flushes: FlushInfo[] = [];
    const pipeline = new IngestPipeline(f.sinks, { onFatal: (e) => assert.fail(String(e)), onFlushed: (x) => flushes.push(x), chunkSize: 4 });
    await pipeline.submit(b, noHeartbeat);
    await waitFor(() => flushes.length === 1, { timeoutMs: 10_000, what: 'the flush to commit' });
    await pipeline.stop();
    assert.deepEqual(f.watermarks.of(0), new Array(buckets).fill(9));
    const reference = new MemoryOnlineStore(spec);
    reference.applyEvents(events.filter((_, i) => i !== 4));
    for (const u of ['u0', 'u1', 'u2', 'poison']) assert.deepEqual(await f.memory.user(u), await reference.user(u), u);
    assert.deepEqual(f.deadLetters.flat().map((m) => readDeadLetterHeaders(m.headers).offset), [4]);
    assert.match(readDeadLetterHeaders(f.deadLetters.flat()[0]!.headers).reason, /^unwritable: the online store \(Redis\) refused the record/);
    assert.deepEqual(f.commits, [[{ topic: 't', partition: 0, offset: '10' }]]);
  });

  it('stops in a clear failed state (metric, cause) when every write fails with an unrecognised error', async () => {
    const f = fakes();
    f.sinks.clickhouse.insert = async () => { throw new RangeError('Invalid string length'); };
    const metrics = new IngestMetrics();
    let fatal: unknown;
    const pipeline = new IngestPipeline(f.sinks, { onFatal: (e) => { fatal = e; }, metrics });
    await pipeline.submit(batch(0, 0, 50), noHeartbeat);
    await waitFor(() => fatal !== undefined, { timeoutMs: 10_000, what: 'the pipeline to give up' });
    await pipeline.stop();
    assert.match(String(fatal), /clickhouse write failed after \d+ attempts?: Invalid string length/);
    assert.equal(await gaugeValue(metrics.failed), 1);
    assert.equal(f.commits.length, 0);
    assert.equal(f.deadLetters.length, 0, 'a store fault is not blamed on the records');
  });

  it('says so (metric, mark in the store) when the online store lost what this process wrote', async () => {
    const f = fakes();
    const metrics = new IngestMetrics();
    let flushes = 0;
    const pipeline = new IngestPipeline(f.sinks, { onFatal: (e) => assert.fail(String(e)), onFlushed: () => { flushes++; }, metrics });
    await pipeline.submit(batch(0, 0, 5), noHeartbeat);
    await waitFor(() => flushes === 1, { timeoutMs: 10_000, what: 'flush 1' });
    assert.equal(await gaugeValue(metrics.onlineStoreBehind), 0);
    f.watermarks.clear(); // Redis restarted without persistence
    await pipeline.submit(batch(0, 5, 5), noHeartbeat);
    await waitFor(() => flushes === 2, { timeoutMs: 10_000, what: 'flush 2' });
    await pipeline.stop();
    assert.equal(await gaugeValue(metrics.onlineStoreBehind), 1);
    assert.match(f.behind.get(0) ?? '', /watermark -1 found behind offset 4/);
  });

  it('says so when a new assignment finds the watermark behind the committed offset', async () => {
    const f = fakes();
    const metrics = new IngestMetrics();
    let flushes = 0;
    const pipeline = new IngestPipeline(f.sinks, { onFatal: (e) => assert.fail(String(e)), onFlushed: () => { flushes++; }, metrics });
    f.watermarks.set(0, 99); // a snapshot from before offsets 100..199 were applied
    await pipeline.submit(batch(0, 200, 5), noHeartbeat); // the group committed 200
    await waitFor(() => flushes === 1, { timeoutMs: 10_000, what: 'the flush' });
    await pipeline.stop();
    assert.equal(await gaugeValue(metrics.onlineStoreBehind), 1);
    assert.match(f.behind.get(0) ?? '', /watermark 99 found behind offset 199/);
  });

  it('on stop, finishes and commits every flush in flight (stops taking new ones)', async () => {
    const f = fakes();
    const apply = f.sinks.online.applyChunks.bind(f.sinks.online);
    f.sinks.online.applyChunks = async (topic: string, partition: number, chunks: readonly (readonly PartitionChunk[])[]) => {
      await new Promise((r) => setTimeout(r, 80));
      return apply(topic, partition, chunks);
    };
    const pipeline = new IngestPipeline(f.sinks, { onFatal: (e) => assert.fail(String(e)), maxFlushMessages: 5, maxFlushesInFlight: 3 });
    for (let from = 0; from < 15; from += 5) await pipeline.submit(batch(0, from, 5), noHeartbeat);
    await new Promise((r) => setTimeout(r, 20)); // three flushes in flight, the first one in Redis
    assert.equal(await pipeline.submit(batch(0, 15, 5), noHeartbeat), true);
    await pipeline.stop();
    assert.deepEqual(f.commits.map((c) => c[0]!.offset), ['5', '10', '15'], 'the three flushes in flight committed; the queued one dropped');
    assert.equal(f.watermarks.get(0), 14);
    assert.equal(await pipeline.submit(batch(0, 20, 5), noHeartbeat), false);
  });
});
