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

// 1 - a*b for AdamW's decay factor 1 - lr*wd, which the host used to compute for the kernels and
// they now compute from the lr they read. nvcc contracts a*b + c into one fused multiply-add (one
// rounding) by default; the _rn intrinsics are never contracted, so the GPU rounds the product and
// then the difference, as the CUDA backend's host code (built without FMA instructions) did. The
// host keeps the plain expression, so the CPU backend keeps its bits too: its -march=native build
// fuses it (GCC contracts in C++ by default), as it always has.
PFCE_HD inline float one_minus_product(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fsub_rn(1.0f, __fmul_rn(a, b));
#else
    return 1.0f - a * b;
#endif
}

}  // namespace pfce::kernels
