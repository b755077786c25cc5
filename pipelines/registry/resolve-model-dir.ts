import { existsSync } from 'node:fs';
import path from 'node:path';
import { ModelRegistry } from './model-registry.js';

/**
 * What a command's `--model` names: an artifact folder (a path), or a
 * registry reference `name`, `name@3`, `name@latest`, `name@serving`.
 */
export async function resolveModelDir(ref: string, registry: string): Promise<string> {
  if (ref.includes('/') || existsSync(ref)) return path.resolve(ref);
  return (await new ModelRegistry(registry).resolve(ref)).dir;
}
