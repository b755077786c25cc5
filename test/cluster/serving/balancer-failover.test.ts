import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ModelRegistry } from '../../../pipelines/registry/model-registry.js';
import { publishTinyDin } from '../../helpers/serving-fixtures.js';
import { waitFor } from '../../helpers/wait-for.js';
import { CLUSTER, balancerMembers, clusterScript, killNine } from '../helpers/topology.js';

interface Readiness { ready: boolean; ranker: { version: number } | null }

/** The readiness of replica i (1-based), straight from it rather than through the balancer. */
async function replicaReadiness(i: number): Promise<Readiness | undefined> {
  try {
    const r = await fetch(`http://127.0.0.1:${18080 + i}/readyz`, { signal: AbortSignal.timeout(2000) });
    return await r.json() as Readiness;
  } catch {
    return undefined;
  }
}

describe('cluster: two serving replicas behind haproxy', function () {
  this.timeout(600_000);
  let registry: string;
  const replicaEnv = () => ({ RECSYS_REGISTRY: registry, RECSYS_SERVE_REPLICAS: '2', LOG_LEVEL: 'warn', RECSYS_RETRIEVAL_MODEL: '' });

  before(async () => {
    registry = mkdtempSync(path.join(tmpdir(), 'cluster-serve-'));
    await publishTinyDin(registry, 'syn-din');
    await new ModelRegistry(registry).promote('syn-din', 1, { actor: 'test' });
    await clusterScript('haproxy', ['up'], { RECSYS_SERVE_REPLICAS: '2' });
    // Polling, not Redis events: the replicas' reload must not depend on which Redis the test points at.
    await clusterScript('serve-replicas', ['up', '--ranker', 'syn-din', '--online-store', 'memory', '--decisions', 'memory', '--no-subscribe', '--poll-seconds', '1', '--drain-seconds', '1'], replicaEnv());
    await waitFor(async () => (await replicaReadiness(1))?.ready && (await replicaReadiness(2))?.ready, { timeoutMs: 120_000, what: 'both replicas ready' });
    // A replica answers /readyz before haproxy has seen it pass its checks twice (rise 2, every 500 ms); until
    // then the balancer answers 503 itself, which no failover is involved in.
    await waitFor(async () => { const m = await balancerMembers(); return m.get('serve-1') === 'UP' && m.get('serve-2') === 'UP'; }, { timeoutMs: 30_000, what: 'both replicas in the balancer\'s rotation' });
  });
  after(async () => {
    await clusterScript('serve-replicas', ['down'], replicaEnv()).catch(() => {});
    rmSync(registry, { recursive: true, force: true });
  });

  it('a promote under load and the kill -9 of one replica: zero failed requests for clients that retry', async () => {
    const counts = { sent: 0, answered: 0, failedAfterRetries: 0, attemptsFailed: 0, versions: new Map<number, number>() };
    let running = true;
    // A client that retries a failed request (a connection error or a 5xx)
    // up to 3 times through the balancer, which sends the retry to a live member.
    const client = async () => {
      while (running) {
        counts.sent++;
        let ok = false;
        for (let attempt = 0; attempt < 4 && !ok; attempt++) {
          try {
            const r = await fetch(`${CLUSTER.balancer}/v1/score`, {
              method: 'POST', headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ user_id: 'u1', candidates: ['i1', 'i2', 'i3'] }), signal: AbortSignal.timeout(10_000),
            });
            const body = await r.json() as { scores?: unknown[]; models?: { ranker?: { version?: number } } };
            if (r.status === 200 && body.scores?.length === 3) {
              ok = true;
              const v = body.models?.ranker?.version ?? 0;
              counts.versions.set(v, (counts.versions.get(v) ?? 0) + 1);
            } else counts.attemptsFailed++;
          } catch {
            counts.attemptsFailed++;
          }
        }
        if (ok) counts.answered++;
        else counts.failedAfterRetries++;
      }
    };
    const clients = Array.from({ length: 4 }, () => client());
    const t0 = Date.now();
    await waitFor(() => counts.answered >= 50, { timeoutMs: 60_000, what: '50 answers before the promote' });

    // The promote, by a separate registry writer, while the load runs: both replicas hot-reload v2.
    await publishTinyDin(registry, 'syn-din');
    await new ModelRegistry(registry).promote('syn-din', 2, { actor: 'test' });
    await waitFor(async () => (await replicaReadiness(1))?.ranker?.version === 2 && (await replicaReadiness(2))?.ranker?.version === 2, { timeoutMs: 120_000, what: 'both replicas serving v2' });
    const answeredAtPromote = counts.answered;

    await killNine('serve-1');
    const answeredAtKill = counts.answered;
    await waitFor(() => counts.answered >= answeredAtKill + 200, { timeoutMs: 120_000, what: '200 answers after the kill' });
    running = false;
    await Promise.all(clients);
    const seconds = (Date.now() - t0) / 1000;

    console.log(`      requests in ${counts.sent}, answered ${counts.answered}, failed after retries ${counts.failedAfterRetries}, failed attempts ${counts.attemptsFailed}; answered by the promote ${answeredAtPromote}, by the kill ${answeredAtKill}; by version ${JSON.stringify([...counts.versions])}; ${seconds.toFixed(1)} s`);
    assert.equal(counts.failedAfterRetries, 0);
    assert.equal(counts.answered, counts.sent);
    assert.equal((await replicaReadiness(2))?.ranker?.version, 2);
    assert.ok((counts.versions.get(2) ?? 0) >= 200, 'the answers after the kill come from v2');
    assert.equal(await replicaReadiness(1), undefined, 'the killed replica is gone');
  });
});
