import { isId } from '../../features/events/event-check.js';
import { formatIssues } from '../../infra/config.js';
import { CLIENT_REQUEST_ID, DecisionRecordSchema, EXPLORATION_BOUNDS, MAX_CANDIDATES, MAX_DECISION_BYTES, type DecisionRecord } from './decision-record.js';

export type EncodedDecision = { ok: true; json: string; bytes: number } | { ok: false; reason: string; tooLarge: boolean };

/**
 * What a writer checks before a record leaves: the schema and size limit
 * ingestion applies (parseDecision), so a record that was served is never
 * dead-lettered afterwards. Returns the JSON to write.
 */
export function encodeDecision(record: DecisionRecord, maxBytes = MAX_DECISION_BYTES): EncodedDecision {
  if (!isValidDecision(record)) {
    const result = DecisionRecordSchema.safeParse(record);
    if (!result.success) return { ok: false, reason: `invalid decision record: ${formatIssues(result.error).join('; ')}`, tooLarge: false };
  }
  const json = JSON.stringify(record);
  const bytes = Buffer.byteLength(json);
  if (bytes > maxBytes) return { ok: false, reason: `the decision record would be ${bytes} bytes, over the ${maxBytes}-byte limit`, tooLarge: true };
  return { ok: true, json, bytes };
}

/**
 * DecisionRecordSchema (decision-record.ts) as straight-line code, for
 * encodeDecision's check on every /v1/recommend: zod's walk over a record's 200
 * candidates made about half of what the server allocated on its event loop
 * per recommendation (a sampling heap profile, 2026-12-06). It answers only
 * "valid" or "not sure"; the caller then asks zod, so every refusal and its
 * reason are zod's. A property test holds it to never accepting what zod
 * refuses (test/unit/pipelines/decisions/encode-decision.test.ts).
 */
export function isValidDecision(d: unknown): boolean {
  if (!isObject(d)) return false;
  for (const key in d) {
    const v = d[key];
    switch (key) {
      case 'schema_version': if (v !== undefined && v !== 1) return false; break;
      case 'request_id': case 'user_id': if (!isId(v)) return false; break;
      case 'client_request_id': if (v !== undefined && !(typeof v === 'string' && CLIENT_REQUEST_ID.test(v))) return false; break;
      case 'ts': if (!(isInteger(v) && v >= 1e12 && v <= 1e13)) return false; break;
      case 'models': if (!isModels(v)) return false; break;
      case 'exploration': if (!isExploration(v)) return false; break;
      case 'k': if (!(isInteger(v) && v > 0 && v <= MAX_CANDIDATES)) return false; break;
      case 'candidates': case 'shown': if (!Array.isArray(v) || v.length > MAX_CANDIDATES) return false; break;
      case 'context': if (v !== undefined && !isAttributes(v)) return false; break;
      case 'features': if (v !== undefined && !isFeatures(v)) return false; break;
      default: return false;
    }
  }
  // A missing required key is never enumerated above, so it is looked for here.
  for (const key of REQUIRED) if (!(key in d)) return false;
  return candidatesAndShown(d.candidates as unknown[], d.shown as unknown[], d.k as number);
}

const REQUIRED = ['request_id', 'user_id', 'ts', 'models', 'exploration', 'k', 'candidates', 'shown'] as const;

/** The records' items and the refinements over them: unique candidates; shown ⊆ candidates, unique, at positions 0, 1, 2…, at most k. */
function candidatesAndShown(candidates: unknown[], shown: unknown[], k: number): boolean {
  const ids = new Set<string>();
  for (const c of candidates) {
    if (!isObject(c) || !hasExactly(c, 3)) return false;
    const { item_id: id, score, retrieval_score: retrieval } = c;
    if (!isId(id) || !isFiniteNumber(score) || !(retrieval === null || isFiniteNumber(retrieval))) return false;
    ids.add(id);
  }
  if (ids.size !== candidates.length || shown.length > k) return false;
  const seen = new Set<string>();
  for (let i = 0; i < shown.length; i++) {
    const s = shown[i];
    if (!isObject(s) || !hasExactly(s, 4)) return false;
    const { item_id: id, position, score, propensity } = s;
    if (!isId(id) || position !== i || !isFiniteNumber(score) || !(typeof propensity === 'number' && propensity > 0 && propensity <= 1)) return false;
    if (!ids.has(id) || seen.has(id)) return false;
    seen.add(id);
  }
  return true;
}

function isModels(v: unknown): boolean {
  return isObject(v) && hasExactly(v, 2) && isModelVersion(v.ranker) && (v.retrieval === null || isModelVersion(v.retrieval));
}

function isModelVersion(v: unknown): boolean {
  return isObject(v) && hasExactly(v, 2) && typeof v.name === 'string' && v.name.length >= 1 && v.name.length <= 128 && isInteger(v.version) && v.version > 0;
}

function isExploration(v: unknown): boolean {
  if (!isObject(v)) return false;
  switch (v.scheme) {
    case 'none': return hasExactly(v, 1);
    case 'epsilon-greedy': {
      const e = v.epsilon;
      return hasExactly(v, 2) && typeof e === 'number' && e >= 0 && e <= 1 && (e === 0 || e >= EXPLORATION_BOUNDS.minEpsilon);
    }
    case 'softmax': {
      const t = v.temperature;
      return hasExactly(v, 2) && typeof t === 'number' && t >= EXPLORATION_BOUNDS.minTemperature && t <= EXPLORATION_BOUNDS.maxTemperature;
    }
    default: return false;
  }
}

function isFeatures(v: unknown): boolean {
  if (!isObject(v) || !hasExactly(v, 2) || !isAttributes(v.user)) return false;
  const history = v.history;
  if (!Array.isArray(history) || history.length > MAX_CANDIDATES) return false;
  for (const id of history) if (!isId(id)) return false;
  return true;
}

/** A context or user-attribute record; `__proto__` is left to zod (which drops it from a record). */
function isAttributes(v: unknown): boolean {
  if (!isObject(v)) return false;
  for (const key in v) {
    if (key.length < 1 || key.length > 128 || key === '__proto__' || !isAttributeValue(v[key])) return false;
  }
  return true;
}

function isAttributeValue(v: unknown): boolean {
  if (typeof v === 'string') return v.length <= 1024;
  if (typeof v === 'number') return Number.isFinite(v);
  if (typeof v === 'boolean') return true;
  if (!Array.isArray(v) || v.length > 256) return false;
  for (const s of v) if (!(typeof s === 'string' && s.length <= 256)) return false;
  return true;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
const isInteger = (v: unknown): v is number => Number.isInteger(v);
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Exactly `n` own keys, none of them undefined-valued: with the named reads above, that is zod's strict object of required keys. */
function hasExactly(v: Record<string, unknown>, n: number): boolean {
  let count = 0;
  for (const key in v) {
    if (v[key] === undefined) return false;
    count++;
  }
  return count === n;
}
