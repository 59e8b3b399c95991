// The CPU backend: every op of core/backend.hpp, made fast on the CPU (BLAS for the GEMM inside
// convolution, OpenMP across images/channels, vectorized loops). Tested against the plain loops of
// host/reference/. Each op family lives in its own file here (focal_loss.cpp, conv.cpp, ...),
// mirrored by cuda/.
#pragma once

#include <vector>

#include "core/backend.hpp"

namespace pfce {

class CpuBackend final : public Backend {
  public:
    CpuBackend();
#include "core/backend_overrides.inc"

    // Scratch for conv.cpp / upconv.cpp (im2col columns, per-thread partial sums): slot `slot`
    // grown to at least `floats` and kept, so a warmed-up training step allocates nothing.
    float* scratch(std::size_t slot, std::size_t floats);

  private:
    std::vector<std::vector<float>> scratch_;
};

}  // namespace pfce
