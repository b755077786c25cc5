import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as TfNode from '@tensorflow/tfjs-node';
import { SetupError, errorMessage } from './errors.js';
import { registerReduceGradients } from './tf-reduce-gradients.js';

// TensorFlow's C++ core logs at INFO by default; keep warnings and errors.
process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';

type Tf = typeof TfNode;

const FIX = 'run `bash infra/scripts/install-tfjs-native.sh` (part of `npm run setup`) to build the native addon';

/**
 * The one way the product gets TensorFlow.js: the native backend or a clear
 * failure. The pure-JS backend is ~100× slower, so falling back to it silently
 * would turn a broken install into a training run that never ends.
 */
function loadNativeTf(): Tf {
  let tf: Tf;
  try {
    tf = createRequire(import.meta.url)('@tensorflow/tfjs-node') as Tf;
  } catch (error) {
    throw new SetupError(`native TensorFlow.js (@tensorflow/tfjs-node) failed to load: ${errorMessage(error)}; ${FIX}`, { cause: error });
  }
  const backend = tf.getBackend();
  if (backend !== 'tensorflow') {
    throw new SetupError(`TensorFlow.js backend is '${backend}', expected the native 'tensorflow' backend; ${FIX}`);
  }
  registerReduceGradients(tf);
  return tf;
}

export const tf: Tf = loadNativeTf();

/** The libtensorflow release the addon runs on (the wheel's, e.g. 2.21.0). */
export function nativeTfVersion(): string {
  const backend = tf.backend() as unknown as { binding?: { TF_Version?: string } };
  return backend.binding?.TF_Version ?? 'unknown';
}

const CUSTOM_OPS = fileURLToPath(new URL('../build/native/recsys_ops.node', import.meta.url));

/**
 * Our own TensorFlow kernels (native, built by `npm run setup`
 * into build/native): loading the module registers them with the
 * libtensorflow loaded above. `loaded` is false, with the reason, when the
 * module is missing or fails to load; the layers then compose TensorFlow's
 * own ops, which compute the same values more slowly.
 */
export const customOps: { readonly loaded: boolean; readonly reason?: string } = (() => {
  try {
    createRequire(import.meta.url)(CUSTOM_OPS);
    return { loaded: true };
  } catch (error) {
    return { loaded: false, reason: `${CUSTOM_OPS}: ${errorMessage(error)}; run \`bash infra/scripts/build-native-ops.sh\` (part of \`npm run setup\`)` };
  }
})();
