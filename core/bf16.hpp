// The element of a DType::bf16 tensor: the high 16 bits of an f32 (sign, the 8 exponent bits, 7
// stored fraction bits). A struct rather than a bare uint16_t so Tensor::data<Bf16>() cannot be
// mistaken for an integer tensor; core/kernels/precision.hpp rounds f32 into it and reads it back,
// the same on the host and in CUDA kernels.
#pragma once

#include <cstdint>

namespace pfce {

struct Bf16 {
    std::uint16_t bits;
};
static_assert(sizeof(Bf16) == 2, "a bf16 tensor element is two bytes");

}  // namespace pfce
