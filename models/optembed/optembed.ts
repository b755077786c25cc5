import type { EncodedBatch, FeatureEncoder } from '../../features/spec/feature-encoder.js';
import { ValidationError } from '../../infra/errors.js';
import { createCtrModel } from '../create-model.js';
import type { CtrModelConfig, CtrModelConfigInput, LayoutConfig } from '../ctr/ctr-config.js';
import type { CtrModel } from '../ctr/ctr-model.js';
import { layoutFields } from '../ctr/embedding-inputs.js';
import type { RowMask } from '../ctr/row-mask.js';
import { auc } from '../metrics/classification.js';
import { range, sliceBatch } from '../train/batches.js';
import { predictAll } from '../train/evaluate.js';
import { trainCtr, type TrainOptions, type TrainResult } from '../train/train-ctr.js';
import { evolutionarySearch, type EvolutionOptions, type SearchResult } from './evolutionary-search.js';
import { SupernetMasking, type FieldUnits } from './supernet-masking.js';

export type OptEmbedStage = 'supernet' | 'search' | 'retrain';

export interface OptEmbedOptions {
  /** Weight of the threshold regulariser α·Σ exp(−t_f). */
  alpha: number;
  thresholdInit?: number;
  /** Supernet training and retraining (early stopping on validation). */
  training: Omit<TrainOptions, 'seed'>;
  search: Omit<EvolutionOptions, 'seed'>;
  /**
   * Largest share of the unpruned embedding parameters a searched candidate
   * may keep: per-field tables, kept rows × dimensions; a Unified Embedding
   * table, resized to the keys its chunk counts hash into it. @default 1 (no budget)
   */
  maxEmbeddingFraction?: number;
  /** Validation examples each candidate is scored on (the first n). @default all */
  searchExamples?: number;
  onStage?: (stage: OptEmbedStage, seconds: number) => void;
  onGeneration?: (generation: number, bestAuc: number) => void;
}

export interface FieldPruning {
  field: string;
  /** Units kept (dimensions, or chunks for Unified Embedding) of `maxUnits`. */
  units: number;
  maxUnits: number;
  rows: number;
  keptRows: number;
  /** Share of the field's embedding values removed (rows and units). */
  sparsity: number;
}

export interface OptEmbedResult {
  /** The retrained, pruned model: per-field tables with their row mask installed and pruned rows zeroed. */
  model: CtrModel;
  config: CtrModelConfig;
  /** Per-field tables only: a resized shared table has other rows than the supernet's. */
  rowMask: RowMask | undefined;
  supernet: { train: TrainResult; thresholds: Record<string, number> };
  search: SearchResult & { units: Record<string, number> };
  retrain: TrainResult;
  fields: FieldPruning[];
  parameters: { unpruned: number; pruned: number };
  stageSeconds: Record<OptEmbedStage, number>;
}

/**
 * OptEmbed's three stages on a CTR model configuration:
 * 1. supernet: learnable per-field row thresholds and per-step sampled
 *    per-field sizes (SupernetMasking);
 * 2. evolutionary search of per-field sizes on validation AUC, each candidate
 *    scored by masking the supernet (no retraining), within an optional
 *    parameter budget;
 * 3. retraining from scratch with the found sizes: per-field tables get
 *    those dimensions and the supernet's row mask; Unified Embedding fields
 *    get that many chunks, and the shared table shrinks with the number of
 *    (value, chunk) keys hashed into it, so each row holds as many keys as
 *    before. Row thresholds are learned for per-field tables only: a row of
 *    the resized shared table is not a row of the supernet's.
 */
export function runOptEmbed(encoder: FeatureEncoder, input: CtrModelConfigInput, train: EncodedBatch, validation: EncodedBatch, options: OptEmbedOptions): OptEmbedResult {
  const stageSeconds = { supernet: 0, search: 0, retrain: 0 };
  const timed = <T>(stage: OptEmbedStage, work: () => T): T => {
    const started = performance.now();
    const result = work();
    stageSeconds[stage] = (performance.now() - started) / 1000;
    options.onStage?.(stage, stageSeconds[stage]);
    return result;
  };

  const supernet = createCtrModel(encoder, input);
  const seed = supernet.config.seed;
  if (supernet.layout.kind === 'hashed') throw new ValidationError('OptEmbed retrains per-field or unified layouts; the hashed layout has one width for all fields');
  try {
    const unified = supernet.layout.kind === 'unified';
    const masking = new SupernetMasking(supernet, { alpha: options.alpha, thresholdInit: options.thresholdInit, seed, rowPruning: !unified });
    supernet.useMasking(masking);
    if (supernet.config.mbaLambda > 0) supernet.fitRowCounts([train]);
    const supernetTrain = timed('supernet', () => trainCtr(supernet, train, validation, { ...options.training, seed }));
    const rowMask = unified ? undefined : masking.rowMask(supernet.layout);
    const unpruned = supernet.layout.parameterCount().total;
    const cost = unified ? sharedTableCost(supernet, masking.units) : perFieldCost(masking.units, rowMask!);
    const budget = (options.maxEmbeddingFraction ?? 1) * unpruned;

    const n = Math.min(validation.size, options.searchExamples ?? validation.size);
    const subset = n === validation.size ? validation : sliceBatch(validation, range(validation.size), 0, n);
    const search = timed('search', () => evolutionarySearch(
      masking.units.map((u) => u.max),
      (candidate) => {
        masking.fix(candidate);
        return auc(subset.labels, predictAll(supernet, subset));
      },
      { ...options.search, seed },
      (candidate) => cost(candidate).parameters <= budget,
      options.onGeneration,
    ));
    const units = Object.fromEntries(masking.units.map((u, i) => [u.field, search.best[i]!]));
    const config = prunedConfig(supernet.config, units, cost(search.best).rows);

    const model = createCtrModel(encoder, config);
    if (rowMask) {
      rowMask.check(model.layout);
      model.useMasking(rowMask);
    }
    if (model.config.mbaLambda > 0) model.fitRowCounts([train]);
    const retrain = timed('retrain', () => trainCtr(model, train, validation, { ...options.training, seed }));
    rowMask?.zeroPrunedRows(model.layout);

    const fields = masking.units.map((u, i): FieldPruning => {
      const rows = supernet.layout.tables[supernet.layout.plans[i]!.table]!.rows;
      const keptRows = rowMask ? rowMask.keep.get(u.field)!.reduce((a, b) => a + b, 0) : rows;
      return { field: u.field, units: search.best[i]!, maxUnits: u.max, rows, keptRows, sparsity: 1 - (keptRows * search.best[i]!) / (rows * u.max) };
    });
    return {
      model, config: model.config, rowMask,
      supernet: { train: supernetTrain, thresholds: Object.fromEntries(masking.thresholdValues()) },
      search: { ...search, units }, retrain, fields,
      parameters: { unpruned, pruned: model.parameterCount().embedding },
      stageSeconds,
    };
  } finally {
    supernet.dispose();
  }
}

interface CandidateCost {
  parameters: number;
  /** The shared table's rows (Unified Embedding). */
  rows?: number;
}

/** Per-field tables: each field's kept rows × its units (dimensions). */
function perFieldCost(units: readonly FieldUnits[], rowMask: RowMask): (candidate: Int32Array) => CandidateCost {
  const kept = units.map((u) => rowMask.keep.get(u.field)!.reduce((a, b) => a + b, 0));
  return (candidate) => ({ parameters: kept.reduce((sum, rows, i) => sum + rows * candidate[i]!, 0) });
}

/**
 * A shared table sized for the (value, chunk) keys the candidate hashes into
 * it: field f contributes vocabulary_f × chunks_f keys, and the table keeps
 * the supernet's keys per row.
 */
function sharedTableCost(model: CtrModel, units: readonly FieldUnits[]): (candidate: Int32Array) => CandidateCost {
  const vocabulary = layoutFields(model.encoder, model.plans).map((f) => f.vocabularySize);
  const table = model.layout.tables[0]!;
  const keys = (chunks: ArrayLike<number>) => vocabulary.reduce((sum, v, i) => sum + v * chunks[i]!, 0);
  const full = keys(units.map((u) => u.max));
  return (candidate) => {
    const rows = Math.max(1, Math.ceil((table.rows * keys(candidate)) / full));
    return { parameters: rows * table.dim, rows };
  };
}

/** The model configuration the searched sizes describe. */
export function prunedConfig(config: CtrModelConfig, units: Readonly<Record<string, number>>, sharedRows?: number): CtrModelConfig {
  const embedding: LayoutConfig = config.embedding.kind === 'per-field'
    ? { ...config.embedding, dims: { ...units } }
    : config.embedding.kind === 'unified'
      ? { ...config.embedding, chunks: { ...units }, rows: sharedRows ?? config.embedding.rows }
      : config.embedding;
  return { ...config, embedding };
}
