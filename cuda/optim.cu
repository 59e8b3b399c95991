// CUDA optimizer family, mirroring host/cpu/optim.cpp: a deterministic global gradient norm (fixed
// grid per tensor, partial sums in double, one final block summing them in a fixed order), the
// clipping scale, and the SGD / Adam steps reading grad_scale and the step scalars (lr, Adam's bias
// corrections) on the device (no host sync, and nothing per step in the launch arguments). The
// per-element arithmetic is core/kernels/optim.hpp, shared with the CPU.
#include <cmath>
#include <vector>

#include "core/kernels/optim.hpp"
#include "core/op_checks.hpp"
#include "cuda/common.cuh"
#include "cuda/cuda_backend.hpp"
#include "cuda/cuda_context.hpp"

namespace pfce {

namespace {

constexpr int kNormThreads = 256;
constexpr long long kNormMaxBlocks = 1024;

// Blocks used for a tensor of n elements: a function of n only, so the reduction tree (and with it
// the rounding) is the same on every run and every GPU.
long long norm_blocks(long long n) {
    long long b = (n + kNormThreads - 1) / kNormThreads;
    if (b < 1) b = 1;
    return b > kNormMaxBlocks ? kNormMaxBlocks : b;
}

// ---- kernels --------------------------------------------------------------------------------

// partial[blockIdx.x] <- sum of g[i]^2 over the block's grid-stride share.
__global__ void sum_squares_kernel(const float* __restrict__ g, long long n,
                                   double* __restrict__ partial) {
    __shared__ double shared[kNormThreads];
    double s = 0.0;
    for (long long i = blockIdx.x * 1LL * blockDim.x + threadIdx.x; i < n;
         i += 1LL * gridDim.x * blockDim.x) {
        const double x = g[i];
        s += x * x;
    }
    const double total = block_sum_tree<kNormThreads>(s, shared);
    if (threadIdx.x == 0) partial[blockIdx.x] = total;
}

// One block: norm[0] <- sqrt(sum of all partials), read in a fixed order.
__global__ void finish_norm_kernel(const double* __restrict__ partial, long long count,
                                   float* __restrict__ norm) {
    __shared__ double shared[kNormThreads];
    double s = 0.0;
    for (long long i = threadIdx.x; i < count; i += blockDim.x) s += partial[i];
    const double total = block_sum_tree<kNormThreads>(s, shared);
    if (threadIdx.x == 0) norm[0] = static_cast<float>(sqrt(total));
}

__global__ void clip_scale_kernel(const float* __restrict__ norm, float max_norm,
                                  float* __restrict__ scale) {
    if (blockIdx.x != 0 || threadIdx.x != 0) return;
    scale[0] = kernels::clip_scale_value(norm[0], max_norm);
}

__global__ void sgd_step_kernel(float* __restrict__ w, const float* __restrict__ g,
                                float* __restrict__ buf, const float* __restrict__ grad_scale,
                                const float* __restrict__ scalars, long long n, float momentum,
                                float weight_decay) {
    const float scale = grad_scale[0];
    const float lr = scalars[kOptimLr];
    for (long long i = blockIdx.x * 1LL * blockDim.x + threadIdx.x; i < n;
         i += 1LL * gridDim.x * blockDim.x)
        kernels::sgd_update(w, g, buf, i, scale, lr, momentum, weight_decay);
}

__global__ void adam_step_kernel(float* __restrict__ w, const float* __restrict__ g,
                                 float* __restrict__ m, float* __restrict__ v,
                                 const float* __restrict__ grad_scale,
                                 const float* __restrict__ scalars, long long n, AdamParams p) {
    const float scale = grad_scale[0];
    const kernels::AdamCoefficients c = kernels::adam_coefficients(p, scalars);
    for (long long i = blockIdx.x * 1LL * blockDim.x + threadIdx.x; i < n;
         i += 1LL * gridDim.x * blockDim.x)
        kernels::adam_update(w[i], m[i], v[i], g[i] * scale, c);
}

}  // namespace

// ---- launchers ------------------------------------------------------------------------------

void CudaBackend::global_grad_norm(std::span<const Tensor* const> grads, Tensor& norm) {
    check_grad_norm_args(grads, norm, DeviceKind::cuda);
    if (multi_tensor_norm_) return global_grad_norm_multi(grads, norm);  // optim_multi.cu
    long long total_blocks = 0;
    for (const Tensor* g : grads) total_blocks += norm_blocks(g->numel());
    // Partial sums live in the shared workspace (grow-only, so no allocation after the first step).
    auto* partial = static_cast<double*>(
        ctx_->workspace(static_cast<std::size_t>(total_blocks + 1) * sizeof(double)));
    long long offset = 0;
    for (const Tensor* g : grads) {
        const long long n = g->numel();
        const long long blocks = norm_blocks(n);
        if (n == 0) {
            PFCE_CUDA_CHECK(cudaMemsetAsync(partial + offset, 0, sizeof(double), ctx_->stream));
        } else {
            launch("sum_squares_kernel", sum_squares_kernel, static_cast<unsigned>(blocks),
                   kNormThreads, ctx_->stream, g->data<float>(), n, partial + offset);
        }
        offset += blocks;
    }
    launch("finish_norm_kernel", finish_norm_kernel, 1, kNormThreads, ctx_->stream, partial, offset,
           norm.data<float>());
}

void CudaBackend::clip_scale(const Tensor& norm, float max_norm, Tensor& grad_scale) {
    check_clip_scale_args(norm, grad_scale, DeviceKind::cuda);
    launch("clip_scale_kernel", clip_scale_kernel, 1, 32, ctx_->stream, norm.data<float>(),
           max_norm, grad_scale.data<float>());
}

void CudaBackend::sgd_step(Tensor& param, const Tensor& grad, Tensor& momentum_buf,
                           const Tensor& grad_scale, const Tensor& step_scalars,
                           const SgdParams& p) {
    check_sgd_step_args(param, grad, momentum_buf, grad_scale, step_scalars, p, DeviceKind::cuda);
    const bool use_momentum = p.momentum != 0.0f;
    const long long n = param.numel();
    if (n == 0) return;
    launch("sgd_step_kernel", sgd_step_kernel, grid_for(n), 256, ctx_->stream, param.data<float>(),
           grad.data<float>(), use_momentum ? momentum_buf.data<float>() : nullptr,
           grad_scale.data<float>(), step_scalars.data<float>(), n, p.momentum, p.weight_decay);
}

void CudaBackend::adam_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v,
                            const Tensor& grad_scale, const Tensor& step_scalars,
                            const AdamParams& p) {
    check_adam_step_args(param, grad, m, v, grad_scale, step_scalars, DeviceKind::cuda);
    const long long n = param.numel();
    if (n == 0) return;
    launch("adam_step_kernel", adam_step_kernel, grid_for(n), 256, ctx_->stream,
           param.data<float>(), grad.data<float>(), m.data<float>(), v.data<float>(),
           grad_scale.data<float>(), step_scalars.data<float>(), n, p);
}

}  // namespace pfce
