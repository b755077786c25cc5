/*
 * The Node-API module that carries our TensorFlow kernels
 * (infra/scripts/build-native-ops.sh builds it). Loading it registers the ops
 * and their CPU kernels with the libtensorflow tfjs-node has loaded; tfjs-node
 * then runs them by name like any TensorFlow op. Node-API is used only for its
 * entry point, declared here, so no Node headers are needed.
 */
#include "kernel-util.h"

extern "C" {
typedef struct napi_env__ *napi_env;
typedef struct napi_value__ *napi_value;
typedef int napi_status;
napi_status napi_throw_error(napi_env env, const char *code, const char *msg);

int32_t node_api_module_get_api_version_v1(void) { return 8; }

// Registration is process-wide: a second load (another worker thread) must not repeat it.
napi_value napi_register_module_v1(napi_env env, napi_value exports) {
  static bool registered = false;
  if (!registered) {
    if (recsys::register_prelu_ops() != TF_OK || recsys::register_pairs_ops() != TF_OK ||
        recsys::register_dice_ops() != TF_OK || recsys::register_scatter_ops() != TF_OK ||
        recsys::register_shared_pairs_ops() != TF_OK) {
      napi_throw_error(env, nullptr, "could not register the Recsys* ops with TensorFlow");
      return nullptr;
    }
    registered = true;
  }
  return exports;
}
}
