import type { Command } from 'commander';
import { defaultRegistryDir } from '../../infra/config.js';
import { loadTrainConfig } from '../../pipelines/training/train-config.js';
import { fraction, integer, nonNegative, nonNegativeInt, positiveInt } from '../options.js';

interface OptEmbedFlags {
  config: string;
  seed?: number;
  registry: string;
  epochs?: number;
  population?: number;
  generations?: number;
  topK?: number;
  mutations?: number;
  crossovers?: number;
  budget?: number;
  alpha?: number;
  json?: boolean;
}

export function registerOptEmbed(program: Command): void {
  program
    .command('optembed')
    .description("prune a CTR model's embeddings with OptEmbed (supernet → evolutionary search → retrain) and publish the pruned model as <name>-optembed")
    .requiredOption('--config <file>', 'training config (its optembed section holds the defaults); e.g. configs/models/ml100k-din-unified.json')
    .option('--seed <n>', 'random seed (overrides model.seed)', integer('seed'))
    .option('--registry <dir>', 'model registry folder (env RECSYS_REGISTRY)', defaultRegistryDir())
    .option('--epochs <n>', 'maximum epochs of the supernet and of the retraining', positiveInt('epochs'))
    .option('--population <n>', 'search: first-generation candidates', positiveInt('population'))
    .option('--generations <n>', 'search: generations', positiveInt('generations'))
    .option('--top-k <n>', 'search: candidates kept as parents each generation', positiveInt('top-k'))
    .option('--mutations <n>', 'search: children by mutation each generation', nonNegativeInt('mutations'))
    .option('--crossovers <n>', 'search: children by crossover each generation', nonNegativeInt('crossovers'))
    .option('--budget <fraction>', 'largest share of the unpruned embedding parameters to keep, in (0, 1]', fraction('budget'))
    .option('--alpha <x>', 'weight of the threshold regulariser (more row pruning when larger)', nonNegative('alpha'))
    .option('--json', 'print the result as one JSON line as well')
    .action(async (flags: OptEmbedFlags) => {
      const loaded = loadTrainConfig(flags.config);
      const config = flags.epochs ? { ...loaded, training: { ...loaded.training, epochs: flags.epochs } } : loaded;
      const { optembedWithProgress, printOptEmbedResult, optembedSummary } = await import('../runs/optembed-run.js');
      const result = await optembedWithProgress(config, flags.registry, flags.seed, {
        ...(flags.alpha !== undefined ? { alpha: flags.alpha } : {}),
        ...(flags.budget !== undefined ? { maxEmbeddingFraction: flags.budget } : {}),
        search: {
          ...(flags.population ? { population: flags.population } : {}), ...(flags.generations ? { generations: flags.generations } : {}),
          ...(flags.topK ? { topK: flags.topK } : {}), ...(flags.mutations !== undefined ? { mutations: flags.mutations } : {}), ...(flags.crossovers !== undefined ? { crossovers: flags.crossovers } : {}),
        },
      });
      printOptEmbedResult(result);
      if (flags.json) console.log(JSON.stringify(optembedSummary(result)));
    });
}
