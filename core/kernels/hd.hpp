// PFCE_HD marks a function callable from host code and from CUDA kernels, and the few libm
// functions such shared code calls, one name for float and double. They resolve to the functions
// each side used before the code was shared (std::pow(float, float) is powf on the host), so
// moving arithmetic here changes no result.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define PFCE_HD __host__ __device__
#else
#define PFCE_HD
#endif

namespace pfce::kernels {

PFCE_HD inline float hd_pow(float x, float y) {
    return powf(x, y);
}
PFCE_HD inline double hd_pow(double x, double y) {
    return pow(x, y);
}
PFCE_HD inline float hd_log(float x) {
    return logf(x);
}
PFCE_HD inline double hd_log(double x) {
    return log(x);
}
PFCE_HD inline float hd_log1p(float x) {
    return log1pf(x);
}
PFCE_HD inline double hd_log1p(double x) {
    return log1p(x);
}
PFCE_HD inline float hd_sqrt(float x) {
    return sqrtf(x);
}
PFCE_HD inline double hd_sqrt(double x) {
    return sqrt(x);
}
PFCE_HD inline bool hd_isnan(float x) {
#if defined(__CUDA_ARCH__)
    return isnan(x);
#else
    return std::isnan(x);
#endif
}

// Index of the lowest set bit of m != 0.
PFCE_HD inline int lowest_bit(std::uint32_t m) {
#if defined(__CUDA_ARCH__)
    return __ffs(static_cast<int>(m)) - 1;
#else
    return std::countr_zero(m);
#endif
}

}  // namespace pfce::kernels
