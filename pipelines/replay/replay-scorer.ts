import type { AttributeMap, InteractionEvent } from '../../features/events/event-schema.js';
import type { Example } from '../../features/samples/example.js';
import type { CtrModel } from '../../models/ctr/ctr-model.js';
import type { LoggedDecision } from './estimators/logged-decision.js';
import { PointInTimeState } from './point-in-time-state.js';

/**
 * Scores logged candidate sets with one CTR model as serving would have at
 * decision time: the same Example shape CtrScorer builds from a request (user
 * id, attributes and behaviour history as of the decision, request context),
 * with the model's own feature spec rebuilding the point-in-time state. Many
 * decisions go into one predict call.
 */
export class ReplayScorer {
  readonly state: PointInTimeState;

  constructor(readonly model: CtrModel) {
    this.state = new PointInTimeState(model.encoder.spec);
  }

  /** Examples of one decision's candidates, in candidate order, against the current state. */
  examples(d: LoggedDecision): Example[] {
    const history = this.state.history(d.userId);
    const user = this.state.user(d.userId);
    // Attributes as of now, not as of the batch's predict call (the state moves on meanwhile).
    const known = new Map<string, AttributeMap>();
    for (const id of [...d.candidates, ...history.map((h) => h.item_id)]) known.set(id, this.state.itemAttributes(id));
    const itemAttributes = (id: string): AttributeMap => known.get(id) ?? {};
    return d.candidates.map((itemId, i) => {
      const event: InteractionEvent = {
        schema_version: 1, type: 'impression', event_id: `${d.requestId}:${i}`, ts: d.ts, user_id: d.userId, item_id: itemId,
        ...(d.context ? { context: d.context as AttributeMap } : {}),
      };
      return { event, label: 0, user, item: itemAttributes(itemId), history, itemAttributes };
    });
  }

  /** Scores examples gathered from several decisions; returns one Float32Array per decision. */
  predict(batches: readonly Example[][]): Float32Array[] {
    const all = batches.flat();
    const scores = all.length > 0 ? this.model.predict(this.model.encoder.encode(all)) : new Float32Array(0);
    const out: Float32Array[] = [];
    let at = 0;
    for (const b of batches) {
      out.push(scores.slice(at, at + b.length));
      at += b.length;
    }
    return out;
  }
}
