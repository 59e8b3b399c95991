// CPU backend: the metrics family: the (truth, prediction) confusion matrix that every
// segmentation metric of DESIGN §2 is computed from. Mirrored by cuda/metrics.cu.
#include <vector>

#include "core/op_checks.hpp"
#include "host/cpu/cpu_backend.hpp"

namespace pfce {

void CpuBackend::confusion_accumulate(const Tensor& pred, const Tensor& truth, Tensor& confusion) {
    check_confusion_accumulate_args(pred, truth, confusion, DeviceKind::cpu);
    const int C = static_cast<int>(confusion.dim(0));
    const std::uint8_t* p = pred.data<std::uint8_t>();
    const std::uint8_t* t = truth.data<std::uint8_t>();
    const std::int64_t n = pred.numel();
    // Private counts per chunk, summed at the end: integer sums, so the order does not matter.
    std::vector<std::int64_t> counts(static_cast<std::size_t>(C) * C, 0);
    std::int64_t bad_index = -1;
#pragma omp parallel
    {
        std::vector<std::int64_t> local(static_cast<std::size_t>(C) * C, 0);
        std::int64_t local_bad = -1;
#pragma omp for schedule(static) nowait
        for (std::int64_t i = 0; i < n; ++i) {
            const int ti = t[i];
            if (ti == kUnlabelled) continue;
            const int pi = p[i];
            if (ti >= C || pi >= C) {
                if (local_bad < 0) local_bad = i;
                continue;
            }
            ++local[static_cast<std::size_t>(ti) * C + pi];
        }
#pragma omp critical
        {
            for (std::size_t k = 0; k < local.size(); ++k) counts[k] += local[k];
            if (local_bad >= 0 && (bad_index < 0 || local_bad < bad_index)) bad_index = local_bad;
        }
    }
    // Out-of-range classes are refused (a caller bug: labels must be < C or 255), as the reference
    // does; the CUDA kernel cannot throw and skips such pixels instead.
    if (bad_index >= 0)
        PFCE_THROW(ShapeError, "confusion_accumulate: pixel ", bad_index, " has truth ",
                   int(t[bad_index]), " / prediction ", int(p[bad_index]), ", expected < ", C,
                   " (or truth 255)");
    std::int32_t* c = confusion.data<std::int32_t>();
    for (std::size_t k = 0; k < counts.size(); ++k) c[k] += static_cast<std::int32_t>(counts[k]);
}

}  // namespace pfce
