// He (Kaiming normal, fan_in mode, gain sqrt(2)) initialization from a seed. Values are drawn on
// the host from the counter-based RNG, one stream per tensor, then copied to the backend, so the
// same seed gives bit-identical weights on the CPU and on the GPU.
#pragma once

#include <cstdint>

#include "core/backend.hpp"

namespace pfce {

// w <- N(0, 2 / fan_in) element by element from CounterRng(seed, kHeInitStream, stream).
void he_normal_init(Backend& b, Tensor& w, std::int64_t fan_in, std::uint64_t seed,
                    std::uint32_t stream);

}  // namespace pfce
