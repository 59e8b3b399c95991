// CPU backend: the optimizer family: global gradient norm (deterministic, independent of the
// thread count), the clipping scale, and the SGD-momentum and Adam/AdamW/Adam+L2 steps with
// PyTorch's formulas. The per-element arithmetic is core/kernels/optim.hpp, shared with
// cuda/optim.cu.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/kernels/optim.hpp"
#include "core/op_checks.hpp"
#include "host/cpu/cpu_backend.hpp"

namespace pfce {

namespace {

// Sums of squares are taken over fixed chunks and added in chunk order, so the result is the same
// for any OpenMP thread count (a plain parallel reduction would not be).
constexpr std::int64_t kNormChunk = 1 << 16;

double sum_squares(const float* g, std::int64_t n) {
    const std::int64_t chunks = (n + kNormChunk - 1) / kNormChunk;
    std::vector<double> partial(static_cast<std::size_t>(chunks), 0.0);
#pragma omp parallel for schedule(static)
    for (std::int64_t c = 0; c < chunks; ++c) {
        const std::int64_t lo = c * kNormChunk, hi = std::min(n, lo + kNormChunk);
        double s = 0.0;
        for (std::int64_t i = lo; i < hi; ++i) s += static_cast<double>(g[i]) * g[i];
        partial[static_cast<std::size_t>(c)] = s;
    }
    double total = 0.0;
    for (double s : partial) total += s;
    return total;
}

}  // namespace

void CpuBackend::global_grad_norm(std::span<const Tensor* const> grads, Tensor& norm) {
    check_grad_norm_args(grads, norm, DeviceKind::cpu);
    double total = 0.0;
    for (const Tensor* g : grads) total += sum_squares(g->data<float>(), g->numel());
    norm.data<float>()[0] = static_cast<float>(std::sqrt(total));
}

void CpuBackend::clip_scale(const Tensor& norm, float max_norm, Tensor& grad_scale) {
    check_clip_scale_args(norm, grad_scale, DeviceKind::cpu);
    grad_scale.data<float>()[0] = kernels::clip_scale_value(norm.data<float>()[0], max_norm);
}

void CpuBackend::sgd_step(Tensor& param, const Tensor& grad, Tensor& momentum_buf,
                          const Tensor& grad_scale, const Tensor& step_scalars,
                          const SgdParams& p) {
    check_sgd_step_args(param, grad, momentum_buf, grad_scale, step_scalars, p, DeviceKind::cpu);
    const bool use_momentum = p.momentum != 0.0f;
    float* w = param.data<float>();
    const float* g = grad.data<float>();
    float* buf = use_momentum ? momentum_buf.data<float>() : nullptr;
    const float scale = grad_scale.data<float>()[0];
    const float lr = step_scalars.data<float>()[kOptimLr];
    const std::int64_t n = param.numel();
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i)
        kernels::sgd_update(w, g, buf, i, scale, lr, p.momentum, p.weight_decay);
}

void CpuBackend::adam_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v,
                           const Tensor& grad_scale, const Tensor& step_scalars,
                           const AdamParams& p) {
    check_adam_step_args(param, grad, m, v, grad_scale, step_scalars, DeviceKind::cpu);
    const kernels::AdamCoefficients c = kernels::adam_coefficients(p, step_scalars.data<float>());
    float* w = param.data<float>();
    const float* g = grad.data<float>();
    float* pm = m.data<float>();
    float* pv = v.data<float>();
    const float scale = grad_scale.data<float>()[0];
    const std::int64_t n = param.numel();
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) kernels::adam_update(w[i], pm[i], pv[i], g[i] * scale, c);
}

}  // namespace pfce
