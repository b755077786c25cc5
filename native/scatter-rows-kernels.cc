/*
 * The gradient of a row gather (features/embedding/tf/tf-gather-rows.ts):
 * the N × D gradient of the gathered rows summed into the U distinct rows
 * they came from. The JavaScript loop it replaces had to read the N × D
 * gradient back first (3.2 MB for 1024 × 50 × 16) and then upload the sum;
 * TensorFlow's UnsortedSegmentSum does the sum in ~4 ms here.
 *
 *   RecsysScatterRows(values: float [N, D], index: int32 [N], rows: int32 []) -> out: float [rows, D]
 *       out[index[i]] += values[i], i ascending (the JavaScript loop's order: the same floats)
 */
#include "kernel-util.h"

namespace recsys {
namespace {

void scatter_rows_compute(void *, TF_OpKernelContext *ctx) {
  Owned owned;
  TF_Tensor *values = owned.keep(input(ctx, 0)), *index = owned.keep(input(ctx, 1)), *rows = owned.keep(input(ctx, 2));
  if (!values || !index || !rows) return;
  if (TF_TensorType(values) != TF_FLOAT || TF_NumDims(values) != 2 || TF_TensorType(index) != TF_INT32 || TF_NumDims(index) != 1 ||
      TF_Dim(index, 0) != TF_Dim(values, 0) || TF_TensorType(rows) != TF_INT32 || TF_TensorElementCount(rows) != 1) {
    fail(ctx, "RecsysScatterRows: values must be float32 [N, D], index int32 [N] and rows an int32 scalar");
    return;
  }
  const int64_t n = TF_Dim(values, 0), d = TF_Dim(values, 1);
  const int32_t u = static_cast<const int32_t *>(TF_TensorData(rows))[0];
  const int32_t *at = static_cast<const int32_t *>(TF_TensorData(index));
  if (u < 0) {
    fail(ctx, "RecsysScatterRows: rows must be >= 0");
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    if (at[i] < 0 || at[i] >= u) {
      fail(ctx, "RecsysScatterRows: an index is outside [0, rows)");
      return;
    }
  }
  const int64_t dims[2] = {u, d};
  TF_Tensor *out = owned.keep(output_with(ctx, 0, dims, 2));
  if (!out) return;
  float *__restrict os = floats(out);
  const float *__restrict vs = floats(values);
  for (int64_t k = 0; k < static_cast<int64_t>(u) * d; k++) os[k] = 0.0f;
  for (int64_t i = 0; i < n; i++) {
    float *__restrict row = os + static_cast<int64_t>(at[i]) * d;
    const float *__restrict v = vs + i * d;
    for (int64_t j = 0; j < d; j++) row[j] += v[j];
  }
}

}  // namespace

int register_scatter_ops() {
  return register_ops({
      {"RecsysScatterRows", {"values: float", "index: int32", "rows: int32"}, {"out: float"}, scatter_rows_compute},
  });
}

}  // namespace recsys
