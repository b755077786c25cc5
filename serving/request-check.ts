import { isId } from '../features/events/event-check.js';
import { MAX_CANDIDATES } from '../pipelines/decisions/decision-record.js';
import { MAX_HISTORY, RecommendRequestSchema, ScoreRequestSchema, type RecommendRequestBody, type ScoreRequestBody } from './request-schemas.js';

/**
 * The score and recommend schemas (request-schemas.ts) as straight-line code
 * for the shapes nearly every call has: ids, a list of candidate ids, a
 * history of ids, k. zod's general walk allocated a result per array element
 * on the event loop (about a tenth of what the server promoted to the old
 * generation at half load). Like ingestion's event check, it only answers
 * "valid, and this is what zod returns" or "not sure": anything else
 * (attributes, context, exploration, a history of {item_id, ts}, every
 * refusal) goes to zod, so the errors are zod's, word for word. A property
 * test holds the two to the same answers
 * (test/unit/serving/request-check.test.ts). The arrays are the body's own,
 * not copies: the body belongs to the request and nothing else holds it.
 */
export function parseScoreRequest(body: unknown): ScoreRequestBody {
  return checkScoreRequest(body) ?? ScoreRequestSchema.parse(body);
}

export function parseRecommendRequest(body: unknown): RecommendRequestBody {
  return checkRecommendRequest(body) ?? RecommendRequestSchema.parse(body);
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_CANDIDATES;

function isIdList(v: unknown, min: number, max: number): v is string[] {
  if (!Array.isArray(v) || v.length < min || v.length > max) return false;
  for (let i = 0; i < v.length; i++) if (!isId(v[i])) return false;
  return true;
}

/** What JSON.parse makes; anything else (a Date with own keys…) is left to zod. */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

/** Keys in the schema's order, present ones only, as zod builds its result. */
export function checkScoreRequest(body: unknown): ScoreRequestBody | undefined {
  if (!isPlainObject(body)) return undefined;
  let userId: unknown;
  let candidates: unknown;
  let history: unknown;
  for (const key in body) {
    // zod keeps a key given as undefined in its result; JSON never gives one, so zod may have those.
    if (body[key] === undefined) return undefined;
    switch (key) {
      case 'user_id': userId = body[key]; break;
      case 'candidates': candidates = body[key]; break;
      case 'history': history = body[key]; break;
      default: return undefined;
    }
  }
  if (!isId(userId) || !isIdList(candidates, 1, MAX_CANDIDATES)) return undefined;
  if (history === undefined) return { user_id: userId, candidates };
  if (!isIdList(history, 0, MAX_HISTORY)) return undefined;
  return { user_id: userId, candidates, history };
}

export function checkRecommendRequest(body: unknown): RecommendRequestBody | undefined {
  if (!isPlainObject(body)) return undefined;
  const seen: Record<string, unknown> = {};
  for (const key in body) {
    if (body[key] === undefined) return undefined;
    switch (key) {
      case 'user_id':
      case 'k':
      case 'num_candidates':
      case 'history':
      case 'exclude':
      case 'candidates':
        seen[key] = body[key];
        break;
      default: return undefined;
    }
  }
  const { user_id: userId, k = 10, num_candidates: numCandidates, history, exclude, candidates } = seen;
  if (!isId(userId) || !isCount(k)) return undefined;
  if (numCandidates !== undefined && !isCount(numCandidates)) return undefined;
  if (history !== undefined && !isIdList(history, 0, MAX_HISTORY)) return undefined;
  if (exclude !== undefined && !isIdList(exclude, 0, MAX_CANDIDATES)) return undefined;
  if (candidates !== undefined && !isIdList(candidates, 1, MAX_CANDIDATES)) return undefined;
  return {
    user_id: userId,
    k,
    ...(numCandidates !== undefined ? { num_candidates: numCandidates } : {}),
    ...(history !== undefined ? { history } : {}),
    ...(exclude !== undefined ? { exclude } : {}),
    ...(candidates !== undefined ? { candidates } : {}),
  };
}
