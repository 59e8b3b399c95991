// exp(x) for -87 <= x <= 0 in plain float arithmetic that the compiler vectorizes, shared by the
// CPU backend's fused losses (focal_loss.cpp, crf_loss.cpp): libm's expf is one call per element
// and dominated their loops.
#pragma once

#include <cstdint>
#include <cstring>

namespace pfce::cpu {

// Callers clamp x to [-87, 0]. Cephes' range reduction and degree-6 polynomial, about 1 ulp;
// x = -87 gives exactly 0, standing for everything below.
inline float exp_clamped(float x) {
    const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round(x / ln 2)
    float r = x - n * 0.693359375f;  // x - n ln 2 in two steps (Cody-Waite)
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const std::int32_t biased = static_cast<std::int32_t>(n) + 127;  // n in [-126, 0]
    const std::int32_t bits = (x <= -87.0f ? 0 : biased) << 23;      // 2^n, or +0
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

}  // namespace pfce::cpu
