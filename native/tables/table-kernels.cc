/*
 * Loops over embedding tables that live in JavaScript typed arrays, outside
 * TensorFlow (infra/scripts/build-native-ops.sh builds this file alone into
 * build/native/recsys_tables.node; it does not link TensorFlow). Each
 * function computes what the JavaScript loop it replaces computes, in the
 * same order and in double precision where JavaScript's numbers are doubles,
 * so the floats written are the same bit for bit; the gain is memory-level
 * parallelism (rows of a large table miss every cache level, and prefetching
 * a few rows ahead lets the misses overlap) and no bounds checks.
 *
 * Node-API is declared here (its C ABI is stable), so no Node headers are needed.
 */
#include <sys/mman.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

extern "C" {
typedef struct napi_env__ *napi_env;
typedef struct napi_value__ *napi_value;
typedef struct napi_callback_info__ *napi_callback_info;
typedef int napi_status;  // napi_ok is 0
typedef napi_value (*napi_callback)(napi_env env, napi_callback_info info);
typedef enum {
  napi_int8_array, napi_uint8_array, napi_uint8_clamped_array, napi_int16_array, napi_uint16_array,
  napi_int32_array, napi_uint32_array, napi_float32_array, napi_float64_array,
  napi_bigint64_array, napi_biguint64_array,
} napi_typedarray_type;
napi_status napi_get_cb_info(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv, napi_value *this_arg, void **data);
napi_status napi_get_typedarray_info(napi_env env, napi_value value, napi_typedarray_type *type, size_t *length, void **data, napi_value *arraybuffer, size_t *byte_offset);
napi_status napi_get_value_double(napi_env env, napi_value value, double *result);
napi_status napi_create_double(napi_env env, double value, napi_value *result);
napi_status napi_create_function(napi_env env, const char *utf8name, size_t length, napi_callback cb, void *data, napi_value *result);
napi_status napi_set_named_property(napi_env env, napi_value object, const char *utf8name, napi_value value);
napi_status napi_throw_type_error(napi_env env, const char *code, const char *msg);
int32_t node_api_module_get_api_version_v1(void) { return 8; }
}

namespace {

constexpr size_t HUGE_PAGE = size_t{2} << 20;
// Rows ahead to prefetch: enough misses in flight to cover DRAM latency, few
// enough that the lines are still in L1/L2 when the row is reached.
constexpr size_t AHEAD = 16;

struct Args {
  napi_env env;
  napi_value argv[12];
  size_t argc = 12;
  bool ok = true;

  Args(napi_env e, napi_callback_info info) : env(e) { napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr); }

  /* Every row in [0, rows): a row outside would write outside the table. */
  bool rows_in_range(const int32_t *unique, size_t count, size_t rows, const char *message) {
    for (size_t k = 0; k < count; k++)
      if (unique[k] < 0 || size_t(unique[k]) >= rows) return fail(message);
    return true;
  }

  bool fail(const char *message) {
    if (ok) napi_throw_type_error(env, nullptr, message);
    ok = false;
    return false;
  }

  template <typename T>
  T *array(size_t i, napi_typedarray_type want, size_t *length, const char *message) {
    napi_typedarray_type type;
    void *data = nullptr;
    if (i >= argc || napi_get_typedarray_info(env, argv[i], &type, length, &data, nullptr, nullptr) != 0 || type != want) {
      fail(message);
      return nullptr;
    }
    return static_cast<T *>(data);
  }

  double number(size_t i, const char *message) {
    double value = 0;
    if (i >= argc || napi_get_value_double(env, argv[i], &value) != 0) fail(message);
    return value;
  }

  /* A whole number in [1, 2^24] (a row width), read before any size is computed from it. */
  size_t width(size_t i, const char *message) {
    double value = number(i, message);
    if (!(value >= 1 && value <= double(1 << 24) && value == double(size_t(value)))) {
      fail(message);
      return 1;
    }
    return size_t(value);
  }
};

inline void prefetch_row(const float *row, size_t dim) {
  __builtin_prefetch(row, 1, 1);
  __builtin_prefetch(row + dim - 1, 1, 1);
}

/*
 * adviseHugePages(array: Float32Array): number. Asks the kernel to back the
 * array's whole 2 MB pages with transparent huge pages (madvise
 * MADV_HUGEPAGE; this machine's default is "madvise", i.e. only where asked).
 * Call it before the array is first written: pages already faulted in stay
 * 4 KB until khugepaged collapses them. Returns the bytes advised (0 when the
 * array spans no whole huge page or the kernel refuses).
 */
napi_value advise_huge_pages(napi_env env, napi_callback_info info) {
  Args args(env, info);
  size_t length = 0;
  float *data = args.array<float>(0, napi_float32_array, &length, "adviseHugePages(array): array must be a Float32Array");
  if (!args.ok) return nullptr;
  uintptr_t begin = reinterpret_cast<uintptr_t>(data);
  uintptr_t end = begin + length * sizeof(float);
  uintptr_t first = (begin + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
  uintptr_t last = end & ~(HUGE_PAGE - 1);
  double advised = 0;
  if (last > first && madvise(reinterpret_cast<void *>(first), last - first, MADV_HUGEPAGE) == 0) advised = double(last - first);
  napi_value result;
  napi_create_double(env, advised, &result);
  return result;
}

/*
 * copyRows(weights: Float32Array, unique: Int32Array, dim, out: Float32Array):
 * out[k·dim + j] = weights[unique[k]·dim + j]; rows outside the table are refused.
 */
napi_value copy_rows(napi_env env, napi_callback_info info) {
  Args args(env, info);
  size_t wn = 0, un = 0, on = 0;
  const float *weights = args.array<float>(0, napi_float32_array, &wn, "copyRows: weights must be a Float32Array");
  const int32_t *unique = args.array<int32_t>(1, napi_int32_array, &un, "copyRows: unique must be an Int32Array");
  size_t dim = args.width(2, "copyRows: dim must be a whole number from 1 to 2^24");
  float *out = args.array<float>(3, napi_float32_array, &on, "copyRows: out must be a Float32Array");
  if (!args.ok) return nullptr;
  if (on < un * dim) return args.fail("copyRows: out must hold unique.length × dim floats"), nullptr;
  if (!args.rows_in_range(unique, un, wn / dim, "copyRows: a row of unique is outside the table")) return nullptr;
  for (size_t k = 0; k < un; k++) {
    if (k + AHEAD < un) prefetch_row(weights + size_t(unique[k + AHEAD]) * dim, dim);
    std::memcpy(out + k * dim, weights + size_t(unique[k]) * dim, dim * sizeof(float));
  }
  return nullptr;
}

/*
 * sparseAdam(weights, m, v: Float32Array, unique: Int32Array, grad: Float32Array,
 *            dim, stepSize, mix1, mix2, epsilon, decay): the lazy Adam update of
 * features/embedding/optimizers/adam.ts on rows `unique` (distinct, in range:
 * the caller's promise), with its arithmetic: doubles, rounded to float where
 * JavaScript stores into a Float32Array. Built without FMA contraction. Rows
 * outside the table are refused before anything is written.
 */
napi_value sparse_adam(napi_env env, napi_callback_info info) {
  Args args(env, info);
  size_t wn = 0, mn = 0, vn = 0, un = 0, gn = 0;
  float *weights = args.array<float>(0, napi_float32_array, &wn, "sparseAdam: weights must be a Float32Array");
  float *m = args.array<float>(1, napi_float32_array, &mn, "sparseAdam: m must be a Float32Array");
  float *v = args.array<float>(2, napi_float32_array, &vn, "sparseAdam: v must be a Float32Array");
  const int32_t *unique = args.array<int32_t>(3, napi_int32_array, &un, "sparseAdam: unique must be an Int32Array");
  const float *grad = args.array<float>(4, napi_float32_array, &gn, "sparseAdam: grad must be a Float32Array");
  size_t dim = args.width(5, "sparseAdam: dim must be a whole number from 1 to 2^24");
  double step_size = args.number(6, "sparseAdam: stepSize must be a number");
  double mix1 = args.number(7, "sparseAdam: mix1 must be a number");
  double mix2 = args.number(8, "sparseAdam: mix2 must be a number");
  double epsilon = args.number(9, "sparseAdam: epsilon must be a number");
  double decay = args.number(10, "sparseAdam: decay must be a number");
  if (!args.ok) return nullptr;
  if (gn < un * dim || mn != wn || vn != wn) return args.fail("sparseAdam: grad must hold unique.length × dim floats; m and v the weights' length"), nullptr;
  if (!args.rows_in_range(unique, un, wn / dim, "sparseAdam: a row of unique is outside the table")) return nullptr;
  for (size_t k = 0; k < un; k++) {
    if (k + AHEAD < un) {
      size_t ahead = size_t(unique[k + AHEAD]) * dim;
      prefetch_row(weights + ahead, dim);
      prefetch_row(m + ahead, dim);
      prefetch_row(v + ahead, dim);
    }
    size_t w0 = size_t(unique[k]) * dim;
    const float *g_row = grad + k * dim;
    for (size_t j = 0; j < dim; j++) {
      size_t i = w0 + j;
      double w = weights[i];
      double g = double(g_row[j]) + decay * w;
      double mi = double(m[i]) + mix1 * (g - double(m[i]));
      double vi = double(v[i]) + mix2 * (g * g - double(v[i]));
      m[i] = float(mi);
      v[i] = float(vi);
      weights[i] = float(w - (step_size * mi) / (std::sqrt(vi) + epsilon));
    }
  }
  return nullptr;
}

/*
 * dedupeRows(rowOf: Int32Array, count, keys: Int32Array, slots: Int32Array,
 *            unique: Int32Array, inverse: Int32Array): number. The distinct
 * values of rowOf[0..count) in order of first appearance, by open addressing
 * in keys/slots (a power of two ≥ 2·count entries, keys all -1, left all -1
 * again): features/embedding/tables/row-deduper.ts's hash path. Returns how
 * many are distinct. Rows must not be -1 (the caller checks the range).
 */
napi_value dedupe_rows(napi_env env, napi_callback_info info) {
  Args args(env, info);
  size_t rn = 0, kn = 0, sn = 0, un = 0, in = 0;
  const int32_t *row_of = args.array<int32_t>(0, napi_int32_array, &rn, "dedupeRows: rowOf must be an Int32Array");
  double count_arg = args.number(1, "dedupeRows: count must be a number");
  int32_t *keys = args.array<int32_t>(2, napi_int32_array, &kn, "dedupeRows: keys must be an Int32Array");
  int32_t *slots = args.array<int32_t>(3, napi_int32_array, &sn, "dedupeRows: slots must be an Int32Array");
  int32_t *unique = args.array<int32_t>(4, napi_int32_array, &un, "dedupeRows: unique must be an Int32Array");
  int32_t *inverse = args.array<int32_t>(5, napi_int32_array, &in, "dedupeRows: inverse must be an Int32Array");
  if (!args.ok) return nullptr;
  const double shortest = double(rn < un ? (rn < in ? rn : in) : (un < in ? un : in));
  if (!(count_arg >= 0 && count_arg <= shortest && count_arg == double(size_t(count_arg))))
    return args.fail("dedupeRows: count must be a whole number ≤ the lengths of rowOf, unique and inverse"), nullptr;
  size_t count = size_t(count_arg);
  if (kn != sn || kn < 2 * count || kn < 2 || kn > (size_t{1} << 31) || (kn & (kn - 1)) != 0) return args.fail("dedupeRows: keys and slots must be one power-of-two length ≥ 2·count"), nullptr;
  int bits = 0;
  while ((size_t{1} << bits) < kn) bits++;
  const int shift = 32 - bits;
  const size_t mask = kn - 1;
  int32_t u = 0;
  for (size_t i = 0; i < count; i++) {
    const int32_t row = row_of[i];
    // Fibonacci hashing: the high bits of row × 2^32/φ spread runs of ids.
    size_t h = size_t((uint32_t(row) * 0x9e3779b1u) >> shift);
    for (;;) {
      const int32_t key = keys[h];
      if (key == row) {
        inverse[i] = slots[h];
        break;
      }
      if (key == -1) {
        keys[h] = row;
        slots[h] = u;
        unique[u] = row;
        inverse[i] = u++;
        break;
      }
      h = (h + 1) & mask;
    }
  }
  for (int32_t k = 0; k < u; k++) {
    size_t h = size_t((uint32_t(unique[k]) * 0x9e3779b1u) >> shift);
    while (keys[h] != unique[k]) h = (h + 1) & mask;
    keys[h] = -1;
  }
  napi_value result;
  napi_create_double(env, double(u), &result);
  return result;
}

bool define(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  return napi_create_function(env, name, size_t(-1), cb, nullptr, &fn) == 0 && napi_set_named_property(env, exports, name, fn) == 0;
}

}  // namespace

extern "C" napi_value napi_register_module_v1(napi_env env, napi_value exports) {
  if (!define(env, exports, "adviseHugePages", advise_huge_pages) || !define(env, exports, "copyRows", copy_rows) ||
      !define(env, exports, "sparseAdam", sparse_adam) || !define(env, exports, "dedupeRows", dedupe_rows))
    return nullptr;
  return exports;
}
