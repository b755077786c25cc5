import { hostname, userInfo } from 'node:os';
import type { Manifest } from '../../models/artifact/artifact-format.js';

/** RECSYS_ACTOR, else `user@host`. */
export function defaultActor(env: NodeJS.ProcessEnv = process.env): string {
  if (env.RECSYS_ACTOR) return env.RECSYS_ACTOR;
  let user = env.USER ?? 'unknown';
  try { user = userInfo().username; } catch { /* no passwd entry in some containers */ }
  return `${user}@${hostname()}`;
}

/** The version a delta artifact builds on (`extra.parent`), if any. */
export function parentOf(manifest: Manifest): number | null {
  const parent = manifest.extra.parent;
  return typeof parent === 'number' && Number.isSafeInteger(parent) && parent > 0 ? parent : null;
}

/** Source offsets the trainer recorded (`extra.offsets`), if any. */
export const offsetsOf = (manifest: Manifest): unknown => manifest.extra.offsets ?? null;
