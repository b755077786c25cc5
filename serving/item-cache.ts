import type { AttributeMap } from '../features/events/event-schema.js';
import type { OnlineStoreReader } from '../pipelines/online-store/online-store.js';
import type { ServingMetrics } from './serving-metrics.js';

/**
 * Item attributes (e.g. category) read through the online store, cached for
 * `ttlMs` (attributes change rarely; ingestion keeps the store fresh). At most
 * `maxEntries` items, oldest inserted evicted first. Misses are read in one
 * round trip per request.
 */
export class ItemAttributeCache {
  private readonly entries = new Map<string, { attributes: AttributeMap; expires: number }>();

  constructor(private readonly store: OnlineStoreReader, private readonly ttlMs: number, private readonly metrics?: ServingMetrics, private readonly maxEntries = 200_000) {}

  async get(itemIds: readonly string[]): Promise<Map<string, AttributeMap>> {
    const now = Date.now();
    const out = new Map<string, AttributeMap>();
    const missing: string[] = [];
    for (const id of itemIds) {
      const hit = this.entries.get(id);
      if (hit && hit.expires > now) out.set(id, hit.attributes);
      else if (!out.has(id)) missing.push(id);
    }
    const unique = [...new Set(missing)];
    this.metrics?.cacheLookups('item_attributes', itemIds.length - missing.length, missing.length);
    if (unique.length === 0) return out;
    const read = await this.store.items(unique);
    for (const id of unique) {
      const attributes = read.get(id)?.attributes ?? {};
      out.set(id, attributes);
      if (this.ttlMs > 0) {
        this.entries.delete(id);
        this.entries.set(id, { attributes, expires: now + this.ttlMs });
      }
    }
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return out;
  }
}
