import type { AttributeMap, InteractionEvent } from '../../features/events/event-schema.js';
import type { BehaviourEntry, Example } from '../../features/samples/example.js';
import type { CtrModel } from '../../models/ctr/ctr-model.js';
import type { LoggedDecision } from './estimators/logged-decision.js';
import { PointInTimeState } from './point-in-time-state.js';

/**
 * Scores logged candidate sets with one CTR model as serving would have at
 * decision time: the same Example shape CtrScorer builds from a request (user
 * id, attributes and behaviour history, request context). The user's side is
 * what serving logged it scored with when the decision carries it: a
 * reconstruction from the offline store's events cannot know which events
 * ingestion had not yet applied to the online store, nor a history the
 * request brought. Older decisions fall back to the point-in-time state the
 * model's own feature spec rebuilds. Item attributes always come from that
 * state. Many decisions go into one predict call.
 */
export class ReplayScorer {
  readonly state: PointInTimeState;

  /**
   * `version`: the registry name and version the model was loaded as. A
   * decision that version served keeps its logged scores: re-scoring it on
   * the same features agrees only up to float rounding, since TF's kernels
   * round a row differently by its place in a batch, and a greedy order
   * between near-equal scores would then be replayed differently from how it
   * was logged.
   */
  constructor(readonly model: CtrModel, readonly version?: { model: string; version: number }) {
    this.state = new PointInTimeState(model.encoder.spec);
  }

  /** True when `d` was scored by this very model version (its logged scores are this model's). */
  served(d: LoggedDecision): boolean {
    return this.version !== undefined && d.ranker?.model === this.version.model && d.ranker.version === this.version.version;
  }

  /** Examples of one decision's candidates, in candidate order, against the current state. */
  examples(d: LoggedDecision): Example[] {
    const history: BehaviourEntry[] = d.served
      // Only the order of a history reaches the model, not its times.
      ? d.served.history.map((item_id, i) => ({ item_id, ts: d.ts - 1 - i }))
      : this.state.history(d.userId);
    const user = d.served ? (d.served.user as AttributeMap) : this.state.user(d.userId);
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

  /**
   * Scores examples gathered from several decisions; returns one Float32Array
   * per decision. With `decisions` (batches[i] built from decisions[i]), the
   * ones this version served return their logged scores and are not scored.
   */
  predict(batches: readonly Example[][], decisions?: readonly LoggedDecision[]): Float32Array[] {
    const logged = batches.map((_, i) => (decisions?.[i] && this.served(decisions[i]) ? decisions[i].loggedScores : undefined));
    const all = batches.filter((_, i) => !logged[i]).flat();
    const scores = all.length > 0 ? this.model.predict(this.model.encoder.encode(all)) : new Float32Array(0);
    const out: Float32Array[] = [];
    let at = 0;
    batches.forEach((b, i) => {
      if (logged[i]) {
        out.push(Float32Array.from(logged[i]));
        return;
      }
      out.push(scores.slice(at, at + b.length));
      at += b.length;
    });
    return out;
  }
}
