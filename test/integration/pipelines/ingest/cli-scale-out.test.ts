import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { syntheticEvents } from '../../../../features/datasets/synthetic.js';
import type { Event } from '../../../../features/events/event-schema.js';
import { readEvents } from '../../../../pipelines/ingest/offline-store.js';
import { spawnTs, type Child } from './child.js';
import { createIngestEnv, waitForDrained, type IngestEnv } from './ingest-env.js';
import { waitFor } from '../../../helpers/wait-for.js';

const CLI = fileURLToPath(new URL('./fixtures/recsys-cli.ts', import.meta.url));

async function metricValue(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(name)).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

describe('recsys produce / simulate / ingest: two ingest processes share one group (real services)', function () {
  this.timeout(300_000);
  let env: IngestEnv;
  const dir = mkdtempSync(path.join(tmpdir(), 'recsys-produce-'));
  const children: Child[] = [];
  const events: Event[] = [...syntheticEvents({ events: 20_000, users: 500, items: 1000, seed: 3 })];

  before(async () => {
    env = await createIngestEnv({ partitions: 4 });
  });

  after(async () => {
    for (const c of children) if (c.process.exitCode === null) c.process.kill('SIGKILL');
    await env?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('splits the partitions between 2 processes and stores every event once', async () => {
    const file = path.join(dir, 'events.jsonl');
    writeFileSync(file, events.map((e) => JSON.stringify(e)).join('\n') + '\n{"not": "an event"}\n');
    const produce = spawnTs(CLI, ['produce', '--file', file, '--no-progress'], env.env);
    children.push(produce);
    assert.equal((await produce.exited).code, 0, produce.stderr.join('\n'));
    assert.deepEqual(produce.lines.at(-1), { topic: env.topic, produced: events.length, invalid_skipped: 1, seconds: (produce.lines.at(-1) as { seconds: number }).seconds });

    const ports: number[] = [];
    for (let i = 0; i < 2; i++) {
      const ingest = spawnTs(CLI, ['ingest', '--metrics-port', '0', '--max-batch', '2000'], { ...env.env, LOG_LEVEL: 'info' });
      children.push(ingest);
      await waitFor(() => ingest.stderr.some((l) => l.startsWith('metrics on')), { timeoutMs: 60_000, what: 'metrics endpoint' });
      ports.push(Number(/:(\d+)\/metrics/.exec(ingest.stderr.find((l) => l.startsWith('metrics on'))!)![1]));
    }
    // Both members hold partitions once the group has rebalanced.
    await waitFor(() => children.slice(1).every((c) => c.stderr.some((l) => /"msg":"joined group"/.test(l) && /"assigned":\{"[^"]+":\[\d/.test(l))), { timeoutMs: 60_000, what: 'both members assigned' });

    // More events while both run: simulate at a fixed rate.
    const simulate = spawnTs(CLI, ['simulate', '--rate', '2000', '--events', '4000', '--users', '500', '--items', '1000', '--run-id', 'scale'], env.env);
    children.push(simulate);
    assert.equal((await simulate.exited).code, 0, simulate.stderr.join('\n'));
    const simulated = (simulate.lines.at(-1) as { produced: number }).produced;
    assert.equal(simulated, 4000 + 1500);

    await waitForDrained(env.admin, env.groupId, env.topic, 120_000);
    const perProcess = await Promise.all(ports.map((p) => metricValue(p, 'ingest_events_valid_total')));
    assert.ok(perProcess.every((n) => n > 0), `both processes ingested: ${perProcess}`);

    // Off a terminal the progress is structured log lines: each member says it caught up.
    await waitFor(() => children.slice(1, 3).every((c) => c.stderr.some((l) => /"msg":"caught up"/.test(l))), { timeoutMs: 30_000, what: '"caught up" from both members' });
    for (const c of children.slice(1, 3)) c.process.kill('SIGTERM');
    for (const c of children.slice(1, 3)) assert.equal((await c.exited).code, 0, c.stderr.slice(-5).join('\n'));
    // The summary on exit, one JSON line on stdout per member.
    type Summary = { ingest: { stored: number; dead_lettered: number; seconds: number; partitions: Record<string, { messages: number }> } };
    const summaries = children.slice(1, 3).map((c) => (c.lines.find((l) => typeof l === 'object' && l !== null && 'ingest' in l) as Summary | undefined)?.ingest);
    assert.ok(summaries.every((s) => s !== undefined && s.seconds > 0), `a summary from each member: ${JSON.stringify(summaries)}`);
    // A rebalance may hand a flushed-but-uncommitted batch to the other member (stored twice, kept once): at least.
    assert.ok(summaries.reduce((n, s) => n + s!.stored, 0) >= events.length + simulated, JSON.stringify(summaries));
    assert.equal(summaries.reduce((n, s) => n + s!.dead_lettered, 0), 0, 'produce skipped the invalid line: nothing to dead-letter');
    assert.ok(summaries.every((s) => Object.keys(s!.partitions).some((k) => k.startsWith(`${env.topic}/`))), 'messages by partition of the events topic');

    const stored: Event[] = [];
    for await (const e of readEvents(env.db, { windowMs: 365 * 86_400_000 })) stored.push(e);
    assert.equal(stored.length, events.length + simulated);
    assert.equal(new Set(stored.map((e) => e.event_id)).size, stored.length);
  });
});
