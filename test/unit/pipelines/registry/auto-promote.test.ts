import assert from 'node:assert/strict';
import { applyAutoPromote, decideAutoPromote, type ProgressiveMetrics } from '../../../../pipelines/registry/auto-promote.js';
import { ModelRegistry } from '../../../../pipelines/registry/model-registry.js';
import { publishFakes, tempRegistry } from '../../../helpers/registry-fixtures.js';

const window = (auc: number | null, logloss: number | null, events = 20_000, windowEnd?: number): ProgressiveMetrics => ({ events, auc, logloss, ...(windowEnd === undefined ? {} : { windowEnd }) });
const policy = { minEvents: 10_000, aucMargin: 0.002, loglossMargin: 0.005 };

describe('auto-promote policy', () => {
  it('promotes a candidate no worse than serving by more than the margins', () => {
    const serving = { version: 3, metrics: window(0.80, 0.45) };
    assert.equal(decideAutoPromote({ version: 4, metrics: window(0.81, 0.44) }, serving, policy).promote, true);
    const within = decideAutoPromote({ version: 4, metrics: window(0.7985, 0.454) }, serving, policy);
    assert.equal(within.promote, true);
    assert.match(within.reason, /within the margins of serving v3 over 20000 events: AUC 0\.7985 vs 0\.8000, logloss 0\.4540 vs 0\.4500/);
  });

  it('keeps serving when the candidate is worse by more than a margin, naming the metric', () => {
    const serving = { version: 3, metrics: window(0.80, 0.45) };
    const auc = decideAutoPromote({ version: 4, metrics: window(0.7975, 0.44) }, serving, policy);
    assert.deepEqual([auc.promote, /AUC 0\.7975 is more than 0\.002 below serving v3's 0\.8000/.test(auc.reason)], [false, true]);
    const logloss = decideAutoPromote({ version: 4, metrics: window(0.81, 0.4551) }, serving, policy);
    assert.deepEqual([logloss.promote, /logloss 0\.4551 is more than 0\.005 above/.test(logloss.reason)], [false, true]);
  });

  it('needs enough events on both sides, the same window, a newer candidate and a shared metric', () => {
    const serving = { version: 3, metrics: window(0.80, 0.45, 20_000, 99) };
    const cases: [ReturnType<typeof decideAutoPromote>, RegExp][] = [
      [decideAutoPromote({ version: 4, metrics: window(0.9, 0.1, 500) }, serving, policy), /over 500 events, the policy needs 10000/],
      [decideAutoPromote({ version: 4, metrics: window(0.9, 0.1) }, { version: 3, metrics: window(0.8, 0.4, 10) }, policy), /serving v3 has metrics over 10 events/],
      [decideAutoPromote({ version: 4, metrics: window(0.9, 0.1, 20_000, 98) }, serving, policy), /different windows \(ending 98 and 99\)/],
      [decideAutoPromote({ version: 2, metrics: window(0.9, 0.1) }, serving, policy), /older than serving v3/],
      [decideAutoPromote({ version: 3, metrics: window(0.9, 0.1) }, serving, policy), /already serving/],
      [decideAutoPromote({ version: 4, metrics: window(0.9, null) }, { version: 3, metrics: window(null, 0.4) }, policy), /no metric is reported by both/],
      [decideAutoPromote({ version: 4, metrics: window(Number.NaN, null) }, { version: 3, metrics: window(0.8, 0.4) }, policy), /no metric is reported by both/],
    ];
    for (const [decision, reason] of cases) {
      assert.equal(decision.promote, false, decision.reason);
      assert.match(decision.reason, reason);
    }
  });

  it('promotes the first version when nothing serves, and checks the policy', () => {
    assert.equal(decideAutoPromote({ version: 1, metrics: window(0.6, 0.6) }, null, policy).promote, true);
    assert.throws(() => decideAutoPromote({ version: 1, metrics: window(0.6, 0.6) }, null, { aucMargin: -1 }), /invalid auto-promote policy: aucMargin/);
    assert.equal(decideAutoPromote({ version: 1, metrics: window(0.6, 0.6, 9_999) }, null).promote, false, 'default minEvents is 10000');
  });

  it('applies a decision to the registry, audited as auto-promote, and yields to a person who moved the alias', async () => {
    const root = tempRegistry();
    await publishFakes(root, 'stream', 4);
    const registry = new ModelRegistry(root);
    const first = await applyAutoPromote(registry, 'stream', { version: 1, metrics: window(0.7, 0.5) }, null, policy);
    assert.equal(first.change?.to, 1);

    const worse = await applyAutoPromote(registry, 'stream', { version: 2, metrics: window(0.6, 0.5) }, { version: 1, metrics: window(0.7, 0.5) }, policy);
    assert.deepEqual([worse.decision.promote, worse.change], [false, null]);
    assert.equal((await registry.serving('stream'))!.version, 1);

    const better = await applyAutoPromote(registry, 'stream', { version: 2, metrics: window(0.71, 0.5) }, { version: 1, metrics: window(0.7, 0.5) }, policy);
    assert.deepEqual([better.change?.from, better.change?.to], [1, 2]);
    const entry = (await registry.history('stream')).at(-1)!;
    assert.equal(entry.actor, 'auto-promote');
    assert.match(entry.reason, /^auto-promote: candidate v2 is within the margins of serving v1/);

    // Someone promotes v4 by hand; the policy, still comparing against v2, must not override it.
    await registry.promote('stream', 4, { actor: 'alice' });
    const stale = await applyAutoPromote(registry, 'stream', { version: 3, metrics: window(0.72, 0.5) }, { version: 2, metrics: window(0.71, 0.5) }, policy);
    assert.equal(stale.change, null);
    assert.match(stale.decision.reason, /serving is v4, expected v2/);
    assert.equal((await registry.serving('stream'))!.version, 4);
  });
});
