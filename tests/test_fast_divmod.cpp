// kernels::FastDivmod (core/kernels/fast_divmod.hpp) against / and %: every divisor up to 4096
// with dividends around each multiple, powers of two and their neighbours, the largest divisors,
// and random 32-bit dividends. The kernels take image and pixel indices from it, so an off-by-one
// here would move a gradient to the wrong pixel.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "core/kernels/fast_divmod.hpp"
#include "core/rng.hpp"

using pfce::kernels::FastDivmod;

namespace {

::testing::AssertionResult divides_like_the_cpu(const FastDivmod& f, std::uint32_t n) {
    std::uint32_t q = 0, r = 0;
    f.divmod(n, q, r);
    if (q == n / f.divisor && r == n % f.divisor) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << n << " / " << f.divisor << ": got " << q << " rem " << r
                                         << ", want " << n / f.divisor << " rem " << n % f.divisor;
}

std::vector<std::uint32_t> interesting_dividends(std::uint32_t d) {
    std::vector<std::uint32_t> n = {0u, 1u, d - 1, d, d + 1, 0x7fffffffu, 0x80000000u, 0xffffffffu};
    for (std::uint64_t m : {std::uint64_t{2}, std::uint64_t{3}, std::uint64_t{1000},
                            (std::uint64_t{1} << 32) / d - 1, (std::uint64_t{1} << 32) / d}) {
        const std::uint64_t x = m * d;
        for (std::int64_t delta : {-1, 0, 1})
            if (x + delta <= 0xffffffffu && static_cast<std::int64_t>(x) + delta >= 0)
                n.push_back(static_cast<std::uint32_t>(x + delta));
    }
    return n;
}

}  // namespace

TEST(FastDivmod, SmallDivisorsNearEveryMultiple) {
    for (std::uint32_t d = 1; d <= 4096; ++d) {
        const FastDivmod f(d);
        for (std::uint32_t n : interesting_dividends(d)) ASSERT_TRUE(divides_like_the_cpu(f, n));
        for (std::uint32_t n = 0; n < 3 * d + 5; ++n) ASSERT_TRUE(divides_like_the_cpu(f, n));
    }
}

TEST(FastDivmod, PowersOfTwoLargeDivisorsAndRandomDividends) {
    std::vector<std::uint32_t> divisors = {300u * 300u,   512u * 512u, 304u * 304u, 1024u * 1024u,
                                           6000u * 6000u, 0x7fffffffu, 0x80000000u, 0x80000001u,
                                           0xfffffffeu,   0xffffffffu};
    for (int s = 0; s < 32; ++s)
        for (std::int64_t delta : {-1, 0, 1}) {
            const std::int64_t d = (std::int64_t{1} << s) + delta;
            if (d >= 1 && d <= 0xffffffffLL) divisors.push_back(static_cast<std::uint32_t>(d));
        }
    pfce::CounterRng rng(7, 1);
    for (int i = 0; i < 200; ++i) divisors.push_back(rng.next_u32() | 1u);
    for (std::uint32_t d : divisors) {
        const FastDivmod f(d);
        for (std::uint32_t n : interesting_dividends(d)) ASSERT_TRUE(divides_like_the_cpu(f, n));
        for (int i = 0; i < 2000; ++i) ASSERT_TRUE(divides_like_the_cpu(f, rng.next_u32()));
    }
}
