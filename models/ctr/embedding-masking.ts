import type { Tensor } from '../layers/params.js';
import type { tf } from '../../infra/tf.js';
import type { EmbeddingLayout } from '../../features/embedding/index.js';

type Tensor2D = ReturnType<typeof tf.tensor2d>;

/**
 * A hook that masks embeddings between the lookup and the model: pruned rows
 * and dimensions (OptEmbed's supernet and the pruned model it produces).
 * Called inside the gradient tape when training.
 */
export interface EmbeddingMasking {
  /**
   * A layout field's looked-up rows, one per (position, chunk), [n, table dim];
   * `tableRows` are their rows in the field's table.
   */
  maskRows(field: string, rows: Tensor2D, tableRows: Int32Array, training: boolean): Tensor2D;
  /** A layout field's embeddings, [n, chunks × dim]. */
  maskOutput(field: string, output: Tensor2D, training: boolean): Tensor2D;
  /** A term added to the training loss, if any (scalar). */
  penalty(): Tensor | undefined;
  /** Embedding parameters the model really uses, when the mask removes some. */
  embeddingParameters?(layout: EmbeddingLayout): number;
  /** Called before each training step (a supernet samples its sub-network here). */
  beforeStep(): void;
}
