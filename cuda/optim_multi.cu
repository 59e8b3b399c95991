// The "multi_tensor" variants of the optimizer family (cuda/optim.cu has the per-tensor ones, kept
// as the default until a GPU run times both): the global gradient norm, the SGD step and the Adam
// step over a whole model's tensors, each as one launch per kMaxTensorsPerLaunch tensors instead of
// one per tensor (~130 tiny launches per step for the U-Net). Tables go by value as kernel
// parameters, so nothing is uploaded or allocated per step; what changes from step to step (lr,
// Adam's bias corrections) is read from the step-scalars tensor. The element arithmetic is
// core/kernels/optim.hpp, shared with the CPU; the split into blocks is
// core/kernels/multi_tensor.hpp.
#include <vector>

#include "core/kernels/multi_tensor.hpp"
#include "core/kernels/optim.hpp"
#include "core/op_checks.hpp"
#include "cuda/common.cuh"
#include "cuda/cuda_backend.hpp"
#include "cuda/cuda_context.hpp"

namespace pfce {

namespace {

using kernels::kMaxTensorsPerLaunch;
using kernels::MultiTensorLaunch;
using kernels::MultiTensorTable;

constexpr int kThreads = 256;

struct NormArgs {
    MultiTensorTable table;
    const float* g[kMaxTensorsPerLaunch];
};
struct SgdArgs {
    MultiTensorTable table;
    float* w[kMaxTensorsPerLaunch];
    const float* g[kMaxTensorsPerLaunch];
    float* buf[kMaxTensorsPerLaunch];  // null without momentum
    float weight_decay[kMaxTensorsPerLaunch];
};
struct AdamArgs {
    MultiTensorTable table;
    float* w[kMaxTensorsPerLaunch];
    const float* g[kMaxTensorsPerLaunch];
    float* m[kMaxTensorsPerLaunch];
    float* v[kMaxTensorsPerLaunch];
    float weight_decay[kMaxTensorsPerLaunch];  // per tensor (biases: none)
};
// The classic kernel-parameter limit (CUDA 12.1+ allows 32 KiB on sm_70+, but 4 KiB keeps these
// kernels portable to any toolkit the project supports).
static_assert(sizeof(NormArgs) + 2 * sizeof(void*) <= 4096, "NormArgs too large");
static_assert(sizeof(SgdArgs) + 2 * sizeof(void*) + sizeof(float) <= 4096, "SgdArgs too large");
static_assert(sizeof(AdamArgs) + 2 * sizeof(void*) + sizeof(AdamParams) <= 4096,
              "AdamArgs too large");

// The element range [begin, end) of block blockIdx.x within its tensor t.
struct Chunk {
    int t;
    long long begin, end;
};
__device__ Chunk this_chunk(const MultiTensorTable& table) {
    const long long b = blockIdx.x;
    const int t = kernels::multi_tensor_owner(table, b);
    const long long begin = (b - table.first_block[t]) * kernels::kMultiTensorChunk;
    long long end = begin + kernels::kMultiTensorChunk;
    if (end > table.numel[t]) end = table.numel[t];
    return {t, begin, end};
}

// partial[block_offset + block] <- sum of g^2 over the block's chunk, in double, tree-reduced: the
// chunking depends only on the sizes, so the sum's order is fixed.
__global__ void multi_sum_squares_kernel(const NormArgs a, long long block_offset,
                                         double* __restrict__ partial) {
    __shared__ double shared[kThreads];
    const Chunk c = this_chunk(a.table);
    const float* g = a.g[c.t];
    double s = 0.0;
    for (long long i = c.begin + threadIdx.x; i < c.end; i += kThreads) {
        const double x = g[i];
        s += x * x;
    }
    const double total = block_sum_tree<kThreads>(s, shared);
    if (threadIdx.x == 0) partial[block_offset + blockIdx.x] = total;
}

// One block: norm[0] <- sqrt(sum of the partials), in a fixed order.
__global__ void multi_finish_norm_kernel(const double* __restrict__ partial, long long count,
                                         float* __restrict__ norm) {
    __shared__ double shared[kThreads];
    double s = 0.0;
    for (long long i = threadIdx.x; i < count; i += kThreads) s += partial[i];
    const double total = block_sum_tree<kThreads>(s, shared);
    if (threadIdx.x == 0) norm[0] = static_cast<float>(sqrt(total));
}

__global__ void multi_sgd_kernel(const SgdArgs a, const float* __restrict__ grad_scale,
                                 const float* __restrict__ scalars, float momentum) {
    const Chunk c = this_chunk(a.table);
    const float scale = grad_scale[0];
    const float lr = scalars[kOptimLr];
    for (long long i = c.begin + threadIdx.x; i < c.end; i += kThreads)
        kernels::sgd_update(a.w[c.t], a.g[c.t], a.buf[c.t], i, scale, lr, momentum,
                            a.weight_decay[c.t]);
}

__global__ void multi_adam_kernel(const AdamArgs a, const float* __restrict__ grad_scale,
                                  const float* __restrict__ scalars, AdamParams p) {
    const Chunk c = this_chunk(a.table);
    p.weight_decay = a.weight_decay[c.t];
    const kernels::AdamCoefficients k = kernels::adam_coefficients(p, scalars);
    const float scale = grad_scale[0];
    float* w = a.w[c.t];
    const float* g = a.g[c.t];
    float* m = a.m[c.t];
    float* v = a.v[c.t];
    for (long long i = c.begin + threadIdx.x; i < c.end; i += kThreads)
        kernels::adam_update(w[i], m[i], v[i], g[i] * scale, k);
}

// The plan for n tensors of sizes size_of(i), from `cache` while the sizes are those it was made
// for.
template <typename SizeOf>
const std::vector<MultiTensorLaunch>& planned(MultiTensorPlanCache& cache, std::size_t n,
                                              SizeOf size_of) {
    bool same = cache.sizes.size() == n;
    for (std::size_t i = 0; same && i < n; ++i) same = cache.sizes[i] == size_of(i);
    if (!same) {
        cache.sizes.resize(n);
        for (std::size_t i = 0; i < n; ++i) cache.sizes[i] = size_of(i);
        cache.launches = kernels::plan_multi_tensor(cache.sizes);
    }
    return cache.launches;
}

unsigned blocks_of(const MultiTensorLaunch& l) {
    return static_cast<unsigned>(l.table.first_block[l.table.count]);
}

// For each launch of the cached plan over the slots' parameters: Args with the launch's table and
// fill(args, t, slot) for each of its tensors, then go(args, launch).
template <typename Args, typename Slot, typename Fill, typename Go>
void per_launch(MultiTensorPlanCache& cache, std::span<const Slot> slots, Fill fill, Go go) {
    const auto size_of = [&](std::size_t i) { return slots[i].param->numel(); };
    for (const MultiTensorLaunch& l : planned(cache, slots.size(), size_of)) {
        Args a{};
        a.table = l.table;
        for (int t = 0; t < l.table.count; ++t) fill(a, t, slots[l.tensors[t]]);
        go(a, l);
    }
}

}  // namespace

// ---- launchers ------------------------------------------------------------------------------

void CudaBackend::global_grad_norm_multi(std::span<const Tensor* const> grads, Tensor& norm) {
    const std::vector<MultiTensorLaunch>& plan =
        planned(norm_plan_, grads.size(), [&](std::size_t i) { return grads[i]->numel(); });
    const long long blocks = kernels::multi_tensor_blocks(plan);
    // Partials in the shared grow-only workspace: nothing is allocated after the first step.
    auto* partial = static_cast<double*>(
        ctx_->workspace(static_cast<std::size_t>(blocks + 1) * sizeof(double)));
    for (const MultiTensorLaunch& l : plan) {
        NormArgs a{};
        a.table = l.table;
        for (int t = 0; t < l.table.count; ++t) a.g[t] = grads[l.tensors[t]]->data<float>();
        launch("multi_sum_squares_kernel", multi_sum_squares_kernel, blocks_of(l), kThreads,
               ctx_->stream, a, l.block_offset, partial);
    }
    // No tensor with elements: the sum is an empty one, so the norm is 0.
    if (blocks == 0) PFCE_CUDA_CHECK(cudaMemsetAsync(partial, 0, sizeof(double), ctx_->stream));
    launch("multi_finish_norm_kernel", multi_finish_norm_kernel, 1, kThreads, ctx_->stream,
           static_cast<const double*>(partial), blocks == 0 ? 1LL : blocks, norm.data<float>());
}

void CudaBackend::sgd_steps(std::span<const SgdSlot> slots, const Tensor& grad_scale,
                            const Tensor& step_scalars, const SgdParams& p) {
    if (!multi_tensor_sgd_) return Backend::sgd_steps(slots, grad_scale, step_scalars, p);
    const bool use_momentum = p.momentum != 0.0f;
    Tensor none;
    for (const SgdSlot& s : slots) {
        SgdParams sp = p;
        sp.weight_decay = s.weight_decay;
        check_sgd_step_args(*s.param, *s.grad, s.momentum_buf ? *s.momentum_buf : none, grad_scale,
                            step_scalars, sp, DeviceKind::cuda);
    }
    per_launch<SgdArgs>(
        sgd_plan_, slots,
        [&](SgdArgs& a, int t, const SgdSlot& s) {
            a.w[t] = s.param->data<float>();
            a.g[t] = s.grad->data<float>();
            a.buf[t] = use_momentum ? s.momentum_buf->data<float>() : nullptr;
            a.weight_decay[t] = s.weight_decay;
        },
        [&](const SgdArgs& a, const MultiTensorLaunch& l) {
            launch("multi_sgd_kernel", multi_sgd_kernel, blocks_of(l), kThreads, ctx_->stream, a,
                   grad_scale.data<float>(), step_scalars.data<float>(), p.momentum);
        });
}

void CudaBackend::adam_steps(std::span<const AdamSlot> slots, const Tensor& grad_scale,
                             const Tensor& step_scalars, const AdamParams& p) {
    if (!multi_tensor_adam_) return Backend::adam_steps(slots, grad_scale, step_scalars, p);
    for (const AdamSlot& s : slots)
        check_adam_step_args(*s.param, *s.grad, *s.m, *s.v, grad_scale, step_scalars,
                             DeviceKind::cuda);
    per_launch<AdamArgs>(
        adam_plan_, slots,
        [&](AdamArgs& a, int t, const AdamSlot& s) {
            a.w[t] = s.param->data<float>();
            a.g[t] = s.grad->data<float>();
            a.m[t] = s.m->data<float>();
            a.v[t] = s.v->data<float>();
            a.weight_decay[t] = s.weight_decay;
        },
        [&](const AdamArgs& a, const MultiTensorLaunch& l) {
            launch("multi_adam_kernel", multi_adam_kernel, blocks_of(l), kThreads, ctx_->stream, a,
                   grad_scale.data<float>(), step_scalars.data<float>(), p);
        });
}

}  // namespace pfce
