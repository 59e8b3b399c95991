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

}  // namespace pfce
