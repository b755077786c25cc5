import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { defaultRegistryDir, parseWith } from '../infra/config.js';
import { ValidationError } from '../infra/errors.js';
import { DEFAULT_HEAP_GROWING_PERCENT } from '../infra/v8-heap.js';
import { EpsilonSchema, EXPLORATION_SCHEMES, TemperatureSchema } from '../pipelines/decisions/decision-record.js';

const ADMIN_TOKEN_MIN = 32;

/**
 * `recsys serve`'s settings: each from an environment variable with a default,
 * CLI flags over env. Checked once, with the variable named in the message.
 */
export const ServeSettingsSchema = z.object({
  /** RECSYS_SERVE_HOST @default 127.0.0.1 */
  host: z.string().min(1),
  /** RECSYS_SERVE_PORT @default 8080 (0 = any free port) */
  port: z.number().int().min(0).max(65535),
  /** RECSYS_REGISTRY @default var/registry */
  registry: z.string().min(1),
  /** RECSYS_RANKER_MODEL: the CTR model's registry name @default ml100k-din */
  ranker: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'a model name'),
  /** RECSYS_RETRIEVAL_MODEL: the graph model's registry name; '' = no retrieval (recommend needs candidates) @default '' */
  retrieval: z.string().regex(/^([a-z0-9][a-z0-9_-]*)?$/, 'a model name or empty'),
  /** RECSYS_SERVE_PRECISION @default float */
  precision: z.enum(['float', 'int8']),
  /** RECSYS_ONLINE_STORE: where user histories come from @default redis */
  onlineStore: z.enum(['redis', 'memory']),
  /** RECSYS_DECISIONS: where decision records go @default kafka */
  decisions: z.enum(['kafka', 'jsonl', 'memory']),
  /** RECSYS_DECISIONS_FILE (decisions = jsonl) @default var/decisions.jsonl */
  decisionsFile: z.string().min(1),
  /**
   * Bearer token of the admin routes, from RECSYS_ADMIN_TOKEN or the file
   * RECSYS_ADMIN_TOKEN_FILE (--admin-token-file), never from argv (every
   * local user can read a process's arguments); '' disables the routes.
   * At least 32 characters: the routes promote models. @default ''
   */
  adminToken: z.string().refine((t) => t === '' || t.length >= ADMIN_TOKEN_MIN, (t) => ({
    message: `the admin token has ${t.length} characters, at least ${ADMIN_TOKEN_MIN} are needed (e.g. \`openssl rand -hex 32\`); set RECSYS_ADMIN_TOKEN or RECSYS_ADMIN_TOKEN_FILE`,
  })),
  /** RECSYS_SERVE_ALLOW_LATEST: serve a model's newest version when it has no serving alias (otherwise such a model is refused) @default false */
  allowLatest: z.boolean(),
  /** RECSYS_SERVE_ALLOW_ITEM_MISMATCH: serve a retrieval model whose items the ranker does not know, with a warning (otherwise refused) @default false */
  allowItemMismatch: z.boolean(),
  /** RECSYS_SERVE_DRAIN_SECONDS: on SIGTERM, /readyz answers 503 this long while requests are still served, so load balancers stop sending before the listener closes @default 5 */
  drainSeconds: z.number().min(0).max(3600),
  /** RECSYS_EXPLORATION: the default policy when a request names none @default none */
  exploration: z.enum(EXPLORATION_SCHEMES),
  /** RECSYS_EPSILON: 0 or in [1e-6, 1] (the decision record's bounds) @default 0.1 */
  epsilon: EpsilonSchema,
  /** RECSYS_TEMPERATURE: in [1e-6, 1e6] (the decision record's bounds) @default 0.05 */
  temperature: TemperatureSchema,
  /** RECSYS_NUM_CANDIDATES: items retrieved for ranking @default 200 */
  numCandidates: z.number().int().min(1).max(1000),
  /** RECSYS_ANN: hnsw or exact @default hnsw */
  ann: z.enum(['hnsw', 'exact']),
  /** RECSYS_ANN_EF @default 400 */
  annEf: z.number().int().min(1).max(10_000),
  /** RECSYS_ANN_M @default 32 */
  annM: z.number().int().min(2).max(128),
  /** RECSYS_ANN_MIN_RECALL: an HNSW index whose recall@100 on sampled users is lower serves by exact search instead @default 0.9 */
  annMinRecall: z.number().min(0).max(1),
  /** RECSYS_REGISTRY_POLL_SECONDS: how often the registry folder is checked for new serving versions; 0 = never @default 10 */
  pollSeconds: z.number().min(0),
  /** RECSYS_MODELS_CHANNEL: Redis channel of registry events ('' = do not subscribe) @default recsys:models */
  modelsChannel: z.string(),
  /** RECSYS_FOLD_IN_CHANNEL: Redis channel where `recsys fold-in` announces new items' vectors ('' = serve trained items only) @default recsys:fold-in */
  foldInChannel: z.string(),
  /** RECSYS_SERVE_MAX_BODY: largest request body (bytes) @default 524288 */
  maxBodyBytes: z.number().int().min(1024),
  /** RECSYS_HISTORY_LENGTH: behaviours read per user @default 50 */
  historyLength: z.number().int().min(1).max(1000),
  /** RECSYS_ITEM_ID_PREFIX / RECSYS_USER_ID_PREFIX: graph models keep numeric ids; the external id is prefix + number ('' for MovieLens, 'i'/'u' for the synthetic stream) */
  itemIdPrefix: z.string(),
  userIdPrefix: z.string(),
  /** RECSYS_SCORE_BATCH_CANDIDATES: concurrent requests are scored in one model call up to this many candidates; 0 = no micro-batching @default 2000 */
  batchCandidates: z.number().int().min(0).max(100_000),
  /** RECSYS_SERVE_RANKER_THREAD: run the ranker's predictions in a worker thread, beside the event loop @default true */
  rankerThread: z.boolean(),
  /** RECSYS_TF_THREADS: TensorFlow's threads per op; 0 = one per core @default 1 (see the README's serving benchmark) */
  tfThreads: z.number().int().min(0).max(256),
  /** RECSYS_HEAP_GROWING_PERCENT: V8 lets the heap grow to live × (1 + p/100) before a full GC; 0 = V8's heuristic @default 300 (see the README's serving benchmark) */
  heapGrowingPercent: z.number().int().min(0).max(1000),
  /** RECSYS_ITEM_CACHE_SECONDS: how long item attributes are cached @default 60 */
  itemCacheSeconds: z.number().min(0),
  /** RECSYS_SERVE_PRETENURING: keep V8's allocation-site pretenuring, which a server turns off (infra/v8-heap.ts) @default false */
  pretenuring: z.boolean(),
});
export type ServeSettings = z.infer<typeof ServeSettingsSchema>;

const num = (value: string | undefined, fallback: number): number => (value === undefined || value === '' ? fallback : Number(value));

const bool = (name: string, value: string | undefined): boolean => {
  if (value === undefined || value === '' || /^(0|false|no)$/i.test(value)) return false;
  if (/^(1|true|yes)$/i.test(value)) return true;
  throw new ValidationError(`${name} must be true or false, got ${JSON.stringify(value)}`);
};

/** RECSYS_ADMIN_TOKEN, or the first line of the file RECSYS_ADMIN_TOKEN_FILE names; both at once is refused. */
export function adminTokenFrom(env: NodeJS.ProcessEnv): string {
  const file = env.RECSYS_ADMIN_TOKEN_FILE;
  if (file === undefined || file === '') return env.RECSYS_ADMIN_TOKEN ?? '';
  if (env.RECSYS_ADMIN_TOKEN) throw new ValidationError('set RECSYS_ADMIN_TOKEN or RECSYS_ADMIN_TOKEN_FILE (--admin-token-file), not both');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ValidationError(`cannot read the admin token file ${file} (RECSYS_ADMIN_TOKEN_FILE / --admin-token-file): ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const token = text.split(/\r?\n/)[0]!.trim();
  if (token === '') throw new ValidationError(`the admin token file ${file} is empty`);
  return token;
}

export function loadServeSettings(env: NodeJS.ProcessEnv = process.env, overrides: Partial<ServeSettings> = {}): ServeSettings {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return parseWith(
    ServeSettingsSchema,
    {
      host: env.RECSYS_SERVE_HOST || '127.0.0.1',
      port: num(env.RECSYS_SERVE_PORT, 8080),
      registry: defaultRegistryDir(env),
      ranker: env.RECSYS_RANKER_MODEL || 'ml100k-din',
      retrieval: env.RECSYS_RETRIEVAL_MODEL ?? '',
      precision: env.RECSYS_SERVE_PRECISION || 'float',
      onlineStore: env.RECSYS_ONLINE_STORE || 'redis',
      decisions: env.RECSYS_DECISIONS || 'kafka',
      decisionsFile: env.RECSYS_DECISIONS_FILE || 'var/decisions.jsonl',
      adminToken: adminTokenFrom(env),
      allowLatest: bool('RECSYS_SERVE_ALLOW_LATEST', env.RECSYS_SERVE_ALLOW_LATEST),
      allowItemMismatch: bool('RECSYS_SERVE_ALLOW_ITEM_MISMATCH', env.RECSYS_SERVE_ALLOW_ITEM_MISMATCH),
      drainSeconds: num(env.RECSYS_SERVE_DRAIN_SECONDS, 5),
      exploration: env.RECSYS_EXPLORATION || 'none',
      epsilon: num(env.RECSYS_EPSILON, 0.1),
      temperature: num(env.RECSYS_TEMPERATURE, 0.05),
      numCandidates: num(env.RECSYS_NUM_CANDIDATES, 200),
      ann: env.RECSYS_ANN || 'hnsw',
      annEf: num(env.RECSYS_ANN_EF, 400),
      annM: num(env.RECSYS_ANN_M, 32),
      annMinRecall: num(env.RECSYS_ANN_MIN_RECALL, 0.9),
      pollSeconds: num(env.RECSYS_REGISTRY_POLL_SECONDS, 10),
      modelsChannel: env.RECSYS_MODELS_CHANNEL ?? 'recsys:models',
      foldInChannel: env.RECSYS_FOLD_IN_CHANNEL ?? 'recsys:fold-in',
      maxBodyBytes: num(env.RECSYS_SERVE_MAX_BODY, 512 * 1024),
      historyLength: num(env.RECSYS_HISTORY_LENGTH, 50),
      itemIdPrefix: env.RECSYS_ITEM_ID_PREFIX ?? '',
      userIdPrefix: env.RECSYS_USER_ID_PREFIX ?? '',
      itemCacheSeconds: num(env.RECSYS_ITEM_CACHE_SECONDS, 60),
      batchCandidates: num(env.RECSYS_SCORE_BATCH_CANDIDATES, 2000),
      rankerThread: bool('RECSYS_SERVE_RANKER_THREAD', env.RECSYS_SERVE_RANKER_THREAD || 'true'),
      tfThreads: num(env.RECSYS_TF_THREADS, 1),
      heapGrowingPercent: num(env.RECSYS_HEAP_GROWING_PERCENT, DEFAULT_HEAP_GROWING_PERCENT),
      pretenuring: bool('RECSYS_SERVE_PRETENURING', env.RECSYS_SERVE_PRETENURING),
      ...defined,
    },
    'invalid serving settings (check RECSYS_SERVE_*, RECSYS_* env vars and flags)',
  );
}
