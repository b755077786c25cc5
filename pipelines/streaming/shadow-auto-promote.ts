import { logger } from '../../infra/logger.js';
import { applyAutoPromote, type AutoPromotePolicy, type VersionMetrics } from '../registry/auto-promote.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import type { ProgressiveMetrics } from './progressive-metrics.js';
import type { ServingShadow } from './serving-shadow.js';

const log = logger('train-stream');

export interface ShadowAutoPromoteInput {
  registry: ModelRegistry;
  /** Registry model name. */
  name: string;
  policy: AutoPromotePolicy;
  /** The version just published (the candidate). */
  version: number;
  /** The online model's progressive window (the candidate's figures). */
  online: ProgressiveMetrics;
  /** The trainer's example count: where the online window ends. */
  windowEnd: number;
  shadow: ServingShadow;
}

export interface ShadowAutoPromoteOutcome {
  promoted: boolean;
  reason: string;
  /** The serving version compared against (null: nothing served). */
  serving: number | null;
  candidate: VersionMetrics['metrics'];
  servingMetrics: VersionMetrics['metrics'] | null;
}

/**
 * The auto-promote policy on one window: the candidate's progressive figures
 * and the serving version's shadow figures over the same examples (the
 * newest N both scored, ending at the same example) go to `applyAutoPromote`.
 * The serving alias is read first: if it moved since the shadow loaded its
 * version (a hand promote or rollback), the shadow reloads and its window
 * restarts, so no decision is made until it covers `minEvents` again. After
 * a promotion the shadow loads the promoted version (its window restarts).
 */
export async function autoPromoteOnSameWindow(input: ShadowAutoPromoteInput): Promise<ShadowAutoPromoteOutcome> {
  const { registry, name, policy, version, online, windowEnd, shadow } = input;
  const sync = await shadow.sync();
  const servingFigures = shadow.figures();
  const serving = sync.to;
  let outcome: ShadowAutoPromoteOutcome;
  const refuse = (reason: string, candidate: VersionMetrics['metrics'], servingMetrics: VersionMetrics['metrics'] | null = null): ShadowAutoPromoteOutcome =>
    ({ promoted: false, reason, serving, candidate, servingMetrics });
  if (serving === null) {
    // Nothing serves: the first candidate with enough events is promoted.
    const f = online.figures();
    const candidate = { events: f.events, auc: f.auc, logloss: f.logloss, windowEnd };
    const { decision, change } = await applyAutoPromote(registry, name, { version, metrics: candidate }, null, policy);
    outcome = { promoted: change?.changed ?? false, reason: decision.reason, serving, candidate, servingMetrics: null };
  } else if (sync.moved) {
    const f = online.figures();
    const how = sync.by ? `${sync.by.action} by ${sync.by.actor}` : 'moved';
    outcome = refuse(
      `serving moved from ${sync.from === null ? 'nothing' : `v${sync.from}`} to v${serving} (${how}); its shadow window restarts now, `
      + `and ${policy.minEvents} events must be scored by v${serving} before the next decision`,
      { events: f.events, auc: f.auc, logloss: f.logloss, windowEnd },
    );
  } else if (servingFigures.problem !== null) {
    const f = online.figures();
    outcome = refuse(`${servingFigures.problem}; no decision until it can be scored`, { events: f.events, auc: f.auc, logloss: f.logloss, windowEnd });
  } else {
    // The same events on both sides: the newest ones the serving version scored.
    const f = online.figures(servingFigures.events);
    const candidate = { events: f.events, auc: f.auc, logloss: f.logloss, windowEnd };
    const servingMetrics = { events: servingFigures.events, auc: servingFigures.auc, logloss: servingFigures.logloss, windowEnd: servingFigures.windowEnd ?? -1 };
    if (servingFigures.events < policy.minEvents) {
      outcome = refuse(
        `serving v${serving} has been shadow-scored on ${servingFigures.events} events since it was loaded (the window restarts whenever serving changes); `
        + `the policy needs ${policy.minEvents} on the same events as the candidate`,
        candidate, servingMetrics,
      );
    } else {
      const { decision, change } = await applyAutoPromote(registry, name, { version, metrics: candidate }, { version: serving, metrics: servingMetrics }, policy);
      outcome = { promoted: change?.changed ?? false, reason: decision.reason, serving, candidate, servingMetrics };
    }
  }
  log.info({ version, promote: outcome.promoted, serving, reason: outcome.reason, candidate: outcome.candidate, servingMetrics: outcome.servingMetrics }, 'auto-promote');
  if (outcome.promoted) await shadow.sync();
  return outcome;
}
