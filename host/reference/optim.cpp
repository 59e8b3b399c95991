// Reference optimizer family in double, written as PyTorch documents it: the global L2 norm of all
// gradients, the clipping scale min(1, max_norm / (norm + 1e-6)), SGD with momentum (dampening 0,
// no Nesterov) and Adam / AdamW / Adam+L2 (amsgrad off), the gradient read as grad * grad_scale.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/op_checks.hpp"
#include "host/reference/doubles.hpp"
#include "host/reference/reference_backend.hpp"

namespace pfce {

using reference::Doubles;

void ReferenceBackend::global_grad_norm(std::span<const Tensor* const> grads, Tensor& norm) {
    check_grad_norm_args(grads, norm, DeviceKind::cpu);
    double sum = 0.0;
    for (const Tensor* g : grads)
        for (std::int64_t i = 0; i < g->numel(); ++i) {
            const double v = g->data<float>()[i];
            sum += v * v;
        }
    norm.data<float>()[0] = static_cast<float>(std::sqrt(sum));
}

void ReferenceBackend::clip_scale(const Tensor& norm, float max_norm, Tensor& grad_scale) {
    check_clip_scale_args(norm, grad_scale, DeviceKind::cpu);
    double s = 1.0;  // max_norm <= 0: clipping off
    if (max_norm > 0.0f) {
        const double r =
            static_cast<double>(max_norm) / (static_cast<double>(norm.data<float>()[0]) + 1e-6);
        s = std::isnan(r) ? r : std::min(1.0, r);  // a NaN norm stays visible
    }
    grad_scale.data<float>()[0] = static_cast<float>(s);
}

// g = grad*scale + wd*param; buf = momentum*buf + g (buf starts at zero, which is PyTorch's buf =
// g on the first step) and g = buf when momentum != 0; param -= lr*g, lr from the step scalars.
void ReferenceBackend::sgd_step(Tensor& param, const Tensor& grad, Tensor& momentum_buf,
                                const Tensor& grad_scale, const Tensor& step_scalars,
                                const SgdParams& p) {
    check_sgd_step_args(param, grad, momentum_buf, grad_scale, step_scalars, p, DeviceKind::cpu);
    const double scale = grad_scale.data<float>()[0];
    const double lr = step_scalars.data<float>()[kOptimLr];
    Doubles values(param), momentum(momentum_buf);
    double* w = values.data();
    double* buf = momentum.data();
    for (std::int64_t i = 0; i < param.numel(); ++i) {
        double g = static_cast<double>(grad.data<float>()[i]) * scale +
                   static_cast<double>(p.weight_decay) * w[i];
        if (p.momentum != 0.0f) {
            buf[i] = static_cast<double>(p.momentum) * buf[i] + g;
            g = buf[i];
        }
        w[i] -= lr * g;
    }
    values.store(param);
    if (p.momentum != 0.0f) momentum.store(momentum_buf);
}

// Step t: g = grad*scale (+ wd*param for Adam+L2); param *= 1 - lr*wd for AdamW;
// m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²; param -= lr/(1-b1^t) * m / (sqrt(v/(1-b2^t)) + eps).
// lr and the bias corrections lr/(1-b1^t) and sqrt(1-b2^t) are the step scalars, inputs of the op
// (the optimizer computes them in double and rounds each once to float).
void ReferenceBackend::adam_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v,
                                 const Tensor& grad_scale, const Tensor& step_scalars,
                                 const AdamParams& p) {
    check_adam_step_args(param, grad, m, v, grad_scale, step_scalars, DeviceKind::cpu);
    const double scale = grad_scale.data<float>()[0];
    const float* scalars = step_scalars.data<float>();
    const double lr = scalars[kOptimLr], step_size = scalars[kOptimStepSize],
                 bc2_sqrt = scalars[kOptimBc2Sqrt];
    const double b1 = p.beta1, b2 = p.beta2, eps = p.eps, wd = p.weight_decay;
    const bool decoupled = p.decay_mode == WeightDecayMode::decoupled;
    Doubles values(param), first(m), second(v);
    double* w = values.data();
    double* vm = first.data();
    double* vv = second.data();
    for (std::int64_t i = 0; i < param.numel(); ++i) {
        double g = static_cast<double>(grad.data<float>()[i]) * scale;
        if (decoupled)
            w[i] *= 1.0 - lr * wd;
        else
            g += wd * w[i];
        vm[i] = b1 * vm[i] + (1.0 - b1) * g;
        vv[i] = b2 * vv[i] + (1.0 - b2) * g * g;
        w[i] -= step_size * vm[i] / (std::sqrt(vv[i]) / bc2_sqrt + eps);
    }
    values.store(param);
    first.store(m);
    second.store(v);
}

}  // namespace pfce
