import { dequantizeInt8, quantizeInt8, reconstructionError, type ReconstructionError } from '../../features/embedding/index.js';
import type { AttributeMap, InteractionEvent } from '../../features/events/event-schema.js';
import type { BehaviourEntry, Example } from '../../features/samples/example.js';
import type { CtrModel } from './ctr-model.js';

export interface ScoreRequest {
  userId: string;
  user?: AttributeMap;
  /** Most recent first, as the online store keeps it. */
  history: readonly BehaviourEntry[];
  candidates: readonly string[];
  /** Request-time context features. */
  context?: AttributeMap;
  ts?: number;
}

export type Precision = 'float' | 'int8';

/**
 * Scores one user's candidates with a loaded model: the request becomes
 * the same Example shape the sample builder makes in training, so the feature
 * encoder saved with the model turns it into inputs exactly as in training.
 */
export class CtrScorer {
  private constructor(readonly model: CtrModel, readonly precision: Precision, readonly quantizationError: ReconstructionError[] | undefined) {}

  /**
   * int8: every table is quantized with a per-row scale and served from the
   * dequantized values, so scores show exactly what int8 storage costs.
   */
  static fromModel(model: CtrModel, precision: Precision = 'float'): CtrScorer {
    let errors: ReconstructionError[] | undefined;
    if (precision === 'int8') {
      errors = model.layout.tables.map((table) => {
        const restored = dequantizeInt8(quantizeInt8(table.weights, table.dim));
        const error = reconstructionError(table.weights, restored);
        table.weights.set(restored);
        return error;
      });
    }
    return new CtrScorer(model, precision, errors);
  }

  /** Click probabilities for the candidates, in their order; items unknown to the model score as cold start. */
  score(request: ScoreRequest, itemAttributes: (itemId: string) => AttributeMap = () => ({})): Float32Array {
    return this.model.predict(this.model.encoder.encode(requestExamples(request, itemAttributes)));
  }
}

/**
 * The Examples a request stands for, one per candidate. They share one history
 * array: the encoder and the model's attention then do the user's side once
 * per request instead of once per candidate.
 */
export function requestExamples(request: ScoreRequest, itemAttributes: (itemId: string) => AttributeMap): Example[] {
  const ts = request.ts ?? Date.now();
  const history = [...request.history];
  const user = request.user ?? {};
  return request.candidates.map((itemId, i) => {
    const event: InteractionEvent = {
      schema_version: 1, type: 'impression', event_id: `score-${i}`, ts, user_id: request.userId, item_id: itemId,
      ...(request.context ? { context: request.context } : {}),
    };
    return { event, label: 0, user, item: itemAttributes(itemId), history, itemAttributes };
  });
}
