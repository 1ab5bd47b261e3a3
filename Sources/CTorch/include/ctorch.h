// A plain C API over ATen and autograd. Every entry point catches all C++ exceptions:
// a failing call returns NULL (or -1) and leaves a per-thread message and kind behind,
// read with ct_last_error / ct_last_error_kind. Handles are owned by the caller and
// released with ct_free.
#ifndef CTORCH_H
#define CTORCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_tensor_s *ct_tensor;

// ---- errors
enum ct_error_kind {
  CT_ERR_NONE = 0, CT_ERR_INDEX = 1, CT_ERR_VALUE = 2, CT_ERR_TYPE = 3,
  CT_ERR_NOT_IMPLEMENTED = 4, CT_ERR_OUT_OF_MEMORY = 5, CT_ERR_TORCH = 6,
  CT_ERR_STD = 7, CT_ERR_UNKNOWN = 8
};
const char *ct_last_error(void);
int ct_last_error_kind(void);

// ---- dtypes and devices (our own stable codes, mapped to at::ScalarType in the shim)
enum ct_dtype {
  CT_F32 = 0, CT_F64 = 1, CT_F16 = 2, CT_BF16 = 3, CT_I64 = 4, CT_I32 = 5,
  CT_I16 = 6, CT_I8 = 7, CT_U8 = 8, CT_BOOL = 9
};
enum ct_device_type { CT_CPU = 0, CT_CUDA = 1 };

// ---- lifetime and metadata
void ct_free(ct_tensor t);
int ct_ndim(ct_tensor t);
int ct_shape(ct_tensor t, int64_t *out); // writes ndim sizes
int ct_dtype(ct_tensor t);
int ct_device(ct_tensor t, int *type, int *index);
int64_t ct_numel(ct_tensor t);
int ct_is_contiguous(ct_tensor t);
int ct_copy_to_buffer(ct_tensor t, void *out, size_t nbytes); // contiguous CPU copy
void *ct_data_ptr(ct_tensor t); // NULL unless a contiguous CPU tensor
int ct_item_double(ct_tensor t, double *out);
int ct_item_int64(ct_tensor t, int64_t *out);

// ---- creation
ct_tensor ct_from_buffer(const void *data, const int64_t *shape, int ndim, int dtype);
ct_tensor ct_empty(const int64_t *shape, int ndim, int dtype, int dev, int index);
ct_tensor ct_full(const int64_t *shape, int ndim, double value, int dtype, int dev, int index);
ct_tensor ct_arange(double start, double end, double step, int dtype, int dev, int index);
ct_tensor ct_rand(const int64_t *shape, int ndim, int dtype, int dev, int index);
ct_tensor ct_randn(const int64_t *shape, int ndim, int dtype, int dev, int index);
ct_tensor ct_randint(int64_t low, int64_t high, const int64_t *shape, int ndim, int dtype, int dev, int index);
ct_tensor ct_eye(int64_t n, int dtype, int dev, int index);

// ---- random state and threads
int ct_manual_seed(uint64_t seed);
ct_tensor ct_rng_get_state(void);
int ct_rng_set_state(ct_tensor state);
int ct_set_num_threads(int n);
int ct_get_num_threads(void);
int ct_keep_freed_memory(void); // glibc: no mmap for large blocks, freed memory kept (0 = done)
int ct_cuda_is_available(void);
int ct_cuda_device_count(void);
int ct_cuda_synchronize(int index);

// ---- elementwise
enum ct_unary_op {
  CT_NEG, CT_ABS, CT_EXP, CT_LOG, CT_SQRT, CT_RSQRT, CT_SIN, CT_COS, CT_TANH,
  CT_SIGMOID, CT_RELU, CT_SILU, CT_GELU, CT_GELU_TANH, CT_SOFTPLUS, CT_LOGSIGMOID,
  CT_ERF, CT_FLOOR, CT_CEIL, CT_ROUND, CT_SIGN, CT_LOGICAL_NOT, CT_SQUARE,
  CT_RECIPROCAL, CT_LOG1P, CT_EXPM1, CT_ISNAN, CT_ISFINITE
};
ct_tensor ct_unary(int op, ct_tensor a);

enum ct_binary_op {
  CT_ADD, CT_SUB, CT_MUL, CT_DIV, CT_POW, CT_MAXIMUM, CT_MINIMUM, CT_EQ, CT_NE,
  CT_LT, CT_LE, CT_GT, CT_GE, CT_LOGICAL_AND, CT_LOGICAL_OR, CT_REMAINDER, CT_ATAN2
};
ct_tensor ct_binary(int op, ct_tensor a, ct_tensor b);
ct_tensor ct_binary_scalar(int op, ct_tensor a, double s);
ct_tensor ct_scalar_binary(int op, double s, ct_tensor a); // s (op) a
ct_tensor ct_leaky_relu(ct_tensor a, double slope);
ct_tensor ct_softplus_beta(ct_tensor a, double beta, double threshold);
ct_tensor ct_clamp(ct_tensor a, double lo, double hi, int has_lo, int has_hi);
ct_tensor ct_where(ct_tensor cond, ct_tensor a, ct_tensor b);
ct_tensor ct_masked_fill(ct_tensor a, ct_tensor mask, double value);

// ---- reductions (ndims < 0: over all elements)
enum ct_reduce_op { CT_SUM, CT_MEAN, CT_AMAX, CT_AMIN, CT_PROD, CT_LOGSUMEXP, CT_VAR, CT_STD, CT_NORM2 };
ct_tensor ct_reduce(int op, ct_tensor a, const int64_t *dims, int ndims, int keepdim);
ct_tensor ct_argmax(ct_tensor a, int64_t dim, int keepdim);
ct_tensor ct_argmin(ct_tensor a, int64_t dim, int keepdim);
int ct_topk(ct_tensor a, int64_t k, int64_t dim, int largest, int sorted, ct_tensor *values, ct_tensor *indices);
int ct_sort(ct_tensor a, int64_t dim, int descending, int stable, ct_tensor *values, ct_tensor *indices);
ct_tensor ct_cumsum(ct_tensor a, int64_t dim);

// ---- linear algebra and NN functions
ct_tensor ct_matmul(ct_tensor a, ct_tensor b);
ct_tensor ct_dot(ct_tensor a, ct_tensor b);                     // of the flattened tensors
ct_tensor ct_add_scaled(ct_tensor a, ct_tensor b, double alpha); // a + alpha * b
ct_tensor ct_bmm(ct_tensor a, ct_tensor b);
ct_tensor ct_linear(ct_tensor x, ct_tensor w, ct_tensor b /* nullable */);
ct_tensor ct_softmax(ct_tensor a, int64_t dim);
ct_tensor ct_log_softmax(ct_tensor a, int64_t dim);
ct_tensor ct_layer_norm(ct_tensor x, const int64_t *shape, int ndim, ct_tensor w, ct_tensor b, double eps);
ct_tensor ct_rms_norm(ct_tensor x, const int64_t *shape, int ndim, ct_tensor w, double eps);
ct_tensor ct_embedding(ct_tensor weight, ct_tensor indices);
ct_tensor ct_sdpa(ct_tensor q, ct_tensor k, ct_tensor v, ct_tensor mask /* nullable */,
                  int is_causal, double scale /* NaN: 1/sqrt(d) */, int enable_gqa);
enum ct_reduction { CT_RED_NONE = 0, CT_RED_MEAN = 1, CT_RED_SUM = 2 };
ct_tensor ct_mse_loss(ct_tensor a, ct_tensor b, int reduction);
ct_tensor ct_cross_entropy(ct_tensor logits, ct_tensor target, ct_tensor weight /* nullable */,
                           int reduction, int64_t ignore_index, double label_smoothing);
ct_tensor ct_bce_with_logits(ct_tensor logits, ct_tensor target, ct_tensor weight, ct_tensor pos_weight, int reduction);
ct_tensor ct_multinomial(ct_tensor probs, int64_t n, int replacement);

// ---- shape and indexing
ct_tensor ct_reshape(ct_tensor a, const int64_t *shape, int ndim);
ct_tensor ct_view(ct_tensor a, const int64_t *shape, int ndim);
ct_tensor ct_permute(ct_tensor a, const int64_t *dims, int ndim);
ct_tensor ct_transpose(ct_tensor a, int64_t d0, int64_t d1);
ct_tensor ct_contiguous(ct_tensor a);
ct_tensor ct_expand(ct_tensor a, const int64_t *shape, int ndim);
ct_tensor ct_squeeze(ct_tensor a, int64_t dim);
ct_tensor ct_unsqueeze(ct_tensor a, int64_t dim);
ct_tensor ct_slice(ct_tensor a, int64_t dim, int64_t start, int64_t end, int64_t step);
ct_tensor ct_select(ct_tensor a, int64_t dim, int64_t index);
ct_tensor ct_index_select(ct_tensor a, int64_t dim, ct_tensor index);
ct_tensor ct_gather(ct_tensor a, int64_t dim, ct_tensor index);
ct_tensor ct_scatter(ct_tensor a, int64_t dim, ct_tensor index, ct_tensor src);
ct_tensor ct_scatter_add(ct_tensor a, int64_t dim, ct_tensor index, ct_tensor src);
ct_tensor ct_cat(const ct_tensor *ts, int n, int64_t dim);
ct_tensor ct_stack(const ct_tensor *ts, int n, int64_t dim);
ct_tensor ct_tril(ct_tensor a, int64_t diagonal);
ct_tensor ct_triu(ct_tensor a, int64_t diagonal);

// ---- conversion
ct_tensor ct_to(ct_tensor a, int dtype, int dev, int index);
ct_tensor ct_clone(ct_tensor a);
ct_tensor ct_detach(ct_tensor a);
ct_tensor ct_shallow_copy(ct_tensor a); // a second handle to the same tensor
int ct_set_data(ct_tensor a, ct_tensor data); // a keeps its identity and autograd flags, takes data's storage

// ---- in-place (used by optimisers, outside the graph)
enum ct_inplace_op { CT_I_ADD, CT_I_SUB, CT_I_MUL, CT_I_DIV, CT_I_COPY, CT_I_MAXIMUM };
int ct_inplace(int op, ct_tensor a, ct_tensor b);
int ct_inplace_scalar(int op, ct_tensor a, double s);
int ct_add_scaled_(ct_tensor a, ct_tensor b, double alpha);            // a += alpha * b
int ct_addcmul_(ct_tensor a, ct_tensor b, ct_tensor c, double value);  // a += value * b * c
int ct_addcdiv_(ct_tensor a, ct_tensor b, ct_tensor c, double value);  // a += value * b / c
int ct_lerp_(ct_tensor a, ct_tensor end, double weight);
int ct_sqrt_(ct_tensor a);
int ct_zero_(ct_tensor a);
int ct_fill_(ct_tensor a, double value);

// ---- optimisers: ATen's fused AdamW over n tensors (steps are float scalars, advanced by 1 first)
int ct_fused_adamw_(const ct_tensor *params, const ct_tensor *grads, const ct_tensor *exp_avgs, const ct_tensor *exp_avg_sqs,
                    const ct_tensor *max_exp_avg_sqs /* NULL unless amsgrad */, const ct_tensor *steps, int n, double lr,
                    double beta1, double beta2, double weight_decay, double eps, int amsgrad);

// ---- autograd
int ct_set_requires_grad(ct_tensor a, int flag);
int ct_requires_grad(ct_tensor a);
ct_tensor ct_grad(ct_tensor a); // NULL with kind NONE when there is no gradient
int ct_set_grad(ct_tensor a, ct_tensor g /* nullable: clears */);
int ct_backward(ct_tensor a, ct_tensor grad /* nullable */, int retain_graph, int create_graph);
// results[i] is NULL for an input that the outputs do not depend on (allow_unused).
int ct_autograd_grad(const ct_tensor *outputs, int n_out, const ct_tensor *grad_outputs /* nullable entries */,
                     const ct_tensor *inputs, int n_in, int retain_graph, int create_graph,
                     ct_tensor *results);
int ct_set_grad_enabled(int flag);
int ct_is_grad_enabled(void);

#ifdef __cplusplus
}
#endif
#endif
