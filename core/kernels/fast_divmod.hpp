// Division by a divisor fixed for a whole launch (an image's pixel count, a row length) as one
// high multiply, an add and a shift, instead of a 32- or 64-bit division per element: the
// Granlund-Montgomery "round-up" method (as in CUTLASS's FastDivmod), exact for every 32-bit
// dividend because the add is done in 64 bits. Built on the host, used on the host and in kernels,
// so tests check it against / and % on the CPU.
#pragma once

#include <cstdint>

#include "core/kernels/hd.hpp"

namespace pfce::kernels {

struct FastDivmod {
    std::uint32_t divisor = 1;
    std::uint32_t multiplier = 0;
    std::uint32_t shift = 0;

    FastDivmod() = default;
    // divisor >= 1. shift = ceil(log2 divisor), multiplier = floor(2^32 (2^shift - d) / d) + 1.
    explicit FastDivmod(std::uint32_t d) : divisor(d) {
        while ((std::uint64_t{1} << shift) < d) ++shift;
        multiplier = static_cast<std::uint32_t>(
            ((std::uint64_t{1} << 32) * ((std::uint64_t{1} << shift) - d)) / d + 1);
    }

    PFCE_HD std::uint32_t div(std::uint32_t n) const {
#if defined(__CUDA_ARCH__)
        const std::uint64_t hi = __umulhi(n, multiplier);
#else
        const std::uint64_t hi = (std::uint64_t{n} * multiplier) >> 32;
#endif
        return static_cast<std::uint32_t>((hi + n) >> shift);
    }
    // quotient = n / divisor, remainder = n % divisor.
    PFCE_HD void divmod(std::uint32_t n, std::uint32_t& quotient, std::uint32_t& remainder) const {
        quotient = div(n);
        remainder = n - quotient * divisor;
    }
};

}  // namespace pfce::kernels
