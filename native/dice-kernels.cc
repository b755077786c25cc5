/*
 * Dice (Zhou et al., KDD 2018, eq. 9) as TensorFlow CPU kernels: training
 * mode forward and backward, and inference. Composed from TF.js ops a Dice
 * layer of DIN's final MLP took ~2 ms forward and ~1.9 ms backward at
 * 1024 × 200 (some forty kernels, each a pass plus the engine's bookkeeping);
 * these make a few passes each.
 *
 *   RecsysDice(z: [n, u], alpha: [u], epsilon: []) -> (y: [n, u], p: [n, u], mean: [u], variance: [u])
 *       mean, variance over the rows (the population variance, as tf.moments);
 *       p = sigmoid((z - mean) / sqrt(variance + epsilon)); y = p z + (1 - p) alpha z
 *   RecsysDiceInference(z: [n, u], mean, variance, alpha: [u], epsilon: []) -> y
 *       the same y with given statistics (the moving averages)
 *   RecsysDiceGrad(dy, z, p: [n, u], mean, variance, alpha: [u], epsilon: []) -> (dz: [n, u], dalpha: [u])
 *       with s = (z - mean) / std, g = dy z (1 - alpha) p (1 - p):
 *       dz = dy (alpha + p (1 - alpha)) + (g - mean(g) - s mean(g s)) / std;  dalpha = sum dy z (1 - p)
 *
 * Column sums are taken in double. The sigmoid's exp is evaluated four lanes
 * at a time by exp4 below (within 2 ulp of expf; Eigen's logistic, which
 * TF's Sigmoid runs, is an approximation too).
 */
#include <emmintrin.h>

#include <cmath>

#include "kernel-util.h"

namespace recsys {
namespace {

/*
 * e^x for four floats: x = n ln2 + r with n = round(x / ln2) and |r| <= ln2/2
 * (ln2 split in two parts so r is exact), e^r by its Taylor series to r^7
 * (relative error < 1e-8 on that range), then 2^n put in the exponent bits.
 * x is clamped to [-87, 88], where e^x is a normal float.
 */
inline __m128 exp4(__m128 x) {
  x = _mm_min_ps(_mm_max_ps(x, _mm_set1_ps(-87.0f)), _mm_set1_ps(88.0f));
  const __m128 n = _mm_cvtepi32_ps(_mm_cvtps_epi32(_mm_mul_ps(x, _mm_set1_ps(1.44269504088896341f))));
  __m128 r = _mm_sub_ps(x, _mm_mul_ps(n, _mm_set1_ps(0.693359375f)));
  r = _mm_sub_ps(r, _mm_mul_ps(n, _mm_set1_ps(-2.12194440e-4f)));
  __m128 poly = _mm_set1_ps(1.0f / 5040.0f);
  poly = _mm_add_ps(_mm_mul_ps(poly, r), _mm_set1_ps(1.0f / 720.0f));
  poly = _mm_add_ps(_mm_mul_ps(poly, r), _mm_set1_ps(1.0f / 120.0f));
  poly = _mm_add_ps(_mm_mul_ps(poly, r), _mm_set1_ps(1.0f / 24.0f));
  poly = _mm_add_ps(_mm_mul_ps(poly, r), _mm_set1_ps(1.0f / 6.0f));
  poly = _mm_add_ps(_mm_mul_ps(poly, r), _mm_set1_ps(0.5f));
  poly = _mm_add_ps(_mm_mul_ps(poly, r), _mm_set1_ps(1.0f));
  poly = _mm_add_ps(_mm_mul_ps(poly, r), _mm_set1_ps(1.0f));
  const __m128i bits = _mm_slli_epi32(_mm_add_epi32(_mm_cvtps_epi32(n), _mm_set1_epi32(127)), 23);
  return _mm_mul_ps(poly, _mm_castsi128_ps(bits));
}

inline float sigmoid1(float x) { return 1.0f / (1.0f + std::exp(-x)); }

bool same_shape(const TF_Tensor *a, const TF_Tensor *b) {
  if (TF_NumDims(a) != TF_NumDims(b)) return false;
  for (int d = 0; d < TF_NumDims(a); d++)
    if (TF_Dim(a, d) != TF_Dim(b, d)) return false;
  return true;
}

bool is_vector(const TF_Tensor *t, int64_t length) {
  return TF_TensorType(t) == TF_FLOAT && TF_NumDims(t) == 1 && TF_Dim(t, 0) == length;
}

/* [n, u] float32 z with u > 0, else fails the op and returns false. */
bool rows_of(TF_OpKernelContext *ctx, const TF_Tensor *z, int64_t *n, int64_t *u, const char *op) {
  if (TF_TensorType(z) != TF_FLOAT || TF_NumDims(z) != 2 || TF_Dim(z, 1) < 1) {
    fail(ctx, op);
    return false;
  }
  *n = TF_Dim(z, 0);
  *u = TF_Dim(z, 1);
  return true;
}

float scalar_of(const TF_Tensor *t) { return TF_TensorElementCount(t) == 1 ? floats(t)[0] : NAN; }

/* p = sigmoid((z − mean) / std) and y = p z + (1 − p) α z, row by row; p may be null (inference). */
void dice_rows(const float *__restrict zs, const float *__restrict means, const float *__restrict sd, const float *__restrict as,
               int64_t n, int64_t u, float *__restrict ps, float *__restrict ys) {
  const __m128 one = _mm_set1_ps(1.0f);
  for (int64_t i = 0; i < n; i++) {
    const int64_t o = i * u;
    int64_t j = 0;
    for (; j + 4 <= u; j += 4) {
      const __m128 v = _mm_loadu_ps(zs + o + j);
      const __m128 s = _mm_div_ps(_mm_sub_ps(v, _mm_loadu_ps(means + j)), _mm_loadu_ps(sd + j));
      const __m128 pv = _mm_div_ps(one, _mm_add_ps(one, exp4(_mm_sub_ps(_mm_setzero_ps(), s))));
      if (ps) _mm_storeu_ps(ps + o + j, pv);
      const __m128 negative = _mm_mul_ps(_mm_mul_ps(_mm_sub_ps(one, pv), _mm_loadu_ps(as + j)), v);
      _mm_storeu_ps(ys + o + j, _mm_add_ps(_mm_mul_ps(pv, v), negative));
    }
    for (; j < u; j++) {
      const float v = zs[o + j];
      const float pv = sigmoid1((v - means[j]) / sd[j]);
      if (ps) ps[o + j] = pv;
      ys[o + j] = pv * v + ((1.0f - pv) * as[j]) * v;
    }
  }
}

void dice_inference_compute(void *, TF_OpKernelContext *ctx) {
  Owned owned;
  TF_Tensor *z = owned.keep(input(ctx, 0)), *mean = owned.keep(input(ctx, 1)), *variance = owned.keep(input(ctx, 2));
  TF_Tensor *alpha = owned.keep(input(ctx, 3)), *eps = owned.keep(input(ctx, 4));
  if (!z || !mean || !variance || !alpha || !eps) return;
  int64_t n, u;
  if (!rows_of(ctx, z, &n, &u, "RecsysDiceInference: z must be float32 [n, units]")) return;
  if (!is_vector(mean, u) || !is_vector(variance, u) || !is_vector(alpha, u) || TF_TensorElementCount(eps) != 1) {
    fail(ctx, "RecsysDiceInference: mean, variance and alpha must be float32 [units] and epsilon a scalar");
    return;
  }
  TF_Tensor *y = owned.keep(output_like(ctx, 0, z));
  if (!y) return;
  const float *vars = floats(variance);
  const float epsilon = scalar_of(eps);
  std::vector<float> stdev(u);
  for (int64_t j = 0; j < u; j++) stdev[j] = std::sqrt(vars[j] + epsilon);
  dice_rows(floats(z), floats(mean), stdev.data(), floats(alpha), n, u, nullptr, floats(y));
}

void dice_compute(void *, TF_OpKernelContext *ctx) {
  Owned owned;
  TF_Tensor *z = owned.keep(input(ctx, 0)), *alpha = owned.keep(input(ctx, 1)), *eps = owned.keep(input(ctx, 2));
  if (!z || !alpha || !eps) return;
  int64_t n, u;
  if (!rows_of(ctx, z, &n, &u, "RecsysDice: z must be float32 [n, units]")) return;
  if (!is_vector(alpha, u) || TF_TensorElementCount(eps) != 1) {
    fail(ctx, "RecsysDice: alpha must be float32 [units] and epsilon a float32 scalar");
    return;
  }
  const int64_t vdims[1] = {u};
  TF_Tensor *y = owned.keep(output_like(ctx, 0, z));
  TF_Tensor *p = y ? owned.keep(output_like(ctx, 1, z)) : nullptr;
  TF_Tensor *mean = p ? owned.keep(output_with(ctx, 2, vdims, 1)) : nullptr;
  TF_Tensor *variance = mean ? owned.keep(output_with(ctx, 3, vdims, 1)) : nullptr;
  if (!variance) return;
  const float *__restrict zs = floats(z);
  const float *__restrict as = floats(alpha);
  float *__restrict ys = floats(y);
  float *__restrict ps = floats(p);
  float *__restrict means = floats(mean);
  float *__restrict vars = floats(variance);
  const float epsilon = scalar_of(eps);

  std::vector<double> sum(u, 0.0), squares(u, 0.0);
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < u; j++) sum[j] += zs[i * u + j];
  for (int64_t j = 0; j < u; j++) means[j] = n > 0 ? static_cast<float>(sum[j] / n) : 0.0f;
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < u; j++) {
      const double d = static_cast<double>(zs[i * u + j]) - means[j];
      squares[j] += d * d;
    }
  std::vector<float> stdev(u);
  for (int64_t j = 0; j < u; j++) {
    vars[j] = n > 0 ? static_cast<float>(squares[j] / n) : 0.0f;
    stdev[j] = std::sqrt(vars[j] + epsilon);
  }
  dice_rows(zs, means, stdev.data(), as, n, u, ps, ys);
}

void dice_grad_compute(void *, TF_OpKernelContext *ctx) {
  Owned owned;
  TF_Tensor *dy = owned.keep(input(ctx, 0)), *z = owned.keep(input(ctx, 1)), *p = owned.keep(input(ctx, 2));
  TF_Tensor *mean = owned.keep(input(ctx, 3)), *variance = owned.keep(input(ctx, 4)), *alpha = owned.keep(input(ctx, 5)), *eps = owned.keep(input(ctx, 6));
  if (!dy || !z || !p || !mean || !variance || !alpha || !eps) return;
  int64_t n, u;
  if (!rows_of(ctx, z, &n, &u, "RecsysDiceGrad: z must be float32 [n, units]")) return;
  if (!same_shape(dy, z) || !same_shape(p, z) || TF_TensorType(dy) != TF_FLOAT || TF_TensorType(p) != TF_FLOAT ||
      !is_vector(mean, u) || !is_vector(variance, u) || !is_vector(alpha, u) || TF_TensorElementCount(eps) != 1) {
    fail(ctx, "RecsysDiceGrad: dy and p must be float32 of z's shape; mean, variance and alpha float32 [units]; epsilon a scalar");
    return;
  }
  const int64_t vdims[1] = {u};
  TF_Tensor *dz = owned.keep(output_like(ctx, 0, z));
  TF_Tensor *dalpha = dz ? owned.keep(output_with(ctx, 1, vdims, 1)) : nullptr;
  if (!dalpha) return;
  const float *__restrict dys = floats(dy);
  const float *__restrict zs = floats(z);
  const float *__restrict ps = floats(p);
  const float *__restrict means = floats(mean);
  const float *__restrict vars = floats(variance);
  const float *__restrict as = floats(alpha);
  float *__restrict dzs = floats(dz);
  float *__restrict das = floats(dalpha);
  const float epsilon = scalar_of(eps);

  std::vector<float> stdev(u), oneMinusAlpha(u);
  for (int64_t j = 0; j < u; j++) {
    stdev[j] = std::sqrt(vars[j] + epsilon);
    oneMinusAlpha[j] = 1.0f - as[j];
  }
  // g = dy·z·(1 − α)·p·(1 − p) and s = (z − mean)/std per element, summed per column.
  std::vector<double> sumG(u, 0.0), sumGS(u, 0.0), sumAlpha(u, 0.0);
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < u; j++) {
      const int64_t o = i * u + j;
      const float dyz = dys[o] * zs[o], pv = ps[o], q = 1.0f - pv;
      const float g = (dyz * oneMinusAlpha[j]) * (pv * q);
      const float s = (zs[o] - means[j]) / stdev[j];
      sumG[j] += g;
      sumGS[j] += g * s;
      sumAlpha[j] += dyz * q;
    }
  std::vector<float> meanG(u), meanGS(u);
  for (int64_t j = 0; j < u; j++) {
    meanG[j] = n > 0 ? static_cast<float>(sumG[j] / n) : 0.0f;
    meanGS[j] = n > 0 ? static_cast<float>(sumGS[j] / n) : 0.0f;
    das[j] = static_cast<float>(sumAlpha[j]);
  }
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < u; j++) {
      const int64_t o = i * u + j;
      const float dyz = dys[o] * zs[o], pv = ps[o];
      const float g = (dyz * oneMinusAlpha[j]) * (pv * (1.0f - pv));
      const float s = (zs[o] - means[j]) / stdev[j];
      const float direct = dys[o] * (as[j] + pv * oneMinusAlpha[j]);
      dzs[o] = direct + ((g - meanG[j]) - s * meanGS[j]) / stdev[j];
    }
}

}  // namespace

int register_dice_ops() {
  return register_ops({
      {"RecsysDice", {"z: float", "alpha: float", "epsilon: float"}, {"y: float", "p: float", "mean: float", "variance: float"}, dice_compute},
      {"RecsysDiceInference", {"z: float", "mean: float", "variance: float", "alpha: float", "epsilon: float"}, {"y: float"}, dice_inference_compute},
      {"RecsysDiceGrad", {"dy: float", "z: float", "p: float", "mean: float", "variance: float", "alpha: float", "epsilon: float"}, {"dz: float", "dalpha: float"}, dice_grad_compute},
  });
}

}  // namespace recsys
