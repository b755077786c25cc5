import type { LoggingPolicy } from './position-marginals.js';

/**
 * One logged decision as the replay evaluates it: the candidate set in the
 * logged rank order, what the logging policy showed at each position with
 * its propensity (conditional on the positions before), and the reward there
 * (1 when the shown item was clicked).
 */
export interface LoggedShown {
  /** Index into `candidates`. */
  index: number;
  /** μ(item at this position | items at earlier positions), > 0. */
  propensity: number;
  /** 0 or 1. */
  reward: number;
}

export interface LoggedDecision {
  requestId: string;
  userId: string;
  ts: number;
  /** Candidate item ids, in logged rank order. */
  candidates: string[];
  /** The logging model's score of each candidate. */
  loggedScores: Float32Array;
  /** The ranking model (registry name and version) that scored them. */
  ranker?: { model: string; version: number };
  /** In position order (0, 1, 2…). */
  shown: LoggedShown[];
  /** How the logging policy explored (what the per-position estimators' marginals are computed from). */
  logging?: LoggingPolicy;
  /** Request-time context, when the request had one. */
  context?: Record<string, unknown>;
  /** The user-side features serving scored with (history item ids newest first, user attributes), when it logged them. */
  served?: { history: string[]; user: Record<string, unknown> };
}
