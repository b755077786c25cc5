/*
 * DIN's attention in inference when a run of B candidates shares one history
 * of L behaviours (a serving request): the (candidate, behaviour) pairs as a
 * block, without TF.js's ExpandDims / broadcasting Mul / Reshape before the
 * product matMul and Reshape / ExpandDims / two broadcasting Adds / Reshape
 * after it (ten kernels, ~1 ms for 100 × 50 pairs of width 80, each kernel
 * also ~25 µs of dispatch; two here). Inference only: no gradients.
 *
 *   RecsysPairProducts(q: float [B, D], k: float [L, D]) -> x: float [B*L, D]
 *       x[i*L + j] = q[i] * k[j]
 *   RecsysAddPairTerms(p: float [B*L, U], c: float [B, U], b: float [L, U]) -> z: float [B*L, U]
 *       z[i*L + j] = (p[i*L + j] + c[i]) + b[j]
 *
 * The same float operations in the same order as the TF ops they replace, so
 * the results are the same bit for bit.
 */
#include <cstdint>

#include "kernel-util.h"

namespace recsys {
namespace {

void pair_products_compute(void *, TF_OpKernelContext *ctx) {
  Owned owned;
  TF_Tensor *q = owned.keep(input(ctx, 0)), *k = owned.keep(input(ctx, 1));
  if (!q || !k) return;
  if (!is_float_matrix(q) || !is_float_matrix(k) || TF_Dim(q, 1) != TF_Dim(k, 1)) {
    fail(ctx, "RecsysPairProducts: q [B, D] and k [L, D] must be float32 matrices of one width");
    return;
  }
  const int64_t b = TF_Dim(q, 0), l = TF_Dim(k, 0), d = TF_Dim(q, 1);
  if (l != 0 && b > INT64_MAX / l) {
    fail(ctx, "RecsysPairProducts: B * L overflows");
    return;
  }
  const int64_t dims[2] = {b * l, d};
  TF_Tensor *x = owned.keep(output_with(ctx, 0, dims, 2));
  if (!x) return;
  const float *__restrict qs = floats(q);
  const float *__restrict ks = floats(k);
  float *__restrict xs = floats(x);
  for (int64_t i = 0; i < b; i++) {
    const float *qi = qs + i * d;
    for (int64_t j = 0; j < l; j++) {
      const float *kj = ks + j * d;
      float *out = xs + (i * l + j) * d;
      for (int64_t e = 0; e < d; e++) out[e] = qi[e] * kj[e];
    }
  }
}

void add_pair_terms_compute(void *, TF_OpKernelContext *ctx) {
  Owned owned;
  TF_Tensor *p = owned.keep(input(ctx, 0)), *c = owned.keep(input(ctx, 1)), *bt = owned.keep(input(ctx, 2));
  if (!p || !c || !bt) return;
  if (!is_float_matrix(p) || !is_float_matrix(c) || !is_float_matrix(bt) || TF_Dim(c, 1) != TF_Dim(p, 1) || TF_Dim(bt, 1) != TF_Dim(p, 1)
      || (TF_Dim(bt, 0) != 0 && TF_Dim(c, 0) > INT64_MAX / TF_Dim(bt, 0)) || TF_Dim(p, 0) != TF_Dim(c, 0) * TF_Dim(bt, 0)) {
    fail(ctx, "RecsysAddPairTerms: p [B*L, U], c [B, U] and b [L, U] must be float32 matrices");
    return;
  }
  const int64_t b = TF_Dim(c, 0), l = TF_Dim(bt, 0), u = TF_Dim(p, 1);
  TF_Tensor *z = owned.keep(output_like(ctx, 0, p));
  if (!z) return;
  const float *__restrict ps = floats(p);
  const float *__restrict cs = floats(c);
  const float *__restrict bs = floats(bt);
  float *__restrict zs = floats(z);
  for (int64_t i = 0; i < b; i++) {
    const float *ci = cs + i * u;
    for (int64_t j = 0; j < l; j++) {
      const float *bj = bs + j * u;
      const int64_t o = (i * l + j) * u;
      for (int64_t e = 0; e < u; e++) zs[o + e] = (ps[o + e] + ci[e]) + bj[e];
    }
  }
}

void add_pair_terms_shape(TF_ShapeInferenceContext *ctx, TF_Status *status) { same_shape_as_input(ctx, 0, 0, status); }

}  // namespace

int register_shared_pairs_ops() {
  return register_ops({
      {"RecsysPairProducts", {"q: float", "k: float"}, {"x: float"}, pair_products_compute},
      {"RecsysAddPairTerms", {"p: float", "c: float", "b: float"}, {"z: float"}, add_pair_terms_compute, add_pair_terms_shape},
  });
}

}  // namespace recsys
