// Weighted sparse propagation over a CSR matrix and a dense Adam step, for
// the graph models' training off TensorFlow's tape: the sheaf GNN's scalar
// layers and LightGCN's step (models/graph/native-spmm.ts compiles and loads
// this file).
//
// TensorFlow has no kernel for a weighted neighbour sum that does not write
// an [edges, dim] tensor: SparseSegmentSum (LightGCN's) takes no weights, and
// SparseTensorDenseMatMul runs on one thread at ~3x SparseSegmentSum's CPU
// time. Every [edges, dim] tensor costs more to allocate (fresh pages) than
// to compute, so these loops read the dense rows in place and write only
// [rows, dim] and [edges] outputs. Rows are split between threads by their
// entry counts; each thread writes only its own rows, so there is no race.
//
//   propagate(rowStart, col, w, x, out, acc, dim, threads)    out[r] = sum_k w[k] x[col[k]]
//       for k in row r: rowStart[r] <= k < rowStart[r + 1], into a caller's buffer (no
//       fresh pages per call), and acc[r] += out[r] when acc is non-empty
//   adam(param, grad, m, v, hyper, threads)    one dense Adam step in place, TF.js's
//       arithmetic: hyper = [lr, beta1, beta2, epsilon, beta1^t, beta2^t]
//   sheafForward / sheafBackward / sheafMaps / sheafMapsBackward: the scalar sheaf layer, below.
//   dense(x, w, bias, out, inDim, accumulate, threads)    out[n] (+)= x[n]·W + bias, W [inDim, outDim]
//   denseWeightGrad(x, dy, out, inDim, threads)    out += xᵀ·dy ([inDim, outDim]), summed over rows:
//       the sheaf's channel kernels and map learners off the tape (models/graph/sheaf-step.ts).
#include <node_api.h>
#include <pthread.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 16

// One range of CSR rows for any of the row kernels (propagate's and the sheaf's below), with the operands each reads.
typedef struct {
  const int32_t *row_start, *col, *rev_entry;
  const float *w, *x, *maps, *y, *g, *p, *x_in;
  float *out, *acc, *a, *diag, *scale, *z, *az, *h, *dy, *da, *ddiag, *dmaps, *maps_out, *dp;
  float map_bias, grad_scale, step;
  int64_t dim, row_begin, row_end;
} RowTask;

// The row loops are written once with the width as an argument and instantiated for 64, the graph models'
// width, where the compiler unrolls them into whole vector registers (fwd2 below went from 75 to ~40 ms on
// the 1M-interaction graph), and for any other width.
#define INLINE static inline __attribute__((always_inline))
#define BY_WIDTH(fn, t) do { if ((t)->dim == 64) fn(t, 64); else fn(t, (t)->dim); } while (0)

INLINE void spmm_rows_w(const RowTask *t, const int64_t d) {
  for (int64_t r = t->row_begin; r < t->row_end; r++) {
    float *o = t->out + r * d;
    memset(o, 0, sizeof(float) * d);
    for (int32_t k = t->row_start[r]; k < t->row_start[r + 1]; k++) {
      const float a = t->w[k];
      const float *xs = t->x + (int64_t)t->col[k] * d;
#pragma omp simd
      for (int64_t c = 0; c < d; c++) o[c] += a * xs[c];
    }
    if (t->acc) {
      float *ac = t->acc + r * d;
#pragma omp simd
      for (int64_t c = 0; c < d; c++) ac[c] += o[c];
    }
  }
}

static void spmm_rows(const RowTask *t) { BY_WIDTH(spmm_rows_w, t); }

static void *run_spmm(void *arg) { spmm_rows((const RowTask *)arg); return NULL; }

// Runs fn on tasks 0..threads-1 (each task_size bytes): task 0 here, the others on threads of their own;
// a thread that could not start runs here, so the result is complete either way.
static void run_tasks(void *(*fn)(void *), void *tasks, size_t task_size, int threads) {
  pthread_t ids[MAX_THREADS];
  int started[MAX_THREADS] = {0};
  char *base = tasks;
  for (int i = 1; i < threads; i++) started[i] = pthread_create(&ids[i], NULL, fn, base + i * task_size) == 0;
  fn(base);
  for (int i = 1; i < threads; i++) {
    if (started[i]) pthread_join(ids[i], NULL);
    else fn(base + i * task_size);
  }
}

// Splits [0, rows) into `threads` ranges of about equal entry counts: range i is [bounds[i], bounds[i + 1]).
static void split_rows(const int32_t *row_start, int64_t rows, int threads, int64_t *bounds) {
  const int64_t nnz = row_start[rows];
  int64_t r = 0;
  bounds[0] = 0;
  for (int i = 0; i < threads; i++) {
    const int64_t target = nnz * (i + 1) / threads;
    while (r < rows && (i == threads - 1 || row_start[r + 1] <= target)) r++;
    bounds[i + 1] = i == threads - 1 ? rows : r;
  }
}

static void parallel_rows(RowTask base, int64_t rows, int threads, void *(*fn)(void *)) {
  RowTask tasks[MAX_THREADS];
  int64_t bounds[MAX_THREADS + 1];
  split_rows(base.row_start, rows, threads, bounds);
  for (int i = 0; i < threads; i++) {
    tasks[i] = base;
    tasks[i].row_begin = bounds[i];
    tasks[i].row_end = bounds[i + 1];
  }
  run_tasks(fn, tasks, sizeof(RowTask), threads);
}

static int get_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *length) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, length, data, &buffer, &offset) != napi_ok || type != want) {
    napi_throw_type_error(env, NULL, want == napi_float32_array ? "expected a Float32Array" : "expected an Int32Array");
    return 0;
  }
  return 1;
}

// Checks the CSR arrays against each other and the dense operands, so a bad call throws instead of reading out of bounds.
static int check_csr(napi_env env, const int32_t *row_start, size_t starts, const int32_t *col, size_t entries, size_t weights, size_t dense, int64_t dim) {
  const int64_t rows = (int64_t)starts - 1;
  if (starts < 1 || dim <= 0 || row_start[0] != 0 || (size_t)row_start[rows] != entries || weights != entries || dense % (size_t)dim != 0) {
    napi_throw_range_error(env, NULL, "CSR arrays and operand sizes disagree");
    return 0;
  }
  const int64_t dense_rows = (int64_t)(dense / (size_t)dim);
  if (dense_rows != rows) {
    napi_throw_range_error(env, NULL, "the dense operand's row count differs from the matrix's");
    return 0;
  }
  for (int64_t r = 0; r < rows; r++) {
    if (row_start[r + 1] < row_start[r]) { napi_throw_range_error(env, NULL, "rowStart is not non-decreasing"); return 0; }
  }
  for (size_t k = 0; k < entries; k++) {
    if (col[k] < 0 || col[k] >= dense_rows) { napi_throw_range_error(env, NULL, "a column index is out of range"); return 0; }
  }
  return 1;
}

static int clamp_threads(int64_t t) { return t < 1 ? 1 : t > MAX_THREADS ? MAX_THREADS : (int)t; }

// Reads exactly n arguments into argv, or throws the usage line and returns.
#define TAKE_ARGS(n, usage) \
  size_t argc = (n); \
  napi_value argv[n]; \
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL); \
  if (argc != (n)) { napi_throw_type_error(env, NULL, usage); return NULL; }

// propagate(rowStart, col, w, x, out, acc, dim, threads): checks the CSR arrays against x, and out (and a non-empty acc) sized like x, not aliasing it.
static napi_value propagate(napi_env env, napi_callback_info info) {
  TAKE_ARGS(8, "propagate(rowStart, col, w, x, out, acc, dim, threads)");
  void *rs, *col, *w, *x, *out, *acc;
  size_t nrs, ncol, nw, nx, nout, nacc;
  int64_t dim, threads;
  if (!get_typed(env, argv[0], napi_int32_array, &rs, &nrs) || !get_typed(env, argv[1], napi_int32_array, &col, &ncol)
      || !get_typed(env, argv[2], napi_float32_array, &w, &nw) || !get_typed(env, argv[3], napi_float32_array, &x, &nx)
      || !get_typed(env, argv[4], napi_float32_array, &out, &nout) || !get_typed(env, argv[5], napi_float32_array, &acc, &nacc)) return NULL;
  napi_get_value_int64(env, argv[6], &dim);
  napi_get_value_int64(env, argv[7], &threads);
  if (!check_csr(env, rs, nrs, col, ncol, nw, nx, dim)) return NULL;
  if (nout != nx || (nacc != 0 && nacc != nx)) { napi_throw_range_error(env, NULL, "propagate: out and acc must be sized like x (acc may be empty)"); return NULL; }
  // Rows of out are written while rows of x are still read: they must not share memory.
  const char *xb = x, *ob = out, *ab = acc;
  const size_t bytes = nx * sizeof(float);
  if ((ob < xb + bytes && xb < ob + bytes) || (nacc && ((ab < xb + bytes && xb < ab + bytes) || (ab < ob + bytes && ob < ab + bytes)))) {
    napi_throw_range_error(env, NULL, "propagate: x, out and acc must not overlap");
    return NULL;
  }
  RowTask base = { .row_start = rs, .col = col, .w = w, .x = x, .out = out, .acc = nacc ? acc : NULL, .dim = dim };
  parallel_rows(base, (int64_t)nrs - 1, clamp_threads(threads), run_spmm);
  return NULL;
}

typedef struct {
  float *param, *m, *v;
  const float *grad;
  float lr, b1, b2, eps, rate, v_scale;
  int64_t begin, end;
} AdamTask;

// TF.js's Adam: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − lr·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε).
static void *adam_range(void *arg) {
  const AdamTask *t = arg;
  const float b1 = t->b1, b2 = t->b2, a1 = 1 - t->b1, a2 = 1 - t->b2, rate = t->rate, vs = t->v_scale, eps = t->eps;
#pragma omp simd
  for (int64_t i = t->begin; i < t->end; i++) {
    const float g = t->grad[i];
    const float m = t->m[i] * b1 + g * a1;
    const float v = t->v[i] * b2 + g * g * a2;
    t->m[i] = m;
    t->v[i] = v;
    t->param[i] -= rate * m / (sqrtf(v * vs) + eps);
  }
  return NULL;
}

static napi_value adam(napi_env env, napi_callback_info info) {
  TAKE_ARGS(6, "adam(param, grad, m, v, hyper, threads)");
  void *a[5];
  size_t n[5];
  int64_t threads;
  for (int i = 0; i < 5; i++) if (!get_typed(env, argv[i], napi_float32_array, &a[i], &n[i])) return NULL;
  napi_get_value_int64(env, argv[5], &threads);
  if (n[1] != n[0] || n[2] != n[0] || n[3] != n[0] || n[4] != 6) { napi_throw_range_error(env, NULL, "adam: param, grad, m, v must have one length and hyper 6 entries"); return NULL; }
  const float *h = a[4];
  AdamTask base = { .param = a[0], .grad = a[1], .m = a[2], .v = a[3], .lr = h[0], .b1 = h[1], .b2 = h[2], .eps = h[3],
                    .rate = h[0] / (1 - h[4]), .v_scale = 1 / (1 - h[5]) };
  const int th = clamp_threads(threads);
  AdamTask tasks[MAX_THREADS];
  const int64_t total = (int64_t)n[0];
  for (int i = 0; i < th; i++) {
    tasks[i] = base;
    tasks[i].begin = total * i / th;
    tasks[i].end = total * (i + 1) / th;
  }
  run_tasks(adam_range, tasks, sizeof(AdamTask), th);
  return NULL;
}

// The d = 1 sheaf Laplacian (models/graph/scalar-sheaf-laplacian.ts gives the formulas), with every per-entry
// array in CSR order: entry k of row u is the edge u → col[k], rev_entry[k] the entry of its reverse. Forward,
// two passes over the rows (the second reads other rows' z): per row u, D_u, S_u, the entries' weights
// a_k = F_k·F_rev(k), z_u; then (A z)_u and out_u. Backward, three: h = S g; then q = A h, the entries' dots, ∂y
// and ∂D per row; then ∂F per entry, which needs ∂D of its row and ∂a of the entry and its reverse.
// The native step (models/graph/sheaf-step.ts) makes the maps here too, F_k = tanh(p_u,0 + p_v,1 + b) with
// p = x·[w_s w_d] ([N, 2]), and differentiates them: ∂p_u,0 sums ∂logit over u's entries and ∂p_u,1 over their
// reverses (the edges entering u), both from u's own row, so no thread writes another's. Outputs and scratch are
// the caller's arrays, reused from step to step: fresh pages for them cost ~8 ms per [N, 64] array on the
// 1M-interaction graph, a fifth of a propagation.
// tanh as TensorFlow's CPU kernel computes it (Eigen's generic_fast_tanh_float: a [13/6] rational function on
// [-7.9, 7.9], x itself below 4e-4), so the step's maps match the taped ones and the loop vectorises (tanhf does not).
#pragma omp declare simd
static inline float fast_tanh(float a) {
  const float x = fminf(fmaxf(a, -7.90531110763549805f), 7.90531110763549805f);
  const float x2 = x * x;
  float p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
  p = x2 * p + -8.60467152213735e-11f;
  p = x2 * p + 5.12229709037114e-08f;
  p = x2 * p + 1.48572235717979e-05f;
  p = x2 * p + 6.37261928875436e-04f;
  p = x2 * p + 4.89352455891786e-03f;
  p = x * p;
  float q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
  q = x2 * q + 2.26843463243900e-03f;
  q = x2 * q + 4.89352518554385e-03f;
  return fabsf(a) < 0.0004f ? a : p / q;
}

static void *sheaf_maps_fwd(void *arg) {
  const RowTask *t = arg;
  for (int64_t u = t->row_begin; u < t->row_end; u++) {
    const float pu = t->p[2 * u] + t->map_bias;
#pragma omp simd
    for (int32_t k = t->row_start[u]; k < t->row_start[u + 1]; k++) t->maps_out[k] = fast_tanh(pu + t->p[2 * (int64_t)t->col[k] + 1]);
  }
  return NULL;
}

// ∂logit in place of ∂F, and the sums over each row's own entries.
static void *sheaf_maps_bwd1(void *arg) {
  const RowTask *t = arg;
  for (int64_t u = t->row_begin; u < t->row_end; u++) {
    float sum = 0;
#pragma omp simd reduction(+:sum)
    for (int32_t k = t->row_start[u]; k < t->row_start[u + 1]; k++) {
      const float dl = t->grad_scale * t->dmaps[k] * (1 - t->maps[k] * t->maps[k]);
      t->dmaps[k] = dl;
      sum += dl;
    }
    t->dp[2 * u] = sum;
  }
  return NULL;
}

// The sums over the reverses of each row's entries, once every ∂logit is known.
static void *sheaf_maps_bwd2(void *arg) {
  const RowTask *t = arg;
  for (int64_t u = t->row_begin; u < t->row_end; u++) {
    float sum = 0;
    for (int32_t k = t->row_start[u]; k < t->row_start[u + 1]; k++) sum += t->dmaps[t->rev_entry[k]];
    t->dp[2 * u + 1] = sum;
  }
  return NULL;
}

static void *sheaf_fwd1(void *arg) {
  const RowTask *t = arg;
  const int64_t d = t->dim;
  for (int64_t u = t->row_begin; u < t->row_end; u++) {
    float sum = 0;
    for (int32_t k = t->row_start[u]; k < t->row_start[u + 1]; k++) {
      const float fe = t->maps[k];
      t->a[k] = fe * t->maps[t->rev_entry[k]];
      sum += fe * fe;
    }
    const float s = 1.0f / sqrtf(1.0f + sum);
    t->diag[u] = sum;
    t->scale[u] = s;
#pragma omp simd
    for (int64_t c = 0; c < d; c++) t->z[u * d + c] = s * t->y[u * d + c];
  }
  return NULL;
}

INLINE void sheaf_fwd2_w(const RowTask *t, const int64_t d) {
  for (int64_t u = t->row_begin; u < t->row_end; u++) {
    float *az = t->az + u * d;
    memset(az, 0, sizeof(float) * d);
    for (int32_t k = t->row_start[u]; k < t->row_start[u + 1]; k++) {
      const float a = t->a[k];
      const float *zs = t->z + (int64_t)t->col[k] * d;
#pragma omp simd
      for (int64_t c = 0; c < d; c++) az[c] += a * zs[c];
    }
    const float s = t->scale[u], dg = t->diag[u];
    const float *zu = t->z + u * d;
    float *o = t->out + u * d;
    if (t->x_in) {
      const float *xu = t->x_in + u * d;
#pragma omp simd
      for (int64_t c = 0; c < d; c++) o[c] = xu[c] - t->step * s * (dg * zu[c] - az[c]);
    } else {
#pragma omp simd
      for (int64_t c = 0; c < d; c++) o[c] = s * (dg * zu[c] - az[c]);
    }
  }
}

static void *sheaf_fwd2(void *arg) { BY_WIDTH(sheaf_fwd2_w, (const RowTask *)arg); return NULL; }

static void *sheaf_bwd1(void *arg) {
  const RowTask *t = arg;
  const int64_t d = t->dim;
  for (int64_t u = t->row_begin; u < t->row_end; u++) {
    const float s = t->scale[u];
#pragma omp simd
    for (int64_t c = 0; c < d; c++) t->h[u * d + c] = s * t->g[u * d + c];
  }
  return NULL;
}

INLINE void sheaf_bwd2_w(const RowTask *t, const int64_t d) {
  float q[1024];
  for (int64_t u = t->row_begin; u < t->row_end; u++) {
    const float *zu = t->z + u * d;
    memset(q, 0, sizeof(float) * d);
    for (int32_t k = t->row_start[u]; k < t->row_start[u + 1]; k++) {
      const float a = t->a[k];
      const float *hv = t->h + (int64_t)t->col[k] * d;
      float acc = 0;
      // ∂a of the reverse entry (v → u) is −h_v·z_u: from the neighbour row this pass reads anyway, so each
      // entry costs one random row read, as in LightGCN's propagation, not two (h_u·z_v would need z_v).
      // Stored at this entry (a sequential write): bwd3 only ever needs ∂a_k + ∂a_rev(k), the same sum.
#pragma omp simd reduction(+:acc)
      for (int64_t c = 0; c < d; c++) {
        q[c] += a * hv[c];
        acc += hv[c] * zu[c];
      }
      t->da[k] = -acc;
    }
    const float s = t->scale[u], dg = t->diag[u];
    const float *gu = t->g + u * d, *azu = t->az + u * d;
    float *dyu = t->dy + u * d;
    float gz = 0, gaz = 0, qz = 0;
#pragma omp simd reduction(+:gz, gaz, qz)
    for (int64_t c = 0; c < d; c++) {
      dyu[c] = s * s * dg * gu[c] - s * q[c];
      gz += gu[c] * zu[c];
      gaz += gu[c] * azu[c];
      qz += q[c] * zu[c];
    }
    // y_u = z_u / S_u: y itself is not kept (the step writes z over it).
    const float inv_s = sqrtf(1.0f + dg), gy = gz * inv_s, qy = qz * inv_s;
    const float dscale = 2 * s * dg * gy - gaz - qy;
    t->ddiag[u] = s * s * gy - 0.5f * s * s * s * dscale;
  }
}

static void *sheaf_bwd2(void *arg) { BY_WIDTH(sheaf_bwd2_w, (const RowTask *)arg); return NULL; }

static void *sheaf_bwd3(void *arg) {
  const RowTask *t = arg;
  for (int64_t u = t->row_begin; u < t->row_end; u++) {
    for (int32_t k = t->row_start[u]; k < t->row_start[u + 1]; k++) {
      const int32_t r = t->rev_entry[k];
      t->dmaps[k] = 2 * t->maps[k] * t->ddiag[u] + t->maps[r] * (t->da[k] + t->da[r]);
    }
  }
  return NULL;
}

// The sheaf calls check sizes only: the index arrays come from edgeCsr (native-spmm.ts), which checks every index once.
static int args_typed(napi_env env, napi_value *argv, size_t from, size_t count, napi_typedarray_type type, void **data, size_t *lengths) {
  for (size_t i = 0; i < count; i++) if (!get_typed(env, argv[from + i], type, &data[i], &lengths[i])) return 0;
  return 1;
}

// A JS array of `count` Float32Arrays (the caller's outputs or scratch), each of the length given in `want`.
static int float_list(napi_env env, napi_value list, size_t count, const size_t *want, float **data, const char *what) {
  uint32_t length;
  if (napi_get_array_length(env, list, &length) != napi_ok || length != count) {
    napi_throw_type_error(env, NULL, what);
    return 0;
  }
  for (uint32_t i = 0; i < count; i++) {
    napi_value item;
    size_t n;
    if (napi_get_element(env, list, i, &item) != napi_ok || !get_typed(env, item, napi_float32_array, (void **)&data[i], &n)) return 0;
    if (n != want[i]) { napi_throw_range_error(env, NULL, what); return 0; }
  }
  return 1;
}

// Rows and entries of the CSR arrays (rowStart, col, revEntry in argv[0..2]), or 0 after throwing.
static int csr_shape(napi_env env, napi_value *argv, void **idx, int64_t *rows, size_t *entries, const char *what) {
  size_t ni[3];
  if (!args_typed(env, argv, 0, 3, napi_int32_array, idx, ni)) return 0;
  *rows = (int64_t)ni[0] - 1;
  *entries = ni[1];
  if (*rows < 0 || ni[2] != ni[1] || (size_t)((int32_t *)idx[0])[*rows] != ni[1]) { napi_throw_range_error(env, NULL, what); return 0; }
  return 1;
}

// sheafMaps(rowStart, col, revEntry, p, bias, maps, threads): maps [entries] written, p [rows, 2].
static napi_value sheaf_maps(napi_env env, napi_callback_info info) {
  TAKE_ARGS(7, "sheafMaps(rowStart, col, revEntry, p, bias, maps, threads)");
  void *idx[3], *fl[2];
  size_t nf[2], entries;
  int64_t rows, threads;
  double bias;
  if (!csr_shape(env, argv, idx, &rows, &entries, "sheafMaps: CSR arrays disagree") || !get_typed(env, argv[3], napi_float32_array, &fl[0], &nf[0])
      || !get_typed(env, argv[5], napi_float32_array, &fl[1], &nf[1])) return NULL;
  napi_get_value_double(env, argv[4], &bias);
  napi_get_value_int64(env, argv[6], &threads);
  if (nf[0] != (size_t)(2 * rows) || nf[1] != entries) { napi_throw_range_error(env, NULL, "sheafMaps: p must be [rows, 2] and maps [entries]"); return NULL; }
  RowTask t = { .row_start = idx[0], .col = idx[1], .p = fl[0], .maps_out = fl[1], .map_bias = (float)bias };
  parallel_rows(t, rows, clamp_threads(threads), sheaf_maps_fwd);
  return NULL;
}

// sheafMapsBackward(rowStart, col, revEntry, maps, dMaps, scale, dp, threads): dp [rows, 2] written; dMaps becomes ∂logit.
static napi_value sheaf_maps_backward(napi_env env, napi_callback_info info) {
  TAKE_ARGS(8, "sheafMapsBackward(rowStart, col, revEntry, maps, dMaps, scale, dp, threads)");
  void *idx[3], *fl[3];
  size_t nf[3], entries;
  int64_t rows, threads;
  double scale;
  if (!csr_shape(env, argv, idx, &rows, &entries, "sheafMapsBackward: CSR arrays disagree") || !args_typed(env, argv, 3, 2, napi_float32_array, fl, nf)
      || !get_typed(env, argv[6], napi_float32_array, &fl[2], &nf[2])) return NULL;
  napi_get_value_double(env, argv[5], &scale);
  napi_get_value_int64(env, argv[7], &threads);
  if (nf[0] != entries || nf[1] != entries || nf[2] != (size_t)(2 * rows)) { napi_throw_range_error(env, NULL, "sheafMapsBackward: maps and dMaps must be [entries], dp [rows, 2]"); return NULL; }
  RowTask t = { .row_start = idx[0], .rev_entry = idx[2], .maps = fl[0], .dmaps = fl[1], .dp = fl[2], .grad_scale = (float)scale };
  const int th = clamp_threads(threads);
  parallel_rows(t, rows, th, sheaf_maps_bwd1);
  parallel_rows(t, rows, th, sheaf_maps_bwd2);
  return NULL;
}

// sheafForward(rowStart, col, revEntry, maps, y, dim, threads, [out, z, az, a, diag, scale][, x, step]):
// out = L·y, or x − step·L·y (the layer's output, one pass fewer) when x is given; the six outputs are written, and z
// (= S·y, written row by row over the row just read) may be y's own array.
static napi_value sheaf_forward(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 8 && argc != 10) { napi_throw_type_error(env, NULL, "sheafForward(rowStart, col, revEntry, maps, y, dim, threads, outs[, x, step])"); return NULL; }
  void *idx[3], *fl[3] = {NULL, NULL, NULL};
  size_t nf[3] = {0, 0, 0}, entries;
  int64_t rows, dim, threads;
  double step = 0;
  if (!csr_shape(env, argv, idx, &rows, &entries, "sheafForward: CSR arrays disagree") || !args_typed(env, argv, 3, 2, napi_float32_array, fl, nf)) return NULL;
  napi_get_value_int64(env, argv[5], &dim);
  napi_get_value_int64(env, argv[6], &threads);
  if (argc == 10 && (!get_typed(env, argv[8], napi_float32_array, &fl[2], &nf[2]) || napi_get_value_double(env, argv[9], &step) != napi_ok)) return NULL;
  const size_t nd = (size_t)(rows * dim);
  if (dim <= 0 || dim > 1024 || nf[0] != entries || nf[1] != nd || (fl[2] && nf[2] != nd)) { napi_throw_range_error(env, NULL, "sheafForward: operand sizes disagree"); return NULL; }
  float *outs[6];
  const size_t want[6] = {nd, nd, nd, entries, (size_t)rows, (size_t)rows};
  if (!float_list(env, argv[7], 6, want, outs, "sheafForward: outs must be [out, z, az, a, diag, scale] sized [N·dim ×3, entries, N ×2]")) return NULL;
  RowTask t = { .row_start = idx[0], .col = idx[1], .rev_entry = idx[2], .maps = fl[0], .y = fl[1], .x_in = fl[2], .step = (float)step, .dim = dim,
                  .out = outs[0], .z = outs[1], .az = outs[2], .a = outs[3], .diag = outs[4], .scale = outs[5] };
  parallel_rows(t, rows, clamp_threads(threads), sheaf_fwd1);
  parallel_rows(t, rows, clamp_threads(threads), sheaf_fwd2);
  return NULL;
}

// sheafBackward(rowStart, col, revEntry, [z, az, a, maps, diag, scale], g, dim, threads, [dy, dMaps], [h, da, dDiag]):
// dy and dMaps (per entry) written; the last three are scratch.
static napi_value sheaf_backward(napi_env env, napi_callback_info info) {
  TAKE_ARGS(9, "sheafBackward(rowStart, col, revEntry, forward, g, dim, threads, outs, scratch)");
  void *idx[3], *g;
  size_t ng, entries;
  int64_t rows, dim, threads;
  if (!csr_shape(env, argv, idx, &rows, &entries, "sheafBackward: CSR arrays disagree") || !get_typed(env, argv[4], napi_float32_array, &g, &ng)) return NULL;
  napi_get_value_int64(env, argv[5], &dim);
  napi_get_value_int64(env, argv[6], &threads);
  const size_t nd = (size_t)(rows * dim), n = (size_t)rows;
  if (dim <= 0 || dim > 1024 || ng != nd) { napi_throw_range_error(env, NULL, "sheafBackward: g must be [rows, dim]"); return NULL; }
  float *fwd[6], *outs[2], *scratch[3];
  const size_t want_fwd[6] = {nd, nd, entries, entries, n, n}, want_outs[2] = {nd, entries}, want_scratch[3] = {nd, entries, n};
  if (!float_list(env, argv[3], 6, want_fwd, fwd, "sheafBackward: forward must be [z, az, a, maps, diag, scale] as sheafForward sized them")
      || !float_list(env, argv[7], 2, want_outs, outs, "sheafBackward: outs must be [dy, dMaps] sized [N·dim, entries]")
      || !float_list(env, argv[8], 3, want_scratch, scratch, "sheafBackward: scratch must be [h, da, dDiag] sized [N·dim, entries, N]")) return NULL;
  RowTask t = { .row_start = idx[0], .col = idx[1], .rev_entry = idx[2], .z = fwd[0], .az = fwd[1], .a = fwd[2], .maps = fwd[3],
                  .diag = fwd[4], .scale = fwd[5], .g = g, .dim = dim, .dy = outs[0], .dmaps = outs[1], .h = scratch[0], .da = scratch[1], .ddiag = scratch[2] };
  const int th = clamp_threads(threads);
  parallel_rows(t, rows, th, sheaf_bwd1);
  parallel_rows(t, rows, th, sheaf_bwd2);
  parallel_rows(t, rows, th, sheaf_bwd3);
  return NULL;
}

// dense and denseWeightGrad: per-row products with a small weight matrix (the sheaf's [64, 64] channel kernel stays in L1).
typedef struct {
  const float *x, *w, *bias, *dy;
  float *out;
  int64_t in_dim, out_dim, begin, end;
  int accumulate;
} DenseTask;

// Rows of 64 outputs (the sheaf's channel kernel) with the accumulator in registers; 2 outputs (its map learner) as two dot products.
static void dense_rows_64(const DenseTask *t) {
  const int64_t di = t->in_dim;
  for (int64_t n = t->begin; n < t->end; n++) {
    float acc[64];
    float *o = t->out + n * 64;
    const float *xn = t->x + n * di;
    for (int c = 0; c < 64; c++) acc[c] = (t->accumulate ? o[c] : 0) + (t->bias ? t->bias[c] : 0);
    for (int64_t i = 0; i < di; i++) {
      const float a = xn[i];
      const float *wi = t->w + i * 64;
#pragma omp simd
      for (int c = 0; c < 64; c++) acc[c] += a * wi[c];
    }
    memcpy(o, acc, sizeof acc);
  }
}

static void dense_rows_2(const DenseTask *t) {
  const int64_t di = t->in_dim;
  for (int64_t n = t->begin; n < t->end; n++) {
    const float *xn = t->x + n * di;
    float s0 = 0, s1 = 0;
#pragma omp simd reduction(+:s0, s1)
    for (int64_t i = 0; i < di; i++) {
      s0 += xn[i] * t->w[2 * i];
      s1 += xn[i] * t->w[2 * i + 1];
    }
    float *o = t->out + n * 2;
    o[0] = (t->accumulate ? o[0] : 0) + (t->bias ? t->bias[0] : 0) + s0;
    o[1] = (t->accumulate ? o[1] : 0) + (t->bias ? t->bias[1] : 0) + s1;
  }
}

static void *dense_rows(void *arg) {
  const DenseTask *t = arg;
  const int64_t di = t->in_dim, dout = t->out_dim;
  if (dout == 64) { dense_rows_64(t); return NULL; }
  if (dout == 2) { dense_rows_2(t); return NULL; }
  for (int64_t n = t->begin; n < t->end; n++) {
    float *o = t->out + n * dout;
    const float *xn = t->x + n * di;
    if (!t->accumulate) {
      if (t->bias) memcpy(o, t->bias, sizeof(float) * dout);
      else memset(o, 0, sizeof(float) * dout);
    } else if (t->bias) {
      for (int64_t c = 0; c < dout; c++) o[c] += t->bias[c];
    }
    for (int64_t i = 0; i < di; i++) {
      const float a = xn[i];
      const float *wi = t->w + i * dout;
#pragma omp simd
      for (int64_t c = 0; c < dout; c++) o[c] += a * wi[c];
    }
  }
  return NULL;
}

// Each thread sums its rows into its own [inDim, outDim] block (out of a caller-sized scratch); the blocks are added at the end.
static void *dense_weight_grad_rows(void *arg) {
  const DenseTask *t = arg;
  const int64_t di = t->in_dim, dout = t->out_dim;
  if (dout == 2 && di <= 1024) {
    // Two columns: vectorised along the inputs instead, into two local sums.
    float s0[1024] = {0}, s1[1024] = {0};
    for (int64_t n = t->begin; n < t->end; n++) {
      const float *xn = t->x + n * di, g0 = t->dy[2 * n], g1 = t->dy[2 * n + 1];
#pragma omp simd
      for (int64_t i = 0; i < di; i++) {
        s0[i] += xn[i] * g0;
        s1[i] += xn[i] * g1;
      }
    }
    for (int64_t i = 0; i < di; i++) {
      t->out[2 * i] += s0[i];
      t->out[2 * i + 1] += s1[i];
    }
    return NULL;
  }
  if (dout == 64) {
    // Blocks of 64 rows (32 KB of x and dy, in L1): each output row i is summed over the block in registers,
    // where adding a row at a time loaded and stored all 4,096 outputs per input row.
    for (int64_t n0 = t->begin; n0 < t->end; n0 += 64) {
      const int64_t n1 = n0 + 64 < t->end ? n0 + 64 : t->end;
      for (int64_t i = 0; i < di; i++) {
        float acc[64];
        float *o = t->out + i * 64;
        memcpy(acc, o, sizeof acc);
        for (int64_t n = n0; n < n1; n++) {
          const float a = t->x[n * di + i];
          const float *g = t->dy + n * 64;
#pragma omp simd
          for (int c = 0; c < 64; c++) acc[c] += a * g[c];
        }
        memcpy(o, acc, sizeof acc);
      }
    }
    return NULL;
  }
  for (int64_t n = t->begin; n < t->end; n++) {
    const float *xn = t->x + n * di, *g = t->dy + n * dout;
    for (int64_t i = 0; i < di; i++) {
      const float a = xn[i];
      float *o = t->out + i * dout;
#pragma omp simd
      for (int64_t c = 0; c < dout; c++) o[c] += a * g[c];
    }
  }
  return NULL;
}

static void parallel_dense(DenseTask base, int64_t rows, int threads, void *(*fn)(void *), float *partials) {
  DenseTask tasks[MAX_THREADS];
  for (int i = 0; i < threads; i++) {
    tasks[i] = base;
    tasks[i].begin = rows * i / threads;
    tasks[i].end = rows * (i + 1) / threads;
    if (partials) tasks[i].out = partials + (int64_t)i * base.in_dim * base.out_dim;
  }
  run_tasks(fn, tasks, sizeof(DenseTask), threads);
}

// dense(x, w, bias, out, inDim, accumulate, threads): bias empty or [outDim]; out [rows, outDim], not overlapping x.
static napi_value dense(napi_env env, napi_callback_info info) {
  TAKE_ARGS(7, "dense(x, w, bias, out, inDim, accumulate, threads)");
  void *fl[4];
  size_t nf[4];
  int64_t in_dim, threads;
  bool accumulate;
  if (!args_typed(env, argv, 0, 4, napi_float32_array, fl, nf)) return NULL;
  napi_get_value_int64(env, argv[4], &in_dim);
  napi_get_value_bool(env, argv[5], &accumulate);
  napi_get_value_int64(env, argv[6], &threads);
  if (in_dim <= 0 || nf[0] % (size_t)in_dim != 0 || nf[1] % (size_t)in_dim != 0 || nf[1] == 0) { napi_throw_range_error(env, NULL, "dense: x and w must have inDim columns and rows"); return NULL; }
  const int64_t rows = (int64_t)(nf[0] / (size_t)in_dim), out_dim = (int64_t)(nf[1] / (size_t)in_dim);
  if ((nf[2] != 0 && nf[2] != (size_t)out_dim) || nf[3] != (size_t)(rows * out_dim)) { napi_throw_range_error(env, NULL, "dense: bias must be empty or [outDim] and out [rows, outDim]"); return NULL; }
  const char *xb = fl[0], *ob = fl[3];
  if (ob < xb + nf[0] * sizeof(float) && xb < ob + nf[3] * sizeof(float)) { napi_throw_range_error(env, NULL, "dense: x and out must not overlap"); return NULL; }
  DenseTask base = { .x = fl[0], .w = fl[1], .bias = nf[2] ? fl[2] : NULL, .out = fl[3], .in_dim = in_dim, .out_dim = out_dim, .accumulate = accumulate };
  parallel_dense(base, rows, clamp_threads(threads), dense_rows, NULL);
  return NULL;
}

// denseWeightGrad(x, dy, out, inDim, threads): x [rows, inDim], dy [rows, outDim], out [inDim, outDim] added to.
static napi_value dense_weight_grad(napi_env env, napi_callback_info info) {
  TAKE_ARGS(5, "denseWeightGrad(x, dy, out, inDim, threads)");
  void *fl[3];
  size_t nf[3];
  int64_t in_dim, threads;
  if (!args_typed(env, argv, 0, 3, napi_float32_array, fl, nf)) return NULL;
  napi_get_value_int64(env, argv[3], &in_dim);
  napi_get_value_int64(env, argv[4], &threads);
  if (in_dim <= 0 || nf[0] % (size_t)in_dim != 0 || nf[2] % (size_t)in_dim != 0 || nf[2] == 0) { napi_throw_range_error(env, NULL, "denseWeightGrad: x must have inDim columns and out inDim rows"); return NULL; }
  const int64_t rows = (int64_t)(nf[0] / (size_t)in_dim), out_dim = (int64_t)(nf[2] / (size_t)in_dim);
  if (nf[1] != (size_t)(rows * out_dim)) { napi_throw_range_error(env, NULL, "denseWeightGrad: dy must be [rows, outDim]"); return NULL; }
  const int th = clamp_threads(threads);
  const size_t block = (size_t)(in_dim * out_dim);
  float *partials = calloc((size_t)th * block, sizeof(float));
  if (!partials) { napi_throw_error(env, NULL, "denseWeightGrad: out of memory"); return NULL; }
  DenseTask base = { .x = fl[0], .dy = fl[1], .in_dim = in_dim, .out_dim = out_dim };
  parallel_dense(base, rows, th, dense_weight_grad_rows, partials);
  float *out = fl[2];
  for (int i = 0; i < th; i++) for (size_t k = 0; k < block; k++) out[k] += partials[(size_t)i * block + k];
  free(partials);
  return NULL;
}

NAPI_MODULE_INIT() {
  static const struct { const char *name; napi_callback fn; } calls[] = {
    {"propagate", propagate}, {"adam", adam}, {"sheafForward", sheaf_forward}, {"sheafBackward", sheaf_backward},
    {"sheafMaps", sheaf_maps}, {"sheafMapsBackward", sheaf_maps_backward}, {"dense", dense}, {"denseWeightGrad", dense_weight_grad},
  };
  for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
    napi_value f;
    napi_create_function(env, calls[i].name, NAPI_AUTO_LENGTH, calls[i].fn, NULL, &f);
    napi_set_named_property(env, exports, calls[i].name, f);
  }
  return exports;
}
