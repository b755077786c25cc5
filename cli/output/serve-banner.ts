import type { FeatureEncoderJson } from '../../features/spec/feature-encoder.js';
import { curlExamples, type ExampleIds } from './serve-examples.js';

/** What a running `recsys serve` serves, as the banner needs it. */
export interface ServedDescription {
  url: string;
  ranker: { model: string; version: number; via: 'serving' | 'latest' };
  retrieval: { model: string; version: number; via: 'serving' | 'latest'; items: number; ann: string; recall: number } | null;
  /** e.g. `redis redis://127.0.0.1:6379 (keys recsys:*)` or `memory (empty)`. */
  onlineStore: string;
  /** e.g. `kafka topic recsys.decisions`, `jsonl var/decisions.jsonl`. */
  decisions: string;
}

/** Ids the served models know: the ranker's vocabularies (most frequent first) and the graph model's rows. */
export interface ModelIds {
  ranker: FeatureEncoderJson;
  retrieval: { itemIds: readonly string[]; userIds: Iterable<string> } | null;
}

/** The first `count` tokens of the ranker's fixed vocabulary for the categorical field fed by `source`; [] for hashed ones. */
function vocabularyTokens(encoder: FeatureEncoderJson, source: string, accept: (token: string) => boolean, count: number): string[] {
  const field = encoder.spec.fields.find((f) => f.kind === 'categorical' && f.source === source);
  const vocab = field ? encoder.vocabularies[field.name] : undefined;
  if (vocab?.type !== 'fixed') return [];
  const out: string[] = [];
  for (const token of vocab.tokens) {
    if (out.length >= count) break;
    if (accept(token)) out.push(token);
  }
  return out;
}

/**
 * Example ids the served models know, so the printed curls rank known items
 * for a known user: the ranker's most frequent users and items (those the graph
 * model has rows for, when there is retrieval), else the graph model's first
 * rows. Undefined when neither model lists ids (hashed vocabularies, no graph).
 */
export function servedExampleIds(models: ModelIds, count = 3): ExampleIds | undefined {
  const retrievalItems = models.retrieval ? new Set(models.retrieval.itemIds) : undefined;
  const retrievalUsers = models.retrieval ? new Set(models.retrieval.userIds) : undefined;
  let items = vocabularyTokens(models.ranker, 'item_id', (t) => !retrievalItems || retrievalItems.has(t), count);
  if (items.length === 0 && models.retrieval) items = models.retrieval.itemIds.slice(0, count);
  let userId = vocabularyTokens(models.ranker, 'user_id', (t) => !retrievalUsers || retrievalUsers.has(t), 1)[0];
  if (userId === undefined && retrievalUsers) userId = retrievalUsers.values().next().value;
  if (userId === undefined || items.length === 0) return undefined;
  return { userId, items };
}

/** The lines `recsys serve` prints once it is ready: what it serves, then curls that work against it. */
export function serveBanner(served: ServedDescription, ids: ExampleIds | undefined): string[] {
  const version = (m: { model: string; version: number; via: string }) => `${m.model} v${m.version}${m.via === 'latest' ? ' (latest: no serving alias)' : ''}`;
  const lines = [
    `serving on ${served.url} (Ctrl-C or SIGTERM to stop)`,
    `  ranker:        ${version(served.ranker)}`,
    served.retrieval
      ? `  retrieval:     ${version(served.retrieval)}, ${served.retrieval.items.toLocaleString('en-US')} items, ${served.retrieval.ann} index (recall@100 ${served.retrieval.recall.toFixed(3)})`
      : '  retrieval:     none: /v1/recommend ranks the candidates a request supplies (--retrieval <graph model> to retrieve)',
    `  online store:  ${served.onlineStore}`,
    `  decisions:     ${served.decisions}`,
  ];
  if (!ids) {
    lines.push("(no curl examples: the models' vocabularies are hashed, so they list no ids)");
    return lines;
  }
  lines.push('try:');
  for (const example of curlExamples(served.url, ids, { retrieval: served.retrieval !== null })) lines.push(`# ${example.what}`, example.command);
  return lines;
}
