export interface SyntheticOptions {
  /** The world: users, items, interests, click model. @default 42 */
  seed?: number;
  /**
   * The impressions drawn from that world: another stream seed gives fresh
   * impressions of the same users and items (a second run of `recsys simulate`
   * must not replay the first). @default the world's own stream
   */
  streamSeed?: number;
  /** @default 2000 */
  users?: number;
  /** @default 5000 */
  items?: number;
  /** @default 20 */
  categories?: number;
  /** Impressions to generate. @default 200_000 */
  events?: number;
  /** @default 8 */
  latentDim?: number;
  /** Popularity exponent of the item Zipf law. @default 1.1 */
  zipfExponent?: number;
  /** Dirichlet concentration of user interests; small = focused users. @default 0.3 */
  interestConcentration?: number;
  /** Epoch ms of the first event. @default 2024-01-01T00:00:00Z */
  startTs?: number;
  /** Event time covered by the stream. @default 30 days */
  durationMs?: number;
  /** Share of the stream (0..1) after which users' interests are re-drawn; none by default. */
  abruptDriftAt?: number;
  /** Click-model weights. */
  weights?: Partial<ClickWeights>;
}

export interface ClickWeights {
  bias: number;
  interest: number;
  affinity: number;
  history: number;
  quality: number;
}

export const DEFAULT_WEIGHTS: ClickWeights = { bias: -1.6, interest: 0.9, affinity: 0.8, history: 1.5, quality: 0.5 };

export type ResolvedSyntheticOptions = Required<Omit<SyntheticOptions, 'abruptDriftAt' | 'weights' | 'streamSeed'>> & { abruptDriftAt: number | undefined; streamSeed: number | undefined; weights: ClickWeights };

export function resolveSyntheticOptions(options: SyntheticOptions = {}): ResolvedSyntheticOptions {
  return {
    seed: 42, users: 2000, items: 5000, categories: 20, events: 200_000, latentDim: 8, zipfExponent: 1.1,
    interestConcentration: 0.3, startTs: Date.UTC(2024, 0, 1), durationMs: 30 * 86_400_000,
    ...options,
    abruptDriftAt: options.abruptDriftAt,
    streamSeed: options.streamSeed,
    weights: { ...DEFAULT_WEIGHTS, ...options.weights },
  };
}

