// The CpuBackend::scratch slots of the op files: each kind of buffer owns a slot, so ops never
// hand one another's data a buffer that is still in use.
#pragma once

#include <cstddef>

namespace pfce::cpu {

constexpr std::size_t kDnnlSlot = 0;    // reorder buffers + oneDNN scratchpad (conv, upconv)
constexpr std::size_t kReduceSlot = 1;  // per-block partial sums (batchnorm.cpp)

}  // namespace pfce::cpu
