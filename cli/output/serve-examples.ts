import type { Event } from '../../features/events/event-schema.js';

/** Real ids for the curl examples the main job prints. */
export interface ExampleIds {
  /** A user with a history in the online store (and a retrieval embedding, when there is retrieval). */
  userId: string;
  /** Popular items the user has not seen: score/recommend candidates; the first is looked up. */
  items: string[];
}

export interface CurlExample {
  what: string;
  command: string;
}

const json = (body: unknown) => `'${JSON.stringify(body)}'`;

/** One curl per route worth trying: score, recommend, embedding lookups, health. */
export function curlExamples(url: string, ids: ExampleIds, { retrieval }: { retrieval: boolean }): CurlExample[] {
  const post = (route: string, body: unknown) => `curl -s ${url}${route} -H 'content-type: application/json' -d ${json(body)}`;
  const item = ids.items[0]!;
  return [
    { what: 'score candidates for a user (history from the online store)', command: post('/v1/score', { user_id: ids.userId, candidates: ids.items }) },
    retrieval
      ? { what: 'recommend: retrieval over the graph embeddings → DIN ranking → one decision record', command: post('/v1/recommend', { user_id: ids.userId, k: 5 }) }
      : { what: 'recommend among supplied candidates (no retrieval model) → one decision record', command: post('/v1/recommend', { user_id: ids.userId, k: 2, candidates: ids.items }) },
    { what: "the ranker's embedding of an item id", command: `curl -s ${url}/v1/embeddings/features/item_id/${encodeURIComponent(item)}` },
    ...(retrieval ? [{ what: "an item's retrieval (graph) embedding", command: `curl -s ${url}/v1/embeddings/items/${encodeURIComponent(item)}` }] : []),
    { what: 'health', command: `curl -s ${url}/healthz` },
  ];
}

/**
 * Picks the example ids from the events that filled the online store: the
 * most recent interacting user that `accept` admits and that has a history,
 * and the most frequent items they have not interacted with.
 */
export async function pickExampleIds(events: readonly Event[], hasHistory: (userId: string) => Promise<boolean>, accept: (userId: string) => boolean = () => true, count = 3): Promise<ExampleIds> {
  const seen = new Map<string, Set<string>>();
  const frequency = new Map<string, number>();
  for (const e of events) {
    if (e.type === 'item_update' || e.type === 'user_update') continue;
    frequency.set(e.item_id, (frequency.get(e.item_id) ?? 0) + 1);
    let items = seen.get(e.user_id);
    if (!items) seen.set(e.user_id, (items = new Set()));
    items.add(e.item_id);
  }
  let userId: string | undefined;
  const tried = new Set<string>();
  for (let k = events.length - 1; k >= 0 && userId === undefined; k--) {
    const e = events[k]!;
    if (e.type === 'item_update' || e.type === 'user_update' || tried.has(e.user_id)) continue;
    tried.add(e.user_id);
    if (accept(e.user_id) && (await hasHistory(e.user_id))) userId = e.user_id;
  }
  if (userId === undefined) throw new Error('no user with a history in the data');
  const known = seen.get(userId) ?? new Set<string>();
  const items = [...frequency.entries()].filter(([id]) => !known.has(id)).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, count).map(([id]) => id);
  return { userId, items };
}
