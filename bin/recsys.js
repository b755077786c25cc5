#!/usr/bin/env node
// The `recsys` CLI runs its TypeScript sources through tsx: no build step to forget.
import { register } from 'tsx/esm/api';

register();
await import('../cli/recsys.ts');
