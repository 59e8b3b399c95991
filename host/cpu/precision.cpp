// CPU backend: the roundings of the convolution precisions (core/host_backend.hpp round_values)
// on every thread. The precision is fixed per loop so each loop is one branch-free rounding the
// compiler vectorizes; each value is rounded alone, so the bits are those of the serial loop.
#include <cstdint>

#include "core/kernels/precision.hpp"
#include "host/cpu/cpu_backend.hpp"

namespace pfce {
namespace {

template <typename Round>
void round_all(const float* src, float* dst, std::int64_t n, Round round) {
#pragma omp parallel for simd schedule(static)
    for (std::int64_t i = 0; i < n; ++i) dst[i] = round(src[i]);
}

}  // namespace

void CpuBackend::round_values(const float* src, float* dst, std::int64_t n, bool result) const {
    const Precision p = precision();
    if (p == Precision::bf16)
        round_all(src, dst, n, [](float v) { return kernels::round_bf16(v); });
    else if (p == Precision::tf32 && !result)  // tf32 results stay f32
        round_all(src, dst, n, [](float v) { return kernels::round_tf32(v); });
    else if (src != dst)
        round_all(src, dst, n, [](float v) { return v; });
}

}  // namespace pfce
