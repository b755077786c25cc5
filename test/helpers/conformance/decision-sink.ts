import assert from 'node:assert/strict';
import { MAX_DECISION_BYTES, type DecisionRecord } from '../../../pipelines/decisions/decision-record.js';
import type { DecisionSink } from '../../../pipelines/decisions/decision-sink.js';
import { ValidationError } from '../../../infra/errors.js';
import { sampleDecision } from '../../unit/pipelines/decisions/decision-fixtures.js';

/** A fresh sink, and what it holds once closed. */
export interface DecisionSinkUnderTest {
  sink: DecisionSink;
  /**
   * Every record the sink holds, each as many times as it holds it, in the
   * order the sink keeps them (per user, at least). Called after close().
   */
  readBack(): Promise<DecisionRecord[]>;
  cleanup(): Promise<void>;
}

/** Records whose ids, keys and values break naive JSON or line handling. */
function awkwardRecords(n: number, users: number): DecisionRecord[] {
  const odd = ['say "hi"', 'back\\slash', 'tab\tand\nnewline', 'ünïcödé 中文 🎉', '\u2028sep\u2029', 'nul\u0000'];
  return Array.from({ length: n }, (_, i) => {
    const base = sampleDecision();
    const item = `${odd[i % odd.length]}-${i}`;
    return sampleDecision({
      request_id: `req-${i}`,
      user_id: `user ${i % users} ${odd[i % users % odd.length]}`,
      ts: base.ts + i,
      candidates: [...base.candidates, { item_id: item, score: -0.25, retrieval_score: 1e-9 }],
      context: { device: odd[(i + 1) % odd.length]!, n: i, flag: i % 2 === 0, tags: [item, ''] },
    });
  });
}

/** A valid record whose JSON is exactly `bytes` bytes long, for the user id given (padding in context values). */
export function recordOfBytes(bytes: number, over: Partial<DecisionRecord> = {}): DecisionRecord {
  const record = sampleDecision({ ...over, context: {} });
  const context = record.context!;
  // Counted entry by entry (`"key":"value"`, a comma before all but the first): stringifying 1 MB per entry would take seconds.
  let size = Buffer.byteLength(JSON.stringify(record));
  for (let i = 0; size < bytes; i++) {
    const key = `pad${i}`;
    const empty = key.length + 2 + 1 + 2 + (i > 0 ? 1 : 0);
    const room = bytes - size - empty;
    if (room < 0) throw new Error(`cannot make a record of exactly ${bytes} bytes`);
    // A context value holds at most 1024 characters; stop short of the end so the last entry fits exactly.
    const length = room <= 1024 ? room : Math.min(1000, room - 40);
    context[key] = 'x'.repeat(length);
    size += empty + length;
  }
  assert.equal(Buffer.byteLength(JSON.stringify(record)), bytes);
  return record;
}

const byUser = (records: readonly DecisionRecord[]) => {
  const out = new Map<string, string[]>();
  for (const r of records) out.set(r.user_id, [...(out.get(r.user_id) ?? []), r.request_id]);
  return out;
};

/** `read` holds each of `written` exactly once with the same content, and each user's records in the order written. */
function assertHoldsExactly(read: readonly DecisionRecord[], written: readonly DecisionRecord[]): void {
  const counts = new Map<string, number>();
  for (const r of read) counts.set(r.request_id, (counts.get(r.request_id) ?? 0) + 1);
  const twice = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
  assert.deepEqual(twice, [], 'records held more than once');
  assert.equal(read.length, written.length, `${read.length} records read back, ${written.length} written`);
  const readById = new Map(read.map((r) => [r.request_id, r]));
  for (const w of written) assert.deepEqual(readById.get(w.request_id), w, `record ${w.request_id}`);
  assert.deepEqual(byUser(read), byUser(written), 'each user\'s records in the order written');
}

/**
 * The DecisionSink contract (pipelines/decisions/decision-sink.ts), run on
 * every implementation: memory and JSONL (unit), Kafka (integration). Each
 * test gets a fresh sink from `open`.
 */
export function decisionSinkConformance(name: string, open: () => Promise<DecisionSinkUnderTest>): void {
  describe(`DecisionSink conformance: ${name}`, function () {
    this.timeout(120_000);
    let under: DecisionSinkUnderTest | undefined;

    beforeEach(async () => {
      under = await open();
    });
    afterEach(async () => {
      await under?.cleanup();
      under = undefined;
    });

    it('has a name and declares the largest record it takes (≤ the schema\'s 1 MiB)', () => {
      const { sink } = under!;
      assert.match(sink.name, /^[a-z][a-z0-9-]*$/);
      const max = sink.maxRecordBytes ?? MAX_DECISION_BYTES;
      // Room for an ordinary record (a few KB); never more than ingestion accepts.
      assert.ok(Number.isInteger(max) && max >= 4096 && max <= MAX_DECISION_BYTES, `maxRecordBytes ${max}`);
    });

    it('holds every record written one after another exactly once, with its content, in order', async () => {
      const { sink, readBack } = under!;
      const records = awkwardRecords(30, 4);
      for (const r of records) await sink.write(r);
      await sink.close();
      assertHoldsExactly(await readBack(), records);
    });

    it('holds every record written concurrently exactly once, each user\'s in the order of the write calls', async () => {
      const { sink, readBack } = under!;
      const records = awkwardRecords(300, 7);
      await Promise.all(records.map((r) => sink.write(r)));
      await sink.close();
      assertHoldsExactly(await readBack(), records);
    });

    it('writes the record when the caller passes its JSON too', async () => {
      const { sink, readBack } = under!;
      const records = awkwardRecords(5, 2);
      await Promise.all(records.map((r) => sink.write(r, JSON.stringify(r))));
      await sink.close();
      assertHoldsExactly(await readBack(), records);
    });

    it('holds a record as it was when written: changing the caller\'s object afterwards changes nothing', async () => {
      const { sink, readBack } = under!;
      const records = awkwardRecords(4, 2);
      const expected = structuredClone(records);
      for (const r of records) {
        await sink.write(r);
        // A caller reusing its objects (a test fixture, a pooled buffer) must not rewrite what was logged.
        r.shown[0]!.propensity = 1;
        r.context!.device = 'changed';
        r.candidates.push({ item_id: 'added later', score: 0, retrieval_score: null });
      }
      await sink.close();
      assertHoldsExactly(await readBack(), expected);
    });

    it('close() waits for the writes still pending: each has succeeded by the time it returns', async () => {
      const { sink, readBack } = under!;
      const records = awkwardRecords(100, 5);
      const settled: string[] = [];
      const writes = records.map((r) => sink.write(r).then(() => { settled.push(r.request_id); }));
      await sink.close();
      assert.equal(settled.length, records.length, `${settled.length} of ${records.length} writes had succeeded when close() returned`);
      await Promise.all(writes);
      assertHoldsExactly(await readBack(), records);
    });

    it('takes a record of exactly maxRecordBytes (with a user id of the longest UTF-8) intact', async () => {
      const { sink, readBack } = under!;
      const big = recordOfBytes(sink.maxRecordBytes ?? MAX_DECISION_BYTES, { request_id: 'biggest', user_id: '中'.repeat(256) });
      const small = awkwardRecords(3, 1);
      await Promise.all([sink.write(big), ...small.map((r) => sink.write(r))]);
      await sink.close();
      assertHoldsExactly(await readBack(), [big, ...small]);
    });

    it('a record over the limit is refused with a ValidationError or written intact, never half; the others all land', async () => {
      const { sink, readBack } = under!;
      const huge = recordOfBytes(2 * MAX_DECISION_BYTES, { request_id: 'huge', user_id: 'user 0 say "hi"' });
      const others = awkwardRecords(6, 2);
      const [hugeResult, ...rest] = await Promise.allSettled([sink.write(huge), ...others.map((r) => sink.write(r))]);
      assert.deepEqual(rest.filter((r) => r.status === 'rejected'), [], 'the other writes succeed');
      await sink.close();
      const read = await readBack();
      if (hugeResult!.status === 'rejected') {
        assert.ok(hugeResult.reason instanceof ValidationError, `refused with ${String(hugeResult.reason)}`);
        assert.match(hugeResult.reason.message, /huge.*bytes/);
        assertHoldsExactly(read, others);
      } else {
        assertHoldsExactly(read, [huge, ...others]);
      }
    });
  });
}
