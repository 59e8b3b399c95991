// Per-channel sum over (N,H,W) of an NCHW tensor, accumulated in double in a fixed order: the bias
// gradient of every convolution-like op (conv2d, upconv2x2) on the CPU.
#pragma once

#include <cstdint>

namespace pfce {

// out[c] = sum over n, i of x[(n*C + c)*hw + i]; x is (N,C,hw), out is (C).
inline void channel_sum_nchw(const float* x, std::int64_t n, std::int64_t c, std::int64_t hw,
                             float* out) {
#pragma omp parallel for schedule(static)
    for (std::int64_t o = 0; o < c; ++o) {
        double s = 0.0;
        for (std::int64_t img = 0; img < n; ++img) {
            const float* d = x + (img * c + o) * hw;
            for (std::int64_t i = 0; i < hw; ++i) s += d[i];
        }
        out[o] = static_cast<float>(s);
    }
}

}  // namespace pfce
