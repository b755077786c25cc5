import { z } from 'zod';

export const GRAPH_MODEL_TYPES = ['mf-bpr', 'lightgcn', 'sheaf-scalar', 'sheaf-matrix'] as const;
export type GraphModelType = (typeof GRAPH_MODEL_TYPES)[number];

/** What defines a graph model's shape; saved with its artifact. */
export const GraphModelConfigSchema = z.object({
  type: z.enum(GRAPH_MODEL_TYPES),
  /** Embedding width; for sheaf-matrix = stalkDim × channels. @default 64 */
  dim: z.number().int().positive().default(64),
  /** Propagation layers (ignored by mf-bpr). @default 3 */
  layers: z.number().int().nonnegative().default(3),
  /** Stalk dimension d of sheaf-matrix (2–8); sheaf-scalar is d = 1. @default 4 */
  stalkDim: z.number().int().min(2).max(8).default(4),
  /** Diffusion step α of the sheaf layers (Sheaf4Rec: 1.0). @default 1 */
  stepSize: z.number().positive().default(1),
  /**
   * Sheaf only. Initial bias of the restriction-map learner; 0 = no bias (the
   * official code). With b > 0 the maps start near tanh(b)·I instead of near 0,
   * so the first layers already diffuse like a normalised graph Laplacian. @default 0
   */
  mapBias: z.number().nonnegative().default(0),
  /** Sheaf only. Channel kernel W: PyTorch's uniform default (official) or the identity (x − α·L·x at the start). @default 'uniform' */
  kernelInit: z.enum(['uniform', 'identity']).default('uniform'),
  /** Std of the normal initialisation of the layer-0 embeddings. @default 0.1 */
  initStd: z.number().positive().default(0.1),
  seed: z.number().int().default(1),
}).superRefine((c, ctx) => {
  if (c.type === 'sheaf-matrix' && c.dim % c.stalkDim !== 0) ctx.addIssue({ code: 'custom', path: ['stalkDim'], message: `dim ${c.dim} is not a multiple of stalkDim ${c.stalkDim}` });
});

export const GraphTrainingSchema = z.object({
  /** @default 200 */
  epochs: z.number().int().positive().default(200),
  /** BPR triples per step. @default 1024 */
  batchSize: z.number().int().positive().default(1024),
  /** Adam. @default 0.001 */
  learningRate: z.number().positive().default(1e-3),
  /**
   * Adam learning rate of the propagation weights (sheaf map learners and
   * kernels), when it should differ from the embeddings' (Adam moves every
   * weight by ~lr per step, a lot for a kernel that starts at the identity).
   * @default learningRate
   */
  layerLearningRate: z.number().positive().optional(),
  /** L2 on the batch's layer-0 embeddings. @default 1e-4 */
  decay: z.number().nonnegative().default(1e-4),
  /** Validation NDCG@k checks without improvement before stopping. @default 5 */
  patience: z.number().int().positive().default(5),
  /** Epochs between validation checks. @default 1 */
  evalEvery: z.number().int().positive().default(1),
  /** The K of the early-stopping metric NDCG@K. @default 20 */
  k: z.number().int().positive().default(20),
  /** Evaluation runs: after early stopping, retrain on train ∪ validation for the chosen epoch count, test and publish that model. @default true */
  retrain: z.boolean().default(true),
  /**
   * Validation checks before this epoch neither count as best nor stop
   * training. Unset: trainGraphModel uses 1 (every check counts); `recsys
   * train-cf` chooses by source (pipelines/training/cf-training.ts).
   */
  minEpochs: z.number().int().positive().optional(),
  /**
   * BPR negatives drawn ∝ (item degree + 1)^negativeExponent among the
   * user's unseen items; 0 = uniform. Unset: trainGraphModel uses 0;
   * `recsys train-cf` chooses by source.
   */
  negativeExponent: z.number().min(0).max(1).optional(),
});

export type GraphModelConfig = z.infer<typeof GraphModelConfigSchema>;
export type GraphModelOptions = z.input<typeof GraphModelConfigSchema>;
export type GraphTrainingConfig = z.infer<typeof GraphTrainingSchema>;
