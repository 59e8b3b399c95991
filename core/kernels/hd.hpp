// PFCE_HD marks a function callable from host code and from CUDA kernels. Such shared code calls
// the std:: math functions (std::pow, std::log1p, std::sqrt, ...): nvcc compiles them in device
// code to the same CUDA functions (powf, log1pf, ...) the kernels called before the code was
// shared, and on the host they are what the CPU backend calls.
#pragma once

#include <bit>
#include <cstdint>

#if defined(__CUDACC__)
#define PFCE_HD __host__ __device__
#else
#define PFCE_HD
#endif

namespace pfce::kernels {

// Index of the lowest set bit of m != 0.
PFCE_HD inline int lowest_bit(std::uint32_t m) {
#if defined(__CUDA_ARCH__)
    return __ffs(static_cast<int>(m)) - 1;
#else
    return std::countr_zero(m);
#endif
}

}  // namespace pfce::kernels
