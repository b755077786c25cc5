import type { Command } from 'commander';
import { defaultRegistryDir } from '../../infra/config.js';
import { createKafka } from '../../infra/kafka/kafka-client.js';
import { createRedis } from '../../infra/redis/redis-client.js';
import { onShutdown } from '../../infra/shutdown.js';
import { EventPositivesSchema } from '../../features/interactions/event-positives.js';
import { foldInChannel } from '../../pipelines/fold-in/fold-in-store.js';
import { FoldInWorker } from '../../pipelines/fold-in/fold-in-worker.js';
import { loadIngestSettings } from '../../pipelines/ingest/ingest-config.js';
import { ModelRegistry } from '../../pipelines/registry/model-registry.js';
import { eventsTopicOptions } from '../kafka-options.js';
import { nonNegative, positiveInt } from '../options.js';
import { servicesFromFlags, type ServiceFlags } from './ingest.js';

interface FoldInFlags extends ServiceFlags {
  retrieval: string;
  registry: string;
  topic?: string;
  group?: string;
  allowLatest: boolean;
  catalogAttribute: string;
  minRating?: number;
  pollSeconds: number;
  channel?: string;
  fromBeginning: boolean;
}

export function registerFoldIn(program: Command): void {
  const command = program
    .command('fold-in')
    .description('make items the served retrieval model was not trained on retrievable as their clicks arrive: reads the events topic, places each new item by the model\'s fold-in rule (LightGCN: its propagation rule; other models: the mean of its users\' vectors) and announces it to `recsys serve`, which adds it to the live index; an item_update with the catalog attribute false takes an item out of retrieval (true puts it back). Follows the model\'s serving version; runs until SIGTERM/SIGINT')
    .requiredOption('--retrieval <name>', 'the graph model\'s registry name (as given to `recsys serve --retrieval`)')
    .option('--registry <dir>', 'model registry folder (env RECSYS_REGISTRY)', defaultRegistryDir())
    .option('--group <id>', 'consumer group (default recsys-fold-in.<model>)')
    .option('--allow-latest', 'follow the newest version when the model has no serving alias', false)
    .option('--catalog-attribute <name>', 'item attribute whose value false removes the item from retrieval', 'in_catalog')
    .option('--min-rating <x>', 'rating events with value ≥ x count as positives (default 4, as train-cf); clicks and clicked impressions always do', nonNegative('min-rating'))
    .option('--poll-seconds <s>', 'check the registry for a new serving version this often', positiveInt('poll-seconds'), 5)
    .option('--channel <name>', 'Redis channel serving listens on (env RECSYS_FOLD_IN_CHANNEL, default recsys:fold-in)')
    .option('--no-from-beginning', 'a new consumer group starts at the end of the topic instead of its beginning');
  eventsTopicOptions(command)
    .option('--redis-url <url>', 'Redis URL (env REDIS_URL)')
    .option('--redis-prefix <prefix>', 'key prefix (env REDIS_KEY_PREFIX, default recsys:)')
    .action(async (opts: FoldInFlags) => {
      const services = servicesFromFlags(opts);
      const topic = loadIngestSettings(process.env, { eventsTopic: opts.topic }).eventsTopic;
      const redis = createRedis(services.redis, { maxRetriesPerRequest: 3 });
      onShutdown('redis', () => redis.quit());
      const worker = await FoldInWorker.start({
        kafka: createKafka(services.kafka),
        redis,
        registry: new ModelRegistry(opts.registry),
        model: opts.retrieval,
        topic,
        ...(opts.group ? { groupId: opts.group } : {}),
        positives: EventPositivesSchema.parse(opts.minRating === undefined ? {} : { minRating: opts.minRating }),
        catalogAttribute: opts.catalogAttribute,
        allowLatest: opts.allowLatest,
        pollSeconds: opts.pollSeconds,
        keyPrefix: services.redis.keyPrefix,
        channel: opts.channel ?? foldInChannel(),
        fromBeginning: opts.fromBeginning,
      });
      onShutdown('fold-in', async () => {
        await worker.stop();
        console.log(JSON.stringify({ foldIn: worker.stats }));
      });
      console.error(`folding new items of ${opts.retrieval} in from ${topic} (SIGTERM to stop)`);
      await worker.done;
    });
}
