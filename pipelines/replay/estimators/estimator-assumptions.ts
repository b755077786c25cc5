import type { Estimator } from './policy-stats.js';

/** What each policy-value estimator assumes, printed with its results so nobody reads a number without its conditions. */
export const ESTIMATOR_ASSUMPTIONS: Record<Estimator, string> = {
  replay: 'matching (replay): counts only requests whose logged prefix the target would have chosen; unbiased when the logging policy is uniform over the candidates, biased otherwise',
  ips: 'whole-slate IPS: any click model; a click at position p is weighted by the product of the target/logging probability ratios of positions 0..p, so weights explode on long slates',
  snips: 'whole-slate self-normalised IPS: as IPS, normalised per position by the sum of weights (small bias, less variance)',
  dr: 'whole-slate doubly robust: IPS corrections around a reward model cross-fitted over users (two folds); unbiased if either the propensities or the reward model are right',
  'pp-ips': 'per-position IPS under the position-based (independence) click model: a click depends only on the item and its position; each position is weighted by the marginal item-position probability ratio (logging marginals exact for ε-greedy and no exploration; undefined under softmax logging)',
  'pp-snips': 'per-position self-normalised IPS: as pp-ips, normalised per position by the sum of weights',
  'pp-dr': 'per-position doubly robust under the position-based click model, around the cross-fitted reward model',
  'item-ips': 'item-level IPS under the document-based click model: a click depends on the user and the item only, not on its position; each shown item is weighted by the ratio of the probabilities that the target and the logging policy show it anywhere in the slate (biased when position changes clicks; undefined under softmax logging)',
  'item-snips': 'item-level self-normalised IPS: as item-ips, normalised by the sum of weights',
  'item-dr': 'item-level doubly robust under the document-based click model, around the cross-fitted reward model averaged over positions',
  pi: 'pseudo-inverse (Swaminathan et al., 2017): the slate\'s clicks are a sum of per-(position, item) terms; computed for uniform logging only (ε-greedy with ε = 1), undefined otherwise',
};
