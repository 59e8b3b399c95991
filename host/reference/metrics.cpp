// Reference confusion matrix: one count per pixel whose truth is labelled, at (truth, prediction).
#include "core/op_checks.hpp"
#include "host/reference/reference_backend.hpp"

namespace pfce {

void ReferenceBackend::confusion_accumulate(const Tensor& pred, const Tensor& truth,
                                            Tensor& confusion) {
    check_confusion_accumulate_args(pred, truth, confusion, DeviceKind::cpu);
    const std::int64_t c = confusion.dim(0);
    const std::uint8_t* t = truth.data<std::uint8_t>();
    const std::uint8_t* p = pred.data<std::uint8_t>();
    // Labels must be classes below C (or truth 255): anything else is a caller bug, refused before
    // anything is counted.
    for (std::int64_t i = 0; i < pred.numel(); ++i)
        if (t[i] != kUnlabelled && (t[i] >= c || p[i] >= c))
            PFCE_THROW(ShapeError, "confusion_accumulate: pixel ", i, " has truth ", int(t[i]),
                       " / prediction ", int(p[i]), ", expected < ", c, " (or truth 255)");
    for (std::int64_t i = 0; i < pred.numel(); ++i)
        if (t[i] != kUnlabelled) ++confusion.data<std::int32_t>()[t[i] * c + p[i]];
}

}  // namespace pfce
