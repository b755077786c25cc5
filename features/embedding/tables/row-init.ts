import { ValidationError } from '../../../infra/errors.js';
import { hashInt } from '../../hashing.js';
import { MULBERRY32_INCREMENT, mulberry32Mix } from '../../math/mulberry32.js';

/** How a fresh row is filled. */
export type RowInit =
  | { kind: 'uniform'; scale: number }
  | { kind: 'normal'; stddev: number }
  | { kind: 'zeros' };

export function checkRowInit(init: RowInit): RowInit {
  const bad =
    (init.kind === 'uniform' && !(init.scale >= 0)) ||
    (init.kind === 'normal' && !(init.stddev >= 0)) ||
    !['uniform', 'normal', 'zeros'].includes(init.kind);
  if (bad) throw new ValidationError('invalid row init', [`init: ${JSON.stringify(init)}`]);
  return init;
}

const TWO_NEG_32 = 2 ** -32;

// Module-level rather than a closure per row: eager init of a 10M-row table
// would otherwise allocate 10M closures.
let state = 0;

function next(): number {
  state = (state + MULBERRY32_INCREMENT) | 0;
  return mulberry32Mix(state) * TWO_NEG_32;
}

/**
 * Fills `dim` floats at `offset` with values that depend only on (seed, key),
 * never on allocation order: a dynamic row re-created after expiry, or an id
 * that lands in another row after a restart, starts from the same vector.
 */
export function initRow(out: Float32Array, offset: number, dim: number, init: RowInit, seed: number, key: number): void {
  if (init.kind === 'zeros') {
    out.fill(0, offset, offset + dim);
    return;
  }
  // A counter-based stream (features/math/mulberry32.ts) seeded by the key's hash: cheap, and
  // each row's values are independent of every other row's.
  state = hashInt(key, seed);
  if (init.kind === 'uniform') {
    for (let k = 0; k < dim; k++) out[offset + k] = (2 * next() - 1) * init.scale;
    return;
  }
  for (let k = 0; k < dim; k += 2) {
    // Box–Muller; 1 - u keeps the log argument in (0, 1].
    const radius = Math.sqrt(-2 * Math.log(1 - next())) * init.stddev;
    const angle = 2 * Math.PI * next();
    out[offset + k] = radius * Math.cos(angle);
    if (k + 1 < dim) out[offset + k + 1] = radius * Math.sin(angle);
  }
}
