import type { Event } from '../events/event-schema.js';
import type { MovieLens } from './movielens.js';

/**
 * MovieLens as an event stream in the event schema: user and item attribute
 * updates just before the first rating, then one `rating` event per row of
 * u.data in (ts, item_id, user_id) order. Item `category` is its first genre.
 */
export function movieLensEvents(ml: MovieLens): Event[] {
  const firstTs = ml.ratings.reduce((m, r) => Math.min(m, r.ts), Infinity) * 1000 - 1000;
  const events: Event[] = [];
  for (const [id, u] of ml.users) {
    events.push({ schema_version: 1, type: 'user_update', event_id: `ml-user-${id}`, ts: firstTs, user_id: String(id), attributes: { age: u.age, gender: u.gender, occupation: u.occupation, zip: u.zip } });
  }
  for (const [id, item] of ml.items) {
    events.push({ schema_version: 1, type: 'item_update', event_id: `ml-item-${id}`, ts: firstTs, item_id: String(id), attributes: { title: item.title, category: item.genres[0] ?? 'unknown', genres: item.genres } });
  }
  const ratings = [...ml.ratings].sort((a, b) => a.ts - b.ts || a.item - b.item || a.user - b.user);
  for (const r of ratings) {
    events.push({ schema_version: 1, type: 'rating', event_id: `ml-${r.user}-${r.item}`, ts: r.ts * 1000, user_id: String(r.user), item_id: String(r.item), value: r.rating });
  }
  return events;
}
