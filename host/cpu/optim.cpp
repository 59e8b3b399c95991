// CPU reference of the optimizer family: global gradient norm (deterministic, independent of the
// thread count), the clipping scale, and the SGD-momentum and Adam/AdamW/Adam+L2 steps with
// PyTorch's formulas. Mirrored by cuda/optim.cu.
#include <algorithm>
#include <cmath>
#include <vector>

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
    const float n = norm.data<float>()[0];
    // Same expression as the CUDA kernel: min(1, max_norm / (norm + 1e-6)); a NaN norm gives NaN,
    // which the trainer's loss check then reports instead of silently skipping the step.
    float s = 1.0f;
    if (max_norm > 0.0f) {
        const float r = max_norm / (n + 1e-6f);
        s = r < 1.0f ? r : (std::isnan(r) ? r : 1.0f);
    }
    grad_scale.data<float>()[0] = s;
}

// PyTorch SGD (dampening 0, no Nesterov): g = grad*scale + wd*param; buf = momentum*buf + g
// (buf starts at zero, which equals PyTorch's buf = g on the first step); param -= lr*buf.
void CpuBackend::sgd_step(Tensor& param, const Tensor& grad, Tensor& momentum_buf,
                          const Tensor& grad_scale, const SgdParams& p) {
    check_sgd_step_args(param, grad, momentum_buf, grad_scale, p, DeviceKind::cpu);
    const bool use_momentum = p.momentum != 0.0f;
    float* w = param.data<float>();
    const float* g = grad.data<float>();
    float* buf = use_momentum ? momentum_buf.data<float>() : nullptr;
    const float scale = grad_scale.data<float>()[0];
    const std::int64_t n = param.numel();
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) {
        float d = g[i] * scale;
        if (p.weight_decay != 0.0f) d = d + p.weight_decay * w[i];
        if (use_momentum) {
            buf[i] = p.momentum * buf[i] + d;
            d = buf[i];
        }
        w[i] = w[i] - p.lr * d;
    }
}

// PyTorch Adam / AdamW (amsgrad off):
//   g = grad*scale (+ wd*param for L2);  param *= 1 - lr*wd for decoupled (AdamW)
//   m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2
//   param -= (lr / (1-b1^t)) * m / (sqrt(v) / sqrt(1-b2^t) + eps)
// The bias corrections are computed once in double and handed to the loop as floats (the CUDA
// launcher does the same) so both backends evaluate the same float expression.
void CpuBackend::adam_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v,
                           const Tensor& grad_scale, const AdamParams& p) {
    check_adam_step_args(param, grad, m, v, grad_scale, p, DeviceKind::cpu);
    const float step_size = static_cast<float>(
        p.lr / (1.0 - std::pow(static_cast<double>(p.beta1), static_cast<double>(p.step))));
    const float bc2_sqrt = static_cast<float>(
        std::sqrt(1.0 - std::pow(static_cast<double>(p.beta2), static_cast<double>(p.step))));
    const bool decoupled = p.decay_mode == WeightDecayMode::decoupled;
    const float decay_factor = decoupled ? 1.0f - p.lr * p.weight_decay : 1.0f;
    const float l2 = decoupled ? 0.0f : p.weight_decay;
    float* w = param.data<float>();
    const float* g = grad.data<float>();
    float* pm = m.data<float>();
    float* pv = v.data<float>();
    const float scale = grad_scale.data<float>()[0];
    const float b1 = p.beta1, b2 = p.beta2, eps = p.eps;
    const std::int64_t n = param.numel();
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) {
        float gi = g[i] * scale;
        if (l2 != 0.0f) gi = gi + l2 * w[i];
        float wi = w[i] * decay_factor;
        const float mi = b1 * pm[i] + (1.0f - b1) * gi;
        const float vi = b2 * pv[i] + (1.0f - b2) * gi * gi;
        pm[i] = mi;
        pv[i] = vi;
        const float denom = std::sqrt(vi) / bc2_sqrt + eps;
        w[i] = wi - step_size * (mi / denom);
    }
}

}  // namespace pfce
