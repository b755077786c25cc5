import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Event } from '../../../../features/events/event-schema.js';
import { createRng } from '../../../../features/math/rng.js';
import type { SqlClient } from '../../../../infra/clickhouse/sql-client.js';
import { saveCtrModel } from '../../../../models/ctr-artifact/model-artifact.js';
import type { DecisionRecord } from '../../../../pipelines/decisions/decision-record.js';
import { addDecisionRows } from '../../../../pipelines/decisions/decision-rows.js';
import { eventRow, pushRow, type TableRows } from '../../../../pipelines/ingest/offline-rows.js';
import { explore } from '../../../../serving/exploration.js';
import { TINY, trainTinyCtr } from '../../../helpers/serving-fixtures.js';

/**
 * Logged traffic for replay tests, written with the decision store's own row
 * code: `decisions` epsilon-greedy decisions (20 candidates, 5 shown) by
 * TINY's users over one hour, their impressions with click labels as events
 * that reference the request (the outcomes view picks them up), and an hour
 * of earlier clicks that fill users' histories.
 */
export const HOUR = 3_600_000;

export interface LoggedWindow {
  from: number;
  to: number;
  decisions: number;
}

export async function writeLoggedTraffic(db: SqlClient, { from, decisions = 300, seed = 11 }: { from: number; decisions?: number; seed?: number }): Promise<LoggedWindow> {
  const rng = createRng(seed);
  const rows: TableRows = new Map();
  const item = () => `i${rng.int(TINY.items)}`;
  const user = () => `u${rng.int(40)}`;
  const events: Event[] = [];
  for (let i = 0; i < 200; i++) {
    events.push({ schema_version: 1, type: 'click', event_id: `h${i}`, ts: from - HOUR + i * 1000, user_id: user(), item_id: item(), label: 1 });
  }
  for (let n = 0; n < decisions; n++) {
    const ts = from + Math.floor((n * HOUR) / decisions);
    const ids = [...new Set(Array.from({ length: 30 }, item))].slice(0, 20);
    const scores = ids.map(() => rng.next() * 0.5).sort((a, b) => b - a);
    const exploration = { scheme: 'epsilon-greedy', epsilon: 0.3 } as const;
    const placements = explore(scores, 5, exploration, () => rng.next());
    const record: DecisionRecord = {
      schema_version: 1, request_id: `r${seed}-${n}`, user_id: user(), ts,
      models: { ranker: { name: 'syn-din', version: 1 }, retrieval: null }, exploration, k: 5,
      candidates: ids.map((item_id, i) => ({ item_id, score: scores[i]!, retrieval_score: null })),
      shown: placements.map((p, position) => ({ item_id: ids[p.index]!, position, score: scores[p.index]!, propensity: p.propensity })),
    };
    addDecisionRows(rows, record, { partition: -1, offset: -1 });
    for (const s of record.shown) {
      const clicked = rng.next() < 0.1 + 0.6 * s.score ? 1 : 0;
      events.push({ schema_version: 1, type: 'impression', event_id: `${record.request_id}:${s.item_id}`, ts: ts + 500, user_id: record.user_id, item_id: s.item_id, label: clicked, request_id: record.request_id });
    }
  }
  for (const e of events) {
    const { table, row } = eventRow(e);
    pushRow(rows, table, row as unknown as Record<string, unknown>);
  }
  for (const [table, list] of rows) await db.insert(table, list, { columns: Object.keys(list[0]!) });
  return { from, to: from + HOUR, decisions };
}

/** A registry with two tiny DINs (v1, v2: other seeds) trained until `trainedUntil`. */
export async function replayRegistry(trainedUntil: number, name = 'syn-din'): Promise<string> {
  const registry = mkdtempSync(path.join(tmpdir(), 'replay-registry-'));
  for (const seed of [1, 2]) {
    const model = trainTinyCtr({ seed });
    try {
      await saveCtrModel(model, { registry, name, trainedUntil });
    } finally {
      model.dispose();
    }
  }
  return registry;
}

/** The summary `recsys simulate-users` ends with (its last stdout line). */
export interface SimulateUsersSummary {
  requests: number;
  failed: number;
  shown: number;
  clicks: number;
  errors: string[];
}

/** Runs `recsys simulate-users ARGS` as a child process with `env`; its summary, or a rejection carrying its output. */
export function simulateUsersCli(env: NodeJS.ProcessEnv, args: readonly string[]): Promise<SimulateUsersSummary> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/recsys.ts', 'simulate-users', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
    child.on('error', reject);
    child.on('exit', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{')) reject(new Error(`recsys simulate-users exited ${code}: ${err}${out}`));
      else resolve(JSON.parse(last) as SimulateUsersSummary);
    });
  });
}
