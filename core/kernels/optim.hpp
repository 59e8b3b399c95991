// Optimizer arithmetic both backends must agree on bit for bit: the clipping scale, PyTorch's SGD
// and Adam/AdamW/Adam+L2 element updates, and a step's scalars (core/op_params.hpp OptimScalar:
// the learning rate and Adam's bias corrections, computed once per step in double on the host and
// read by the element loops as floats from the step-scalars tensor).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

#include "core/kernels/hd.hpp"
#include "core/op_params.hpp"

namespace pfce::kernels {

// min(1, max_norm / (norm + 1e-6)), 1 when clipping is off (max_norm <= 0); a NaN norm gives NaN,
// which the trainer's loss check then reports instead of silently skipping the step.
PFCE_HD inline float clip_scale_value(float norm, float max_norm) {
    float s = 1.0f;
    if (max_norm > 0.0f) {
        const float r = max_norm / (norm + 1e-6f);
        s = r < 1.0f ? r : (std::isnan(r) ? r : 1.0f);
    }
    return s;
}

// PyTorch SGD (dampening 0, no Nesterov) for element i, with the gradient read as g[i]*scale:
// d = g[i]*scale + wd*w[i]; with momentum (buf not null) buf[i] = momentum*buf[i] + d and d =
// buf[i] (buf starts at zero, which equals PyTorch's buf = g on the first step); w[i] -= lr*d.
// (Written on the arrays, as the loops had it: where a compiler fuses multiply-adds, which product
// it fuses depends on the shape of the code around it.)
PFCE_HD inline void sgd_update(float* w, const float* g, float* buf, long long i, float scale,
                               float lr, float momentum, float weight_decay) {
    float d = g[i] * scale;
    if (weight_decay != 0.0f) d = d + weight_decay * w[i];
    if (buf) {
        const float b = momentum * buf[i] + d;
        buf[i] = b;
        d = b;
    }
    w[i] = w[i] - lr * d;
}

// A step's scalars (the step-scalars tensor's contents, indexed by OptimScalar).
using StepScalars = std::array<float, kOptimScalarCount>;

// SGD reads the learning rate only; the Adam entries are 0.
inline StepScalars sgd_step_scalars(float lr) {
    StepScalars s{};
    s[kOptimLr] = lr;
    return s;
}

// Step `step` (1-based) of Adam at learning rate lr: the bias corrections in double, each rounded
// once to float.
inline StepScalars adam_step_scalars(float lr, float beta1, float beta2, std::int64_t step) {
    StepScalars s{};
    s[kOptimLr] = lr;
    s[kOptimStepSize] = static_cast<float>(
        lr / (1.0 - std::pow(static_cast<double>(beta1), static_cast<double>(step))));
    s[kOptimBc2Sqrt] = static_cast<float>(
        std::sqrt(1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(step))));
    return s;
}

// PyTorch Adam / AdamW (amsgrad off):
//   g (+ l2*w for Adam+L2);  w *= decay_factor (1 - lr*wd for AdamW)
//   m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2
//   w -= step_size * m / (sqrt(v) / bc2_sqrt + eps),
// step_size = lr / (1 - b1^t) and bc2_sqrt = sqrt(1 - b2^t) the bias corrections of step t.
struct AdamCoefficients {
    float step_size, bc2_sqrt, decay_factor, l2;
    float b1, b2, eps;
};

// The coefficients of a step from the run's parameters (p.weight_decay: the tensor's own) and the
// step's scalars, host or device memory as the caller runs.
PFCE_HD inline AdamCoefficients adam_coefficients(const AdamParams& p, const float* scalars) {
    const bool decoupled = p.decay_mode == WeightDecayMode::decoupled;
    AdamCoefficients c;
    c.step_size = scalars[kOptimStepSize];
    c.bc2_sqrt = scalars[kOptimBc2Sqrt];
    c.decay_factor = decoupled ? one_minus_product(scalars[kOptimLr], p.weight_decay) : 1.0f;
    c.l2 = decoupled ? 0.0f : p.weight_decay;
    c.b1 = p.beta1;
    c.b2 = p.beta2;
    c.eps = p.eps;
    return c;
}

// One element: w, m, v updated in place from the (scaled) gradient g.
PFCE_HD inline void adam_update(float& w, float& m, float& v, float g, const AdamCoefficients& c) {
    if (c.l2 != 0.0f) g = g + c.l2 * w;
    const float wi = w * c.decay_factor;
    const float mi = c.b1 * m + (1.0f - c.b1) * g;
    const float vi = c.b2 * v + (1.0f - c.b2) * g * g;
    m = mi;
    v = vi;
    const float denom = std::sqrt(vi) / c.bc2_sqrt + c.eps;
    w = wi - c.step_size * (mi / denom);
}

}  // namespace pfce::kernels
