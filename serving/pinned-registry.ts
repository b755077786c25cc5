import type { AliasRecord } from '../pipelines/registry/alias-store.js';
import { ModelRegistry, type ModelRegistryOptions } from '../pipelines/registry/model-registry.js';
import { parseModelRef, type ModelRef } from '../pipelines/registry/model-ref.js';
import type { ResolvedModel } from '../pipelines/registry/registry-types.js';

/**
 * A registry whose named models resolve to fixed versions whatever the
 * serving alias says: the main job serves exactly the versions it trained,
 * even when an older version of the same name was promoted earlier.
 */
export class PinnedModelRegistry extends ModelRegistry {
  constructor(root: string, private readonly pins: ReadonlyMap<string, number>, options: ModelRegistryOptions = {}) {
    super(root, options);
  }

  override serving(model: string): Promise<AliasRecord | null> {
    return this.pins.has(model) ? Promise.resolve(null) : super.serving(model);
  }

  override resolve(ref: string | ModelRef): Promise<ResolvedModel> {
    const parsed = typeof ref === 'string' ? parseModelRef(ref) : ref;
    const pin = this.pins.get(parsed.model);
    return super.resolve(pin !== undefined && parsed.selector.kind !== 'version' ? { ...parsed, selector: { kind: 'version', version: pin } } : parsed);
  }
}
