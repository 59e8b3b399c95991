// The roundings of the convolution precisions (core/op_params.hpp Precision), shared bit for bit
// by the CPU twin (host/cpu, host/reference) and the CUDA conversion kernels
// (cuda/conv_staging.cu): f32 -> bf16 (8 significant bits) and f32 -> TF32 (11 significant bits),
// each round to nearest, ties to even, on the bits, so subnormals, infinities and overflow come out
// as IEEE rounding gives them and a NaN stays a (quiet) NaN.
#pragma once

#include <cstdint>

#include "core/bf16.hpp"
#include "core/kernels/hd.hpp"
#include "core/op_params.hpp"

namespace pfce::kernels {

PFCE_HD inline std::uint32_t float_bits(float f) {
#if defined(__CUDA_ARCH__)
    return __float_as_uint(f);
#else
    return std::bit_cast<std::uint32_t>(f);
#endif
}

PFCE_HD inline float bits_float(std::uint32_t u) {
#if defined(__CUDA_ARCH__)
    return __uint_as_float(u);
#else
    return std::bit_cast<float>(u);
#endif
}

// f32 with its low `drop` bits rounded away (to nearest, ties to even); a NaN keeps its sign and
// high payload bits and is made quiet, so it cannot round to an infinity. A finite value that
// rounds past the largest finite one becomes an infinity, as IEEE rounding has it.
PFCE_HD inline std::uint32_t round_low_bits(std::uint32_t u, int drop) {
    const std::uint32_t low = (1u << drop) - 1u;
    if ((u & 0x7fffffffu) > 0x7f800000u) return (u | 0x00400000u) & ~low;
    return (u + (low >> 1) + ((u >> drop) & 1u)) & ~low;
}

// The bf16 bits of f (the high half of the rounded f32).
PFCE_HD inline std::uint16_t bf16_bits(float f) {
    return static_cast<std::uint16_t>(round_low_bits(float_bits(f), 16) >> 16);
}
PFCE_HD inline float bf16_to_float(std::uint16_t b) {
    return bits_float(static_cast<std::uint32_t>(b) << 16);
}
// f rounded to bf16: 8 significant bits (7 stored), the f32 exponent range.
PFCE_HD inline float round_bf16(float f) {
    return bits_float(round_low_bits(float_bits(f), 16));
}
// f rounded to TF32: 11 significant bits (10 stored), the f32 exponent range. (Tensor cores may
// truncate instead; tests against a GPU allow either.)
PFCE_HD inline float round_tf32(float f) {
    return bits_float(round_low_bits(float_bits(f), 13));
}

// An element of an activation tensor as f32, and f32 stored into one: f32 as it is, bf16
// (DType::bf16 storage) exactly on the way in and rounded by bf16_bits on the way out. Kernels
// templated on the element type read and write through these, so a bf16 op computes in f32 and
// rounds only where it stores, on the GPU and in its CPU twin alike.
PFCE_HD inline float load_value(const float* p) {
    return *p;
}
PFCE_HD inline float load_value(const Bf16* p) {
    return bf16_to_float(p->bits);
}
PFCE_HD inline void store_value(float* p, float v) {
    *p = v;
}
PFCE_HD inline void store_value(Bf16* p, float v) {
    p->bits = bf16_bits(v);
}

// A factor of a convolution's products at precision p (fp32: unchanged).
PFCE_HD inline float round_operand(Precision p, float f) {
    return p == Precision::bf16 ? round_bf16(f) : p == Precision::tf32 ? round_tf32(f) : f;
}
// A convolution's result at precision p: bf16 results are stored rounded to bf16; tf32 and fp32
// results are f32.
PFCE_HD inline float round_result(Precision p, float f) {
    return p == Precision::bf16 ? round_bf16(f) : f;
}

}  // namespace pfce::kernels
