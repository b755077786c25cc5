// Helpers shared by our TensorFlow kernels (the C kernel API of libtensorflow).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "tensorflow/c/kernels.h"
#include "tensorflow/c/ops.h"
#include "tensorflow/c/tf_status.h"
#include "tensorflow/c/tf_tensor.h"

namespace recsys {

inline void fail(TF_OpKernelContext *ctx, const char *message) {
  TF_Status *status = TF_NewStatus();
  TF_SetStatus(status, TF_INVALID_ARGUMENT, message);
  TF_OpKernelContext_Failure(ctx, status);
  TF_DeleteStatus(status);
}

/* Reads input i; on failure reports it and returns NULL. */
inline TF_Tensor *input(TF_OpKernelContext *ctx, int i) {
  TF_Status *status = TF_NewStatus();
  TF_Tensor *t = nullptr;
  TF_GetInput(ctx, i, &t, status);
  if (TF_GetCode(status) != TF_OK) {
    TF_OpKernelContext_Failure(ctx, status);
    t = nullptr;
  }
  TF_DeleteStatus(status);
  return t;
}

/* Deletes the tensors TF_GetInput and TF_AllocateOutput handed out, however the kernel returns. */
struct Owned {
  std::vector<TF_Tensor *> tensors;
  TF_Tensor *keep(TF_Tensor *t) {
    tensors.push_back(t);
    return t;
  }
  ~Owned() {
    for (TF_Tensor *t : tensors) TF_DeleteTensor(t);
  }
};

inline void *create_kernel(TF_OpKernelConstruction *) { return nullptr; }
inline void delete_kernel(void *) {}

inline TF_Tensor *output_with(TF_OpKernelContext *ctx, int i, const int64_t *dims, int rank) {
  int64_t count = 1;
  for (int d = 0; d < rank; d++) count *= dims[d];
  TF_Status *status = TF_NewStatus();
  TF_Tensor *t = TF_AllocateOutput(ctx, i, TF_FLOAT, dims, rank, static_cast<size_t>(count) * sizeof(float), status);
  if (TF_GetCode(status) != TF_OK) {
    TF_OpKernelContext_Failure(ctx, status);
    t = nullptr;
  }
  TF_DeleteStatus(status);
  return t;
}

/* A float output of `like`'s shape (rank ≤ 16). */
inline TF_Tensor *output_like(TF_OpKernelContext *ctx, int i, const TF_Tensor *like) {
  const int rank = TF_NumDims(like);
  if (rank > 16) {
    fail(ctx, "Recsys ops: tensors of rank above 16 are not supported");
    return nullptr;
  }
  int64_t dims[16];
  for (int d = 0; d < rank; d++) dims[d] = TF_Dim(like, d);
  return output_with(ctx, i, dims, rank);
}

inline void same_shape_as_input(TF_ShapeInferenceContext *ctx, int in, int out, TF_Status *status) {
  TF_ShapeHandle *shape = TF_NewShapeHandle();
  TF_ShapeInferenceContextGetInput(ctx, in, shape, status);
  if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextSetOutput(ctx, out, shape, status);
  TF_DeleteShapeHandle(shape);
}

inline bool is_float_matrix(const TF_Tensor *t) { return TF_TensorType(t) == TF_FLOAT && TF_NumDims(t) == 2; }

inline const float *floats(const TF_Tensor *t) { return static_cast<const float *>(TF_TensorData(t)); }
inline float *floats(TF_Tensor *t) { return static_cast<float *>(TF_TensorData(t)); }

/* One op and its CPU kernel: the op's signature in TensorFlow's "name: type" form. */
struct OpSpec {
  const char *name;
  std::initializer_list<const char *> inputs;
  std::initializer_list<const char *> outputs;
  void (*compute)(void *, TF_OpKernelContext *);
  // None: TensorFlow infers an unknown shape, which eager execution never consults.
  void (*shape)(TF_ShapeInferenceContext *, TF_Status *) = nullptr;
};

/* Registers each op and its kernel; TF_OK or the code of the first that failed. */
inline int register_ops(std::initializer_list<OpSpec> ops) {
  TF_Status *status = TF_NewStatus();
  for (const OpSpec &spec : ops) {
    TF_OpDefinitionBuilder *op = TF_NewOpDefinitionBuilder(spec.name);
    for (const char *in : spec.inputs) TF_OpDefinitionBuilderAddInput(op, in);
    for (const char *out : spec.outputs) TF_OpDefinitionBuilderAddOutput(op, out);
    if (spec.shape) TF_OpDefinitionBuilderSetShapeInferenceFunction(op, spec.shape);
    TF_RegisterOpDefinition(op, status);
    if (TF_GetCode(status) != TF_OK) break;
    TF_RegisterKernelBuilder(spec.name, TF_NewKernelBuilder(spec.name, "CPU", create_kernel, spec.compute, delete_kernel), status);
    if (TF_GetCode(status) != TF_OK) break;
  }
  const int code = static_cast<int>(TF_GetCode(status));
  TF_DeleteStatus(status);
  return code;
}

// Each returns TF_OK or the status code of the registration that failed.
int register_prelu_ops();
int register_pairs_ops();
int register_dice_ops();
int register_scatter_ops();
int register_shared_pairs_ops();

}  // namespace recsys
