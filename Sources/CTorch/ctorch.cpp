// The shim: each entry point runs inside `guarded`, which turns every C++ exception into a
// NULL / -1 result and a per-thread message. Nothing here decides anything; the Swift layer
// above does the thinking.
#include "ctorch.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/Generator.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <cmath>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <cstring>
#include <string>
#include <vector>

#if !defined(_GLIBCXX_USE_CXX11_ABI) || _GLIBCXX_USE_CXX11_ABI != 1
#error "LibTorch wheels use _GLIBCXX_USE_CXX11_ABI=1; building the shim with another ABI gives undefined symbols"
#endif

struct ct_tensor_s {
  at::Tensor t;
};

namespace {

thread_local std::string last_error;
thread_local int last_kind = CT_ERR_NONE;

void set_error(int kind, const char *msg) {
  last_kind = kind;
  last_error = msg;
}

template <class T> T guarded(T fail, const std::function<T()> &body) {
  last_kind = CT_ERR_NONE;
  try {
    return body();
  } catch (const c10::IndexError &e) {
    set_error(CT_ERR_INDEX, e.what_without_backtrace());
  } catch (const c10::ValueError &e) {
    set_error(CT_ERR_VALUE, e.what_without_backtrace());
  } catch (const c10::TypeError &e) {
    set_error(CT_ERR_TYPE, e.what_without_backtrace());
  } catch (const c10::NotImplementedError &e) {
    set_error(CT_ERR_NOT_IMPLEMENTED, e.what_without_backtrace());
  } catch (const c10::OutOfMemoryError &e) {
    set_error(CT_ERR_OUT_OF_MEMORY, e.what_without_backtrace());
  } catch (const c10::Error &e) {
    set_error(CT_ERR_TORCH, e.what_without_backtrace());
  } catch (const std::exception &e) {
    set_error(CT_ERR_STD, e.what());
  } catch (...) {
    set_error(CT_ERR_UNKNOWN, "unknown C++ exception");
  }
  return fail;
}

// Runs a body returning at::Tensor and wraps the result in a new handle.
ct_tensor make(const std::function<at::Tensor()> &body) {
  return guarded<ct_tensor>(nullptr, [&] { return new ct_tensor_s{body()}; });
}

int status(const std::function<void()> &body) {
  return guarded<int>(-1, [&] {
    body();
    return 0;
  });
}

at::ScalarType scalar_type(int code) {
  switch (code) {
  case CT_F32: return at::kFloat;
  case CT_F64: return at::kDouble;
  case CT_F16: return at::kHalf;
  case CT_BF16: return at::kBFloat16;
  case CT_I64: return at::kLong;
  case CT_I32: return at::kInt;
  case CT_I16: return at::kShort;
  case CT_I8: return at::kChar;
  case CT_U8: return at::kByte;
  case CT_BOOL: return at::kBool;
  }
  throw std::invalid_argument("unknown dtype code " + std::to_string(code));
}

int dtype_code(at::ScalarType s) {
  switch (s) {
  case at::kFloat: return CT_F32;
  case at::kDouble: return CT_F64;
  case at::kHalf: return CT_F16;
  case at::kBFloat16: return CT_BF16;
  case at::kLong: return CT_I64;
  case at::kInt: return CT_I32;
  case at::kShort: return CT_I16;
  case at::kChar: return CT_I8;
  case at::kByte: return CT_U8;
  case at::kBool: return CT_BOOL;
  default: throw std::invalid_argument(std::string("unsupported dtype ") + c10::toString(s));
  }
}

at::Device device(int type, int index) {
  if (type == CT_CPU) return at::Device(at::kCPU);
  if (type == CT_CUDA) return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
  throw std::invalid_argument("unknown device type " + std::to_string(type));
}

at::TensorOptions options(int dtype, int dev, int index) {
  return at::TensorOptions().dtype(scalar_type(dtype)).device(device(dev, index));
}

at::IntArrayRef dims(const int64_t *shape, int ndim) { return at::IntArrayRef(shape, static_cast<size_t>(ndim)); }

std::optional<at::Tensor> opt(ct_tensor t) {
  if (t == nullptr) return std::nullopt;
  return t->t;
}

int64_t reduction(int r) {
  switch (r) {
  case CT_RED_NONE: return at::Reduction::None;
  case CT_RED_MEAN: return at::Reduction::Mean;
  case CT_RED_SUM: return at::Reduction::Sum;
  }
  throw std::invalid_argument("unknown reduction " + std::to_string(r));
}

at::Tensor binary(int op, const at::Tensor &a, const at::Tensor &b) {
  switch (op) {
  case CT_ADD: return at::add(a, b);
  case CT_SUB: return at::sub(a, b);
  case CT_MUL: return at::mul(a, b);
  case CT_DIV: return at::div(a, b);
  case CT_POW: return at::pow(a, b);
  case CT_MAXIMUM: return at::maximum(a, b);
  case CT_MINIMUM: return at::minimum(a, b);
  case CT_EQ: return at::eq(a, b);
  case CT_NE: return at::ne(a, b);
  case CT_LT: return at::lt(a, b);
  case CT_LE: return at::le(a, b);
  case CT_GT: return at::gt(a, b);
  case CT_GE: return at::ge(a, b);
  case CT_LOGICAL_AND: return at::logical_and(a, b);
  case CT_LOGICAL_OR: return at::logical_or(a, b);
  case CT_REMAINDER: return at::remainder(a, b);
  case CT_ATAN2: return at::atan2(a, b);
  }
  throw std::invalid_argument("unknown binary op " + std::to_string(op));
}

at::Tensor binary_scalar(int op, const at::Tensor &a, const at::Scalar &s) {
  switch (op) {
  case CT_ADD: return at::add(a, s);
  case CT_SUB: return at::sub(a, s);
  case CT_MUL: return at::mul(a, s);
  case CT_DIV: return at::div(a, s);
  case CT_POW: return at::pow(a, s);
  case CT_MAXIMUM: return at::clamp_min(a, s);
  case CT_MINIMUM: return at::clamp_max(a, s);
  case CT_EQ: return at::eq(a, s);
  case CT_NE: return at::ne(a, s);
  case CT_LT: return at::lt(a, s);
  case CT_LE: return at::le(a, s);
  case CT_GT: return at::gt(a, s);
  case CT_GE: return at::ge(a, s);
  case CT_REMAINDER: return at::remainder(a, s);
  }
  throw std::invalid_argument("binary op " + std::to_string(op) + " has no scalar form");
}

} // namespace

extern "C" {

const char *ct_last_error(void) { return last_error.c_str(); }
int ct_last_error_kind(void) { return last_kind; }

// ---- lifetime and metadata
void ct_free(ct_tensor t) { delete t; }
int ct_ndim(ct_tensor t) { return static_cast<int>(t->t.dim()); }
int ct_shape(ct_tensor t, int64_t *out) {
  auto s = t->t.sizes();
  for (size_t i = 0; i < s.size(); i++) out[i] = s[i];
  return static_cast<int>(s.size());
}
int ct_dtype(ct_tensor t) { return guarded<int>(-1, [&] { return dtype_code(t->t.scalar_type()); }); }
int ct_device(ct_tensor t, int *type, int *index) {
  auto d = t->t.device();
  *type = d.is_cuda() ? CT_CUDA : CT_CPU;
  *index = d.has_index() ? d.index() : 0;
  return 0;
}
int64_t ct_numel(ct_tensor t) { return t->t.numel(); }
int ct_is_contiguous(ct_tensor t) { return t->t.is_contiguous() ? 1 : 0; }
int ct_copy_to_buffer(ct_tensor t, void *out, size_t nbytes) {
  return status([&] {
    auto c = t->t.detach().to(at::kCPU).contiguous();
    size_t need = static_cast<size_t>(c.numel()) * c.element_size();
    if (need != nbytes)
      throw std::invalid_argument("buffer has " + std::to_string(nbytes) + " bytes, tensor needs " + std::to_string(need));
    if (need > 0) std::memcpy(out, c.data_ptr(), need);
  });
}
void *ct_data_ptr(ct_tensor t) {
  return guarded<void *>(nullptr, [&]() -> void * {
    if (!t->t.is_cpu() || !t->t.is_contiguous()) throw std::invalid_argument("not a contiguous CPU tensor");
    return t->t.data_ptr();
  });
}
int ct_item_double(ct_tensor t, double *out) { return status([&] { *out = t->t.item<double>(); }); }
int ct_item_int64(ct_tensor t, int64_t *out) { return status([&] { *out = t->t.item<int64_t>(); }); }

// ---- creation
ct_tensor ct_from_buffer(const void *data, const int64_t *shape, int ndim, int dtype) {
  return make([&] {
    auto out = at::empty(dims(shape, ndim), at::TensorOptions().dtype(scalar_type(dtype)));
    size_t n = static_cast<size_t>(out.numel()) * out.element_size();
    if (n > 0) std::memcpy(out.data_ptr(), data, n);
    return out;
  });
}
ct_tensor ct_empty(const int64_t *shape, int ndim, int dtype, int dev, int index) {
  return make([&] { return at::empty(dims(shape, ndim), options(dtype, dev, index)); });
}
ct_tensor ct_full(const int64_t *shape, int ndim, double value, int dtype, int dev, int index) {
  return make([&] { return at::full(dims(shape, ndim), value, options(dtype, dev, index)); });
}
ct_tensor ct_arange(double start, double end, double step, int dtype, int dev, int index) {
  return make([&] { return at::arange(start, end, step, options(dtype, dev, index)); });
}
ct_tensor ct_rand(const int64_t *shape, int ndim, int dtype, int dev, int index) {
  return make([&] { return at::rand(dims(shape, ndim), options(dtype, dev, index)); });
}
ct_tensor ct_randn(const int64_t *shape, int ndim, int dtype, int dev, int index) {
  return make([&] { return at::randn(dims(shape, ndim), options(dtype, dev, index)); });
}
ct_tensor ct_randint(int64_t low, int64_t high, const int64_t *shape, int ndim, int dtype, int dev, int index) {
  return make([&] { return at::randint(low, high, dims(shape, ndim), options(dtype, dev, index)); });
}
ct_tensor ct_eye(int64_t n, int dtype, int dev, int index) {
  return make([&] { return at::eye(n, options(dtype, dev, index)); });
}

// ---- random state and threads
int ct_manual_seed(uint64_t seed) {
  return status([&] {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_current_seed(seed);
  });
}
ct_tensor ct_rng_get_state(void) {
  return make([&] {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    return gen.get_state();
  });
}
int ct_rng_set_state(ct_tensor state) {
  return status([&] {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state->t);
  });
}
int ct_set_num_threads(int n) { return status([&] { at::set_num_threads(n); }); }

int ct_keep_freed_memory(void) {
#if defined(__GLIBC__)
  // Every block comes from the heap and freed heap memory is kept (-1: never trimmed). By default glibc maps
  // blocks above a threshold afresh and unmaps them when freed, so each training step's
  // large gradients (the 113 MB tied-embedding one of SmolLM2, several times a step) are
  // zero-filled by the kernel page by page again: about a tenth of a CPU step.
  return mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, -1) == 1 ? 0 : 1;
#else
  return 0;
#endif
}
int ct_get_num_threads(void) { return at::get_num_threads(); }
int ct_cuda_is_available(void) { return at::hasCUDA() ? 1 : 0; }
int ct_cuda_device_count(void) {
  return guarded<int>(0, [&] { return at::hasCUDA() ? static_cast<int>(at::getNumGPUs()) : 0; });
}
int ct_cuda_synchronize(int index) {
  return status([&] {
    if (!at::hasCUDA()) throw std::runtime_error("this LibTorch has no CUDA");
    at::detail::getCUDAHooks().deviceSynchronize(static_cast<c10::DeviceIndex>(index));
  });
}

// ---- elementwise
ct_tensor ct_unary(int op, ct_tensor a) {
  return make([&]() -> at::Tensor {
    const auto &x = a->t;
    switch (op) {
    case CT_NEG: return at::neg(x);
    case CT_ABS: return at::abs(x);
    case CT_EXP: return at::exp(x);
    case CT_LOG: return at::log(x);
    case CT_SQRT: return at::sqrt(x);
    case CT_RSQRT: return at::rsqrt(x);
    case CT_SIN: return at::sin(x);
    case CT_COS: return at::cos(x);
    case CT_TANH: return at::tanh(x);
    case CT_SIGMOID: return at::sigmoid(x);
    case CT_RELU: return at::relu(x);
    case CT_SILU: return at::silu(x);
    case CT_GELU: return at::gelu(x, "none");
    case CT_GELU_TANH: return at::gelu(x, "tanh");
    case CT_SOFTPLUS: return at::softplus(x);
    case CT_LOGSIGMOID: return at::log_sigmoid(x);
    case CT_ERF: return at::erf(x);
    case CT_FLOOR: return at::floor(x);
    case CT_CEIL: return at::ceil(x);
    case CT_ROUND: return at::round(x);
    case CT_SIGN: return at::sign(x);
    case CT_LOGICAL_NOT: return at::logical_not(x);
    case CT_SQUARE: return at::square(x);
    case CT_RECIPROCAL: return at::reciprocal(x);
    case CT_LOG1P: return at::log1p(x);
    case CT_EXPM1: return at::expm1(x);
    case CT_ISNAN: return at::isnan(x);
    case CT_ISFINITE: return at::isfinite(x);
    }
    throw std::invalid_argument("unknown unary op " + std::to_string(op));
  });
}
ct_tensor ct_binary(int op, ct_tensor a, ct_tensor b) { return make([&] { return binary(op, a->t, b->t); }); }
ct_tensor ct_binary_scalar(int op, ct_tensor a, double s) {
  return make([&] { return binary_scalar(op, a->t, at::Scalar(s)); });
}
ct_tensor ct_scalar_binary(int op, double s, ct_tensor a) {
  return make([&]() -> at::Tensor {
    switch (op) {
    case CT_SUB: return at::rsub(a->t, s);
    case CT_DIV: return at::mul(at::reciprocal(a->t), s);
    case CT_POW: return at::pow(at::Scalar(s), a->t);
    default: return binary_scalar(op, a->t, at::Scalar(s)); // commutative ops
    }
  });
}
ct_tensor ct_leaky_relu(ct_tensor a, double slope) { return make([&] { return at::leaky_relu(a->t, slope); }); }
ct_tensor ct_softplus_beta(ct_tensor a, double beta, double threshold) {
  return make([&] { return at::softplus(a->t, beta, threshold); });
}
ct_tensor ct_clamp(ct_tensor a, double lo, double hi, int has_lo, int has_hi) {
  return make([&] {
    std::optional<at::Scalar> l, h;
    if (has_lo) l = lo;
    if (has_hi) h = hi;
    return at::clamp(a->t, l, h);
  });
}
ct_tensor ct_where(ct_tensor cond, ct_tensor a, ct_tensor b) { return make([&] { return at::where(cond->t, a->t, b->t); }); }
ct_tensor ct_masked_fill(ct_tensor a, ct_tensor mask, double value) {
  return make([&] { return at::masked_fill(a->t, mask->t, value); });
}

// ---- reductions
ct_tensor ct_reduce(int op, ct_tensor a, const int64_t *d, int ndims, int keepdim) {
  return make([&]() -> at::Tensor {
    const auto &x = a->t;
    bool all = ndims < 0;
    std::vector<int64_t> ds;
    if (all) {
      for (int64_t i = 0; i < x.dim(); i++) ds.push_back(i);
    } else {
      ds.assign(d, d + ndims);
    }
    at::IntArrayRef r(ds);
    bool k = keepdim != 0;
    switch (op) {
    case CT_SUM: return all && !k ? at::sum(x) : at::sum(x, r, k);
    case CT_MEAN: return all && !k ? at::mean(x) : at::mean(x, r, k);
    case CT_AMAX: return at::amax(x, r, k);
    case CT_AMIN: return at::amin(x, r, k);
    case CT_PROD: {
      if (all && !k) return at::prod(x);
      at::Tensor out = x;
      std::vector<int64_t> sorted = ds;
      for (auto &v : sorted) v = v < 0 ? v + x.dim() : v;
      std::sort(sorted.rbegin(), sorted.rend());
      for (auto v : sorted) out = at::prod(out, v, k);
      return out;
    }
    case CT_LOGSUMEXP: return at::logsumexp(x, r, k);
    case CT_VAR: return at::var(x, r, /*unbiased=*/true, k);
    case CT_STD: return at::std(x, r, /*unbiased=*/true, k);
    case CT_NORM2: return at::linalg_vector_norm(x, 2, r, k);
    }
    throw std::invalid_argument("unknown reduction op " + std::to_string(op));
  });
}
ct_tensor ct_argmax(ct_tensor a, int64_t dim, int keepdim) { return make([&] { return at::argmax(a->t, dim, keepdim != 0); }); }
ct_tensor ct_argmin(ct_tensor a, int64_t dim, int keepdim) { return make([&] { return at::argmin(a->t, dim, keepdim != 0); }); }
int ct_topk(ct_tensor a, int64_t k, int64_t dim, int largest, int sorted, ct_tensor *values, ct_tensor *indices) {
  return status([&] {
    auto [v, i] = at::topk(a->t, k, dim, largest != 0, sorted != 0);
    *values = new ct_tensor_s{v};
    *indices = new ct_tensor_s{i};
  });
}
int ct_sort(ct_tensor a, int64_t dim, int descending, int stable, ct_tensor *values, ct_tensor *indices) {
  return status([&] {
    auto [v, i] = at::sort(a->t, stable != 0, dim, descending != 0);
    *values = new ct_tensor_s{v};
    *indices = new ct_tensor_s{i};
  });
}
ct_tensor ct_cumsum(ct_tensor a, int64_t dim) { return make([&] { return at::cumsum(a->t, dim); }); }

// ---- linear algebra and NN functions
ct_tensor ct_matmul(ct_tensor a, ct_tensor b) { return make([&] { return at::matmul(a->t, b->t); }); }
ct_tensor ct_dot(ct_tensor a, ct_tensor b) { return make([&] { return at::dot(a->t.reshape(-1), b->t.reshape(-1)); }); }
ct_tensor ct_add_scaled(ct_tensor a, ct_tensor b, double alpha) { return make([&] { return at::add(a->t, b->t, alpha); }); }
ct_tensor ct_bmm(ct_tensor a, ct_tensor b) { return make([&] { return at::bmm(a->t, b->t); }); }
ct_tensor ct_linear(ct_tensor x, ct_tensor w, ct_tensor b) { return make([&] { return at::linear(x->t, w->t, opt(b)); }); }
ct_tensor ct_softmax(ct_tensor a, int64_t dim) { return make([&] { return at::softmax(a->t, dim); }); }
ct_tensor ct_log_softmax(ct_tensor a, int64_t dim) { return make([&] { return at::log_softmax(a->t, dim); }); }
ct_tensor ct_layer_norm(ct_tensor x, const int64_t *shape, int ndim, ct_tensor w, ct_tensor b, double eps) {
  return make([&] { return at::layer_norm(x->t, dims(shape, ndim), opt(w), opt(b), eps); });
}
ct_tensor ct_rms_norm(ct_tensor x, const int64_t *shape, int ndim, ct_tensor w, double eps) {
  return make([&] { return at::rms_norm(x->t, dims(shape, ndim), opt(w), eps); });
}
ct_tensor ct_embedding(ct_tensor weight, ct_tensor indices) { return make([&] { return at::embedding(weight->t, indices->t); }); }
ct_tensor ct_sdpa(ct_tensor q, ct_tensor k, ct_tensor v, ct_tensor mask, int is_causal, double scale, int enable_gqa) {
  return make([&] {
    std::optional<double> s;
    if (!std::isnan(scale)) s = scale;
    return at::scaled_dot_product_attention(q->t, k->t, v->t, opt(mask), 0.0, is_causal != 0, s, enable_gqa != 0);
  });
}
ct_tensor ct_mse_loss(ct_tensor a, ct_tensor b, int red) { return make([&] { return at::mse_loss(a->t, b->t, reduction(red)); }); }
ct_tensor ct_cross_entropy(ct_tensor logits, ct_tensor target, ct_tensor weight, int red, int64_t ignore_index,
                           double label_smoothing) {
  return make([&] {
    return at::cross_entropy_loss(logits->t, target->t, opt(weight), reduction(red), ignore_index, label_smoothing);
  });
}
ct_tensor ct_bce_with_logits(ct_tensor logits, ct_tensor target, ct_tensor weight, ct_tensor pos_weight, int red) {
  return make([&] {
    return at::binary_cross_entropy_with_logits(logits->t, target->t, opt(weight), opt(pos_weight), reduction(red));
  });
}
ct_tensor ct_multinomial(ct_tensor probs, int64_t n, int replacement) {
  return make([&] { return at::multinomial(probs->t, n, replacement != 0); });
}

// ---- shape and indexing
ct_tensor ct_reshape(ct_tensor a, const int64_t *shape, int ndim) { return make([&] { return at::reshape(a->t, dims(shape, ndim)); }); }
ct_tensor ct_view(ct_tensor a, const int64_t *shape, int ndim) { return make([&] { return a->t.view(dims(shape, ndim)); }); }
ct_tensor ct_permute(ct_tensor a, const int64_t *d, int ndim) { return make([&] { return a->t.permute(dims(d, ndim)); }); }
ct_tensor ct_transpose(ct_tensor a, int64_t d0, int64_t d1) { return make([&] { return a->t.transpose(d0, d1); }); }
ct_tensor ct_contiguous(ct_tensor a) { return make([&] { return a->t.contiguous(); }); }
ct_tensor ct_expand(ct_tensor a, const int64_t *shape, int ndim) { return make([&] { return a->t.expand(dims(shape, ndim)); }); }
ct_tensor ct_squeeze(ct_tensor a, int64_t dim) { return make([&] { return a->t.squeeze(dim); }); }
ct_tensor ct_unsqueeze(ct_tensor a, int64_t dim) { return make([&] { return a->t.unsqueeze(dim); }); }
ct_tensor ct_slice(ct_tensor a, int64_t dim, int64_t start, int64_t end, int64_t step) {
  return make([&] { return a->t.slice(dim, start, end, step); });
}
ct_tensor ct_select(ct_tensor a, int64_t dim, int64_t index) { return make([&] { return a->t.select(dim, index); }); }
ct_tensor ct_index_select(ct_tensor a, int64_t dim, ct_tensor index) {
  return make([&] { return at::index_select(a->t, dim, index->t); });
}
ct_tensor ct_gather(ct_tensor a, int64_t dim, ct_tensor index) { return make([&] { return at::gather(a->t, dim, index->t); }); }
ct_tensor ct_scatter(ct_tensor a, int64_t dim, ct_tensor index, ct_tensor src) {
  return make([&] { return at::scatter(a->t, dim, index->t, src->t); });
}
ct_tensor ct_scatter_add(ct_tensor a, int64_t dim, ct_tensor index, ct_tensor src) {
  return make([&] { return at::scatter_add(a->t, dim, index->t, src->t); });
}
static std::vector<at::Tensor> unwrap(const ct_tensor *ts, int n) {
  std::vector<at::Tensor> v;
  v.reserve(n);
  for (int i = 0; i < n; i++) v.push_back(ts[i]->t);
  return v;
}
ct_tensor ct_cat(const ct_tensor *ts, int n, int64_t dim) { return make([&] { return at::cat(unwrap(ts, n), dim); }); }
ct_tensor ct_stack(const ct_tensor *ts, int n, int64_t dim) { return make([&] { return at::stack(unwrap(ts, n), dim); }); }
ct_tensor ct_tril(ct_tensor a, int64_t diagonal) { return make([&] { return at::tril(a->t, diagonal); }); }
ct_tensor ct_triu(ct_tensor a, int64_t diagonal) { return make([&] { return at::triu(a->t, diagonal); }); }

// ---- conversion
ct_tensor ct_to(ct_tensor a, int dtype, int dev, int index) {
  return make([&] { return a->t.to(device(dev, index), scalar_type(dtype)); });
}
ct_tensor ct_clone(ct_tensor a) { return make([&] { return a->t.clone(); }); }
ct_tensor ct_detach(ct_tensor a) { return make([&] { return a->t.detach(); }); }
ct_tensor ct_shallow_copy(ct_tensor a) { return make([&] { return a->t; }); }
int ct_set_data(ct_tensor a, ct_tensor data) { return status([&] { a->t.set_data(data->t); }); }

// ---- in-place
int ct_inplace(int op, ct_tensor a, ct_tensor b) {
  return status([&] {
    auto &x = a->t;
    switch (op) {
    case CT_I_ADD: x.add_(b->t); return;
    case CT_I_SUB: x.sub_(b->t); return;
    case CT_I_MUL: x.mul_(b->t); return;
    case CT_I_DIV: x.div_(b->t); return;
    case CT_I_COPY: x.copy_(b->t); return;
    case CT_I_MAXIMUM: at::maximum_out(x, x, b->t); return;
    }
    throw std::invalid_argument("unknown in-place op " + std::to_string(op));
  });
}
int ct_inplace_scalar(int op, ct_tensor a, double s) {
  return status([&] {
    auto &x = a->t;
    switch (op) {
    case CT_I_ADD: x.add_(s); return;
    case CT_I_SUB: x.sub_(s); return;
    case CT_I_MUL: x.mul_(s); return;
    case CT_I_DIV: x.div_(s); return;
    }
    throw std::invalid_argument("in-place op " + std::to_string(op) + " has no scalar form");
  });
}
int ct_add_scaled_(ct_tensor a, ct_tensor b, double alpha) { return status([&] { a->t.add_(b->t, alpha); }); }
int ct_addcmul_(ct_tensor a, ct_tensor b, ct_tensor c, double value) { return status([&] { a->t.addcmul_(b->t, c->t, value); }); }
int ct_addcdiv_(ct_tensor a, ct_tensor b, ct_tensor c, double value) { return status([&] { a->t.addcdiv_(b->t, c->t, value); }); }
int ct_lerp_(ct_tensor a, ct_tensor end, double weight) { return status([&] { a->t.lerp_(end->t, weight); }); }
int ct_sqrt_(ct_tensor a) { return status([&] { a->t.sqrt_(); }); }
int ct_zero_(ct_tensor a) { return status([&] { a->t.zero_(); }); }
int ct_fill_(ct_tensor a, double value) { return status([&] { a->t.fill_(value); }); }

// ---- optimisers
int ct_fused_adamw_(const ct_tensor *params, const ct_tensor *grads, const ct_tensor *exp_avgs, const ct_tensor *exp_avg_sqs,
                    const ct_tensor *max_exp_avg_sqs, const ct_tensor *steps, int n, double lr, double beta1, double beta2,
                    double weight_decay, double eps, int amsgrad) {
  return status([&] {
    auto p = unwrap(params, n), g = unwrap(grads, n), m = unwrap(exp_avgs, n), v = unwrap(exp_avg_sqs, n), s = unwrap(steps, n);
    std::vector<at::Tensor> mx = amsgrad ? unwrap(max_exp_avg_sqs, n) : std::vector<at::Tensor>{};
    at::_foreach_add_(s, 1);
    at::_fused_adamw_(p, g, m, v, mx, s, lr, beta1, beta2, weight_decay, eps, amsgrad != 0, /*maximize=*/false);
  });
}

// ---- autograd
int ct_set_requires_grad(ct_tensor a, int flag) { return status([&] { a->t.set_requires_grad(flag != 0); }); }
int ct_requires_grad(ct_tensor a) { return a->t.requires_grad() ? 1 : 0; }
ct_tensor ct_grad(ct_tensor a) {
  return guarded<ct_tensor>(nullptr, [&]() -> ct_tensor {
    const auto &g = a->t.grad();
    if (!g.defined()) return nullptr;
    return new ct_tensor_s{g};
  });
}
int ct_set_grad(ct_tensor a, ct_tensor g) {
  return status([&] {
    if (g == nullptr) a->t.mutable_grad().reset();
    else a->t.mutable_grad() = g->t;
  });
}
int ct_backward(ct_tensor a, ct_tensor grad, int retain_graph, int create_graph) {
  return status([&] {
    std::optional<bool> retain;
    if (retain_graph) retain = true;
    a->t.backward(grad ? grad->t : at::Tensor(), retain, create_graph != 0);
  });
}
int ct_autograd_grad(const ct_tensor *outputs, int n_out, const ct_tensor *grad_outputs, const ct_tensor *inputs,
                     int n_in, int retain_graph, int create_graph, ct_tensor *results) {
  return status([&] {
    auto outs = unwrap(outputs, n_out);
    auto ins = unwrap(inputs, n_in);
    std::vector<at::Tensor> gouts;
    if (grad_outputs) {
      for (int i = 0; i < n_out; i++) gouts.push_back(grad_outputs[i] ? grad_outputs[i]->t : at::Tensor());
    }
    std::optional<bool> retain;
    if (retain_graph) retain = true;
    auto gs = torch::autograd::grad(outs, ins, gouts, retain, create_graph != 0, /*allow_unused=*/true);
    for (int i = 0; i < n_in; i++) results[i] = gs[i].defined() ? new ct_tensor_s{gs[i]} : nullptr;
  });
}
int ct_set_grad_enabled(int flag) { return status([&] { c10::GradMode::set_enabled(flag != 0); }); }
int ct_is_grad_enabled(void) { return c10::GradMode::is_enabled() ? 1 : 0; }

} // extern "C"
