// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011). A draw is a pure function of
// (seed, stream ids, index), so results never depend on thread count, batch order or device.
// Header-only and usable from CUDA kernels.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

#include "core/kernels/hd.hpp"

namespace pfce {

struct PhiloxBlock {
    std::uint32_t v[4];
};

PFCE_HD inline PhiloxBlock philox4x32_10(std::uint64_t key, std::uint32_t c0, std::uint32_t c1,
                                         std::uint32_t c2, std::uint32_t c3) {
    std::uint32_t k0 = static_cast<std::uint32_t>(key), k1 = static_cast<std::uint32_t>(key >> 32);
    for (int round = 0; round < 10; ++round) {
        std::uint64_t p0 = static_cast<std::uint64_t>(0xD2511F53u) * c0;
        std::uint64_t p1 = static_cast<std::uint64_t>(0xCD9E8D57u) * c2;
        std::uint32_t hi0 = static_cast<std::uint32_t>(p0 >> 32),
                      lo0 = static_cast<std::uint32_t>(p0);
        std::uint32_t hi1 = static_cast<std::uint32_t>(p1 >> 32),
                      lo1 = static_cast<std::uint32_t>(p1);
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return PhiloxBlock{{c0, c1, c2, c3}};
}

// A sequential stream of draws identified by (seed, stream_a, stream_b); draw i of a stream is
// always the same value. Typical ids: (image id, class) for sampling, (epoch, index) for
// augmentation.
class CounterRng {
  public:
    PFCE_HD CounterRng(std::uint64_t seed, std::uint32_t stream_a, std::uint32_t stream_b = 0)
        : seed_(seed), a_(stream_a), b_(stream_b) {}

    PFCE_HD std::uint32_t next_u32() {
        if (lane_ == 4) {
            block_ = philox4x32_10(seed_, a_, b_, static_cast<std::uint32_t>(index_),
                                   static_cast<std::uint32_t>(index_ >> 32));
            ++index_;
            lane_ = 0;
        }
        return block_.v[lane_++];
    }
    PFCE_HD std::uint64_t next_u64() {
        std::uint64_t hi = next_u32();
        return (hi << 32) | next_u32();
    }
    // Uniform in [0, 1) with 53 random bits.
    PFCE_HD double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
    // Uniform integer in [0, n), unbiased (Lemire's multiply-and-reject); n > 0.
    PFCE_HD std::uint32_t below(std::uint32_t n) {
        std::uint64_t m = static_cast<std::uint64_t>(next_u32()) * n;
        std::uint32_t low = static_cast<std::uint32_t>(m);
        if (low < n) {
            std::uint32_t threshold = static_cast<std::uint32_t>(-n) % n;
            while (low < threshold) {
                m = static_cast<std::uint64_t>(next_u32()) * n;
                low = static_cast<std::uint32_t>(m);
            }
        }
        return static_cast<std::uint32_t>(m >> 32);
    }
    // Standard normal (Box-Muller; one value per call, the pair's second half is discarded so a
    // stream's i-th normal does not depend on how many uniforms were drawn before).
    PFCE_HD double normal() {
        double u1 = uniform(), u2 = uniform();
        if (u1 < 1e-300) u1 = 1e-300;
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }

  private:
    std::uint64_t seed_;
    std::uint32_t a_, b_;
    std::uint64_t index_ = 0;
    int lane_ = 4;
    PhiloxBlock block_{};
};

}  // namespace pfce
