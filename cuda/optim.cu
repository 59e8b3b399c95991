// CUDA optimizer family, mirroring host/cpu/optim.cpp: a deterministic global gradient norm (fixed
// grid per tensor, partial sums in double, one final block summing them in a fixed order), the
// clipping scale, and the SGD / Adam steps reading grad_scale on the device (no host sync).
#include <cmath>
#include <vector>

#include "core/op_checks.hpp"
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

// Tree reduction of one double per thread inside a block of kNormThreads; thread 0 gets the sum.
__device__ double block_sum(double v, double* shared) {
    shared[threadIdx.x] = v;
    __syncthreads();
    for (int s = kNormThreads / 2; s > 0; s >>= 1) {
        if (static_cast<int>(threadIdx.x) < s) shared[threadIdx.x] += shared[threadIdx.x + s];
        __syncthreads();
    }
    return shared[0];
}

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
    const double total = block_sum(s, shared);
    if (threadIdx.x == 0) partial[blockIdx.x] = total;
}

// One block: norm[0] <- sqrt(sum of all partials), read in a fixed order.
__global__ void finish_norm_kernel(const double* __restrict__ partial, long long count,
                                   float* __restrict__ norm) {
    __shared__ double shared[kNormThreads];
    double s = 0.0;
    for (long long i = threadIdx.x; i < count; i += blockDim.x) s += partial[i];
    const double total = block_sum(s, shared);
    if (threadIdx.x == 0) norm[0] = static_cast<float>(sqrt(total));
}

__global__ void clip_scale_kernel(const float* __restrict__ norm, float max_norm,
                                  float* __restrict__ scale) {
    if (blockIdx.x != 0 || threadIdx.x != 0) return;
    float s = 1.0f;
    if (max_norm > 0.0f) {
        const float r = max_norm / (norm[0] + 1e-6f);
        s = r < 1.0f ? r : (isnan(r) ? r : 1.0f);
    }
    scale[0] = s;
}

__global__ void sgd_step_kernel(float* __restrict__ w, const float* __restrict__ g,
                                float* __restrict__ buf, const float* __restrict__ grad_scale,
                                long long n, float lr, float momentum, float weight_decay) {
    const float scale = grad_scale[0];
    for (long long i = blockIdx.x * 1LL * blockDim.x + threadIdx.x; i < n;
         i += 1LL * gridDim.x * blockDim.x) {
        float d = g[i] * scale;
        if (weight_decay != 0.0f) d = d + weight_decay * w[i];
        if (buf) {
            const float b = momentum * buf[i] + d;
            buf[i] = b;
            d = b;
        }
        w[i] = w[i] - lr * d;
    }
}

__global__ void adam_step_kernel(float* __restrict__ w, const float* __restrict__ g,
                                 float* __restrict__ m, float* __restrict__ v,
                                 const float* __restrict__ grad_scale, long long n, float b1,
                                 float b2, float eps, float step_size, float bc2_sqrt,
                                 float decay_factor, float l2) {
    const float scale = grad_scale[0];
    for (long long i = blockIdx.x * 1LL * blockDim.x + threadIdx.x; i < n;
         i += 1LL * gridDim.x * blockDim.x) {
        float gi = g[i] * scale;
        if (l2 != 0.0f) gi = gi + l2 * w[i];
        const float wi = w[i] * decay_factor;
        const float mi = b1 * m[i] + (1.0f - b1) * gi;
        const float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        const float denom = sqrtf(vi) / bc2_sqrt + eps;
        w[i] = wi - step_size * (mi / denom);
    }
}

}  // namespace

// ---- launchers ------------------------------------------------------------------------------

void CudaBackend::global_grad_norm(std::span<const Tensor* const> grads, Tensor& norm) {
    check_grad_norm_args(grads, norm, DeviceKind::cuda);
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
            sum_squares_kernel<<<static_cast<unsigned>(blocks), kNormThreads, 0, ctx_->stream>>>(
                g->data<float>(), n, partial + offset);
            PFCE_CUDA_CHECK_LAUNCH("sum_squares");
        }
        offset += blocks;
    }
    finish_norm_kernel<<<1, kNormThreads, 0, ctx_->stream>>>(partial, offset, norm.data<float>());
    PFCE_CUDA_CHECK_LAUNCH("finish_norm");
}

void CudaBackend::clip_scale(const Tensor& norm, float max_norm, Tensor& grad_scale) {
    check_clip_scale_args(norm, grad_scale, DeviceKind::cuda);
    clip_scale_kernel<<<1, 32, 0, ctx_->stream>>>(norm.data<float>(), max_norm,
                                                  grad_scale.data<float>());
    PFCE_CUDA_CHECK_LAUNCH("clip_scale");
}

void CudaBackend::sgd_step(Tensor& param, const Tensor& grad, Tensor& momentum_buf,
                           const Tensor& grad_scale, const SgdParams& p) {
    check_sgd_step_args(param, grad, momentum_buf, grad_scale, p, DeviceKind::cuda);
    const bool use_momentum = p.momentum != 0.0f;
    const long long n = param.numel();
    if (n == 0) return;
    sgd_step_kernel<<<grid_for(n), 256, 0, ctx_->stream>>>(
        param.data<float>(), grad.data<float>(),
        use_momentum ? momentum_buf.data<float>() : nullptr, grad_scale.data<float>(), n, p.lr,
        p.momentum, p.weight_decay);
    PFCE_CUDA_CHECK_LAUNCH("sgd_step");
}

void CudaBackend::adam_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v,
                            const Tensor& grad_scale, const AdamParams& p) {
    check_adam_step_args(param, grad, m, v, grad_scale, p, DeviceKind::cuda);
    const long long n = param.numel();
    if (n == 0) return;
    // Same host-side double computation as the CPU reference.
    const float step_size = static_cast<float>(
        p.lr / (1.0 - std::pow(static_cast<double>(p.beta1), static_cast<double>(p.step))));
    const float bc2_sqrt = static_cast<float>(
        std::sqrt(1.0 - std::pow(static_cast<double>(p.beta2), static_cast<double>(p.step))));
    const bool decoupled = p.decay_mode == WeightDecayMode::decoupled;
    const float decay_factor = decoupled ? 1.0f - p.lr * p.weight_decay : 1.0f;
    const float l2 = decoupled ? 0.0f : p.weight_decay;
    adam_step_kernel<<<grid_for(n), 256, 0, ctx_->stream>>>(
        param.data<float>(), grad.data<float>(), m.data<float>(), v.data<float>(),
        grad_scale.data<float>(), n, p.beta1, p.beta2, p.eps, step_size, bc2_sqrt, decay_factor,
        l2);
    PFCE_CUDA_CHECK_LAUNCH("adam_step");
}

}  // namespace pfce
