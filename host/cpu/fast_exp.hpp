// exp(x) for -87 <= x <= 0 (and log of a normal float) in plain float arithmetic that the compiler
// vectorizes, shared by the CPU backend's fused losses (focal_loss.cpp, crf_loss.cpp): libm's expf
// and logf are one call per element and dominated their loops.
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

// log(x) for a positive, finite, normal x in plain float arithmetic that the compiler vectorizes:
// Cephes' logf (frexp by bit manipulation, degree-8 polynomial), about 1 ulp.
inline float log_normal(float x) {
    std::int32_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    const std::int32_t e0 = ((bits >> 23) & 0xff) - 126;  // x = m * 2^e0, m in [0.5, 1)
    bits = (bits & 0x007fffff) | 0x3f000000;
    float m;
    std::memcpy(&m, &bits, sizeof m);
    const bool low = m < 0.707106781186547524f;
    const float e = static_cast<float>(e0 - static_cast<std::int32_t>(low));
    const float m_low = (m + m) - 1.0f, m_high = m - 1.0f;  // exact; both, so no branch
    m = low ? m_low : m_high;
    const float z = m * m;
    float y = 7.0376836292e-2f;
    y = y * m - 1.1514610310e-1f;
    y = y * m + 1.1676998740e-1f;
    y = y * m - 1.2420140846e-1f;
    y = y * m + 1.4249322787e-1f;
    y = y * m - 1.6668057665e-1f;
    y = y * m + 2.0000714765e-1f;
    y = y * m - 2.4999993993e-1f;
    y = y * m + 3.3333331174e-1f;
    y = y * m * z;
    y += -2.12194440e-4f * e;
    y += -0.5f * z;
    return (m + y) + 0.693359375f * e;
}

}  // namespace pfce::cpu
