import { Option, type Command } from 'commander';
import { ValidationError, errorMessage } from '../../infra/errors.js';
import { logger } from '../../infra/logger.js';
import { setTfThreads } from '../../infra/tf-threads.js';
import { setAllocationSitePretenuring, setHeapGrowingPercent } from '../../infra/v8-heap.js';
import { onShutdown } from '../../infra/shutdown.js';
import { EXPLORATION_SCHEMES } from '../../pipelines/decisions/decision-record.js';
import { ModelRegistry } from '../../pipelines/registry/model-registry.js';
import type { RegistryNotifier } from '../../pipelines/registry/registry-notifier.js';
import { createServicesNotifier } from '../../pipelines/registry/services-notifier.js';
import { loadServeSettings, type ServeSettings } from '../../serving/serve-config.js';
import { ServingMetrics } from '../../serving/serving-metrics.js';
import { fraction, nonNegative, oneOf, positiveInt } from '../options.js';
import { BROKERS_HELP } from '../kafka-options.js';
import { servicesFromFlags, type ServiceFlags } from './ingest.js';
import { loadDecisionSettings } from '../../pipelines/decisions/decision-settings.js';
import { serveBanner, servedExampleIds } from '../output/serve-banner.js';

const log = logger('serve');

type ServeFlags = ServiceFlags & Partial<ServeSettings> & { subscribe: boolean; foldIn: boolean; maxBody?: number; adminTokenFile?: string; adminToken?: string };

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the registry\'s serving versions over HTTP: /v1/score, /v1/recommend (ANN retrieval → DIN ranking → exploration → a decision record to Kafka), /v1/embeddings/…, /healthz, /readyz, /metrics, /admin; hot reload on registry changes; once ready prints (stderr) the models and versions it serves, retrieval or not, the online store, the decision sink, and curl examples with ids the models know; runs until SIGTERM/SIGINT')
    .option('--host <host>', 'interface to listen on (env RECSYS_SERVE_HOST, default 127.0.0.1)')
    .option('--port <port>', 'port (env RECSYS_SERVE_PORT, default 8080; 0 = any free port)', nonNegative('port'))
    .option('--registry <dir>', 'model registry folder (env RECSYS_REGISTRY, default var/registry)')
    .option('--ranker <name>', 'CTR model to rank with, served at name@serving (name@latest only with --allow-latest) (env RECSYS_RANKER_MODEL, default ml100k-din)')
    .option('--retrieval <name>', 'graph model whose item embeddings retrieval searches (env RECSYS_RETRIEVAL_MODEL; none by default: /v1/recommend then needs candidates)')
    .option('--precision <p>', 'embedding tables as float or int8 (env RECSYS_SERVE_PRECISION, default float)', oneOf('precision', ['float', 'int8'] as const))
    .option('--online-store <kind>', 'user histories from redis or an empty in-memory store (env RECSYS_ONLINE_STORE, default redis)', oneOf('online-store', ['redis', 'memory'] as const))
    .option('--decisions <sink>', 'decision records to kafka, a jsonl file or memory (env RECSYS_DECISIONS, default kafka; topic KAFKA_DECISIONS_TOPIC, default recsys.decisions)', oneOf('decisions', ['kafka', 'jsonl', 'memory'] as const))
    .option('--decisions-file <file>', 'file for --decisions jsonl (env RECSYS_DECISIONS_FILE, default var/decisions.jsonl)')
    .option('--admin-token-file <file>', 'file whose first line is the bearer token of the /admin routes, at least 32 characters (env RECSYS_ADMIN_TOKEN_FILE, or the token itself in RECSYS_ADMIN_TOKEN); none disables the routes')
    // Removed: a token in argv is readable by every local user (ps, /proc/<pid>/cmdline). Kept hidden to say so.
    .addOption(new Option('--admin-token <token>').hideHelp())
    .option('--allow-latest', 'serve a model\'s newest version when it has no serving alias (env RECSYS_SERVE_ALLOW_LATEST; default: such a model is refused)')
    .option('--allow-item-mismatch', 'serve a retrieval model whose items the ranker has not seen (under 10% of sampled items known), with a warning (env RECSYS_SERVE_ALLOW_ITEM_MISMATCH; default: refused)')
    .option('--drain-seconds <s>', 'on SIGTERM/SIGINT, /readyz answers 503 this long while requests are still served, then the listener closes and in-flight requests finish (env RECSYS_SERVE_DRAIN_SECONDS, default 5)', nonNegative('drain-seconds'))
    .option('--exploration <scheme>', `default exploration of /v1/recommend: ${EXPLORATION_SCHEMES.join(', ')} (env RECSYS_EXPLORATION, default none)`, oneOf('exploration', EXPLORATION_SCHEMES))
    .option('--epsilon <e>', 'epsilon of epsilon-greedy (env RECSYS_EPSILON, default 0.1)', fraction('epsilon'))
    .option('--temperature <t>', 'temperature of softmax sampling (env RECSYS_TEMPERATURE, default 0.05)', nonNegative('temperature'))
    .option('--num-candidates <n>', 'items retrieved for ranking (env RECSYS_NUM_CANDIDATES, default 200)', positiveInt('num-candidates'))
    .option('--ann <kind>', 'retrieval index: hnsw or exact (env RECSYS_ANN, default hnsw)', oneOf('ann', ['hnsw', 'exact'] as const))
    .option('--ann-ef <n>', 'HNSW search breadth (env RECSYS_ANN_EF, default 400)', positiveInt('ann-ef'))
    .option('--ann-m <n>', 'HNSW graph degree (env RECSYS_ANN_M, default 32)', positiveInt('ann-m'))
    .option('--ann-min-recall <r>', 'an HNSW index below this recall@100 on sampled users serves by exact search instead (env RECSYS_ANN_MIN_RECALL, default 0.9)', nonNegative('ann-min-recall'))
    .option('--poll-seconds <s>', 'check the registry folder for new serving versions this often; 0 = never (env RECSYS_REGISTRY_POLL_SECONDS, default 10)', nonNegative('poll-seconds'))
    .option('--models-channel <name>', 'Redis channel of registry events for hot reload (env RECSYS_MODELS_CHANNEL, default recsys:models)')
    .option('--no-subscribe', 'do not subscribe to registry events (poll only)')
    .option('--fold-in-channel <name>', 'Redis channel where `recsys fold-in` announces items placed since the retrieval model was trained (env RECSYS_FOLD_IN_CHANNEL, default recsys:fold-in)')
    .option('--no-fold-in', 'serve the retrieval model\'s trained items only (no fold-in of new items)')
    .option('--max-body <bytes>', 'largest request body; larger ones get 413 (env RECSYS_SERVE_MAX_BODY, default 524288)', positiveInt('max-body'))
    .option('--batch-candidates <n>', 'micro-batching: concurrent requests share one model call up to this many candidates; 0 = off (env RECSYS_SCORE_BATCH_CANDIDATES, default 2000)', nonNegative('batch-candidates'))
    .option('--no-ranker-thread', 'predict on the event loop instead of in a worker thread beside it (env RECSYS_SERVE_RANKER_THREAD=false; default: a thread, so HTTP work and predictions overlap)')
    .option('--tf-threads <n>', 'TensorFlow threads per op; 0 = one per core (env RECSYS_TF_THREADS, default 1: requests already run side by side)', nonNegative('tf-threads'))
    .option('--heap-growing-percent <p>', 'V8 lets the heap grow to live × (1 + p/100) before a full GC, so full GCs (and their latency spikes) are rare; 0 = V8\'s own heuristic (env RECSYS_HEAP_GROWING_PERCENT, default 300)', nonNegative('heap-growing-percent'))
    .option('--history-length <n>', 'behaviours read per user from the online store (env RECSYS_HISTORY_LENGTH, default 50)', positiveInt('history-length'))
    .option('--item-id-prefix <p>', 'graph item id → external id prefix, e.g. i for the synthetic stream (env RECSYS_ITEM_ID_PREFIX, default none)')
    .option('--user-id-prefix <p>', 'graph user id → external id prefix, e.g. u (env RECSYS_USER_ID_PREFIX, default none)')
    .option('--brokers <list>', BROKERS_HELP)
    .option('--redis-url <url>', 'Redis URL (env REDIS_URL)')
    .option('--redis-prefix <prefix>', 'key prefix of the online store (env REDIS_KEY_PREFIX, default recsys:)')
    .action(async (opts: ServeFlags) => {
      if (opts.adminToken !== undefined) throw new ValidationError('--admin-token was removed: every local user can read a command line; put the token in a file (--admin-token-file, RECSYS_ADMIN_TOKEN_FILE) or in RECSYS_ADMIN_TOKEN');
      const services = servicesFromFlags(opts);
      const env = opts.adminTokenFile !== undefined ? { ...process.env, RECSYS_ADMIN_TOKEN: '', RECSYS_ADMIN_TOKEN_FILE: opts.adminTokenFile } : process.env;
      const settings = loadServeSettings(env, {
        host: opts.host, port: opts.port, registry: opts.registry, ranker: opts.ranker, retrieval: opts.retrieval, precision: opts.precision,
        onlineStore: opts.onlineStore, decisions: opts.decisions, decisionsFile: opts.decisionsFile, allowLatest: opts.allowLatest, allowItemMismatch: opts.allowItemMismatch, drainSeconds: opts.drainSeconds,
        exploration: opts.exploration, epsilon: opts.epsilon, temperature: opts.temperature, numCandidates: opts.numCandidates,
        ann: opts.ann, annEf: opts.annEf, annM: opts.annM, annMinRecall: opts.annMinRecall, pollSeconds: opts.pollSeconds, maxBodyBytes: opts.maxBody,
        historyLength: opts.historyLength, tfThreads: opts.tfThreads, heapGrowingPercent: opts.heapGrowingPercent, batchCandidates: opts.batchCandidates, itemIdPrefix: opts.itemIdPrefix, userIdPrefix: opts.userIdPrefix,
        ...(opts.rankerThread === false ? { rankerThread: false } : {}),
        modelsChannel: opts.subscribe ? opts.modelsChannel : '',
        foldInChannel: opts.foldIn ? opts.foldInChannel : '',
      });
      let notifier: RegistryNotifier | undefined;
      try {
        notifier = createServicesNotifier(services);
      } catch (error) {
        log.warn({ err: errorMessage(error) }, 'registry events of admin promotes go to the folder only');
      }
      const registry = new ModelRegistry(settings.registry, notifier ? { notifier } : {});
      setTfThreads(settings.tfThreads);
      setHeapGrowingPercent(settings.heapGrowingPercent);
      setAllocationSitePretenuring(settings.pretenuring);
      // Loaded on use: TensorFlow loads only for commands that need it, so `doctor` and `models` work without it.
      const { startServer } = await import('../../serving/server.js');
      const running = await startServer({ settings, services, registry, metrics: new ServingMetrics().withProcessMetrics() });
      const stopped = new Promise<void>((resolve) => {
        onShutdown('serve', async () => {
          await running.close({ drainMs: settings.drainSeconds * 1000 });
          await notifier?.close();
          resolve();
        }, { timeoutMs: settings.drainSeconds * 1000 });
      });
      const bundle = running.models.current;
      if (!bundle) {
        console.error(`serving ${settings.ranker}${settings.retrieval ? ` + ${settings.retrieval}` : ''} on ${running.url} (SIGTERM to stop)`);
      } else {
        const { retrieval } = bundle;
        const banner = serveBanner({
          url: running.url,
          ranker: bundle.ranker.served,
          retrieval: retrieval ? { ...retrieval.served, items: retrieval.itemIds.length, ann: retrieval.index === retrieval.exact ? 'exact' : 'HNSW', recall: retrieval.recall } : null,
          onlineStore: settings.onlineStore === 'redis' ? `redis ${withoutPassword(services.redis.url)} (keys ${services.redis.keyPrefix}*)` : 'memory (empty: no user has a history)',
          decisions: settings.decisions === 'kafka' ? `kafka topic ${loadDecisionSettings(process.env).decisionsTopic}` : settings.decisions === 'jsonl' ? `jsonl ${settings.decisionsFile}` : 'memory (kept in the process only)',
        }, servedExampleIds({ ranker: bundle.ranker.model.encoder.toJSON(), retrieval: retrieval ? { itemIds: retrieval.itemIds, userIds: retrieval.userRow.keys() } : null }));
        console.error(banner.join('\n'));
      }
      await stopped;
    });
}

/** A URL fit to print: its password (redis://:secret@host) replaced. */
function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}
