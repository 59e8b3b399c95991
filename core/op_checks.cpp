// Entry checks of the Backend ops, shared by both backends (see op_checks.hpp).
#include "core/op_checks.hpp"

#include <cmath>
#include <cstdint>

#include "core/error.hpp"

namespace pfce {

// ---- focal loss ------------------------------------------------------------------------------

void check_focal_loss_args(const Tensor& logits, const Tensor& labels, const FocalLossParams& p,
                           const Tensor& loss, const Tensor& dlogits, DeviceKind dev) {
    PFCE_CHECK_SHAPE(logits.device() == dev && labels.device() == dev && loss.device() == dev,
                     "focal_loss tensors on the backend's device: ", logits.describe(), " ",
                     labels.describe(), " ", loss.describe());
    PFCE_CHECK_SHAPE(logits.dtype() == DType::f32 && logits.shape().rank == 4,
                     "logits (N,C,H,W) f32, got ", logits.describe());
    const std::int64_t c = logits.dim(1);
    PFCE_CHECK_SHAPE(c >= 1 && c <= kMaxClasses, "1 <= C <= ", kMaxClasses, ", got ",
                     logits.describe());
    PFCE_CHECK_SHAPE(labels.dtype() == DType::u8 &&
                         labels.shape() == Shape({logits.dim(0), logits.dim(2), logits.dim(3)}),
                     "labels (N,H,W) u8 matching ", logits.describe(), ", got ", labels.describe());
    PFCE_CHECK_SHAPE(loss.dtype() == DType::f32 && loss.numel() == 1 && !loss.empty(),
                     "loss (1) f32, got ", loss.describe());
    PFCE_CHECK_SHAPE(
        dlogits.empty() || (dlogits.dtype() == DType::f32 && dlogits.shape() == logits.shape() &&
                            dlogits.device() == dev),
        "dlogits empty or like ", logits.describe(), ", got ", dlogits.describe());
    PFCE_CHECK_SHAPE(p.alpha.empty() || static_cast<std::int64_t>(p.alpha.size()) == c,
                     "alpha has ", p.alpha.size(), " entries for C = ", c);
    if (!(std::isfinite(p.gamma) && p.gamma >= 0.0f))
        PFCE_THROW(InputError, "focal loss gamma must be finite and >= 0, got ", p.gamma);
    for (float a : p.alpha)
        if (!(std::isfinite(a) && a >= 0.0f))
            PFCE_THROW(InputError, "focal loss alpha must be finite and >= 0, got ", a);
}

// ---- optimizer ops ---------------------------------------------------------------------------

namespace {

// "host" / "device", as the optimizer and link messages have always said.
const char* where(DeviceKind dev) { return dev == DeviceKind::cpu ? "host" : "device"; }

void check_scalar(const Tensor& t, const char* what, DeviceKind dev) {
    PFCE_CHECK_SHAPE(t.dtype() == DType::f32 && t.numel() == 1 && t.device() == dev, what,
                     " must be a ", where(dev), " f32 tensor of one element, got ", t.describe());
}

void check_same(const Tensor& a, const Tensor& b, const char* what, DeviceKind dev) {
    PFCE_CHECK_SHAPE(a.shape() == b.shape() && a.dtype() == DType::f32 && b.dtype() == DType::f32 &&
                         a.device() == dev && b.device() == dev,
                     what, ": ", a.describe(), " vs ", b.describe());
}

}  // namespace

void check_grad_norm_args(std::span<const Tensor* const> grads, const Tensor& norm, DeviceKind dev) {
    check_scalar(norm, "norm", dev);
    for (const Tensor* g : grads)
        PFCE_CHECK_SHAPE(g && g->dtype() == DType::f32 && g->device() == dev, "gradient must be a ",
                         where(dev), " f32 tensor, got ", g ? g->describe() : "null");
}

void check_clip_scale_args(const Tensor& norm, const Tensor& grad_scale, DeviceKind dev) {
    check_scalar(norm, "norm", dev);
    check_scalar(grad_scale, "grad_scale", dev);
}

void check_sgd_step_args(const Tensor& param, const Tensor& grad, const Tensor& momentum_buf,
                         const Tensor& grad_scale, const SgdParams& p, DeviceKind dev) {
    check_same(param, grad, "sgd_step param/grad", dev);
    check_scalar(grad_scale, "grad_scale", dev);
    // The momentum buffer is only touched (and so only checked) when momentum is on.
    if (p.momentum != 0.0f) check_same(param, momentum_buf, "sgd_step param/momentum", dev);
}

void check_adam_step_args(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v,
                          const Tensor& grad_scale, const AdamParams& p, DeviceKind dev) {
    check_same(param, grad, "adam_step param/grad", dev);
    check_same(param, m, "adam_step param/m", dev);
    check_same(param, v, "adam_step param/v", dev);
    check_scalar(grad_scale, "grad_scale", dev);
    PFCE_CHECK_SHAPE(p.step >= 1, "adam step count is 1-based, got ", p.step);
}

}  // namespace pfce
