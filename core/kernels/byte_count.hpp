// How many of the four bytes of a 32-bit word equal a given byte, without looking at the bytes one
// by one: the label count of the focal loss's two_launch variant (cuda/focal_loss.cu) reads 16
// labels a load and counts each class in them with four of these, where a byte per thread and a
// warp ballot per class and byte kept its count kernel at 7% of DRAM bandwidth (H100 run,
// bench/results/2026-12-06-h100-d23e679). Shared so the CPU tests check it against the obvious
// loop on the words that break such tricks (0x00, 0x7f, 0x80, 0xff bytes beside each other).
#pragma once

#include <bit>
#include <cstdint>

#include "core/kernels/hd.hpp"

namespace pfce::kernels {

PFCE_HD inline int popcount32(std::uint32_t v) {
#if defined(__CUDA_ARCH__)
    return __popc(v);
#else
    return std::popcount(v);
#endif
}

// The bytes of `word` equal to `byte` (0..255), exactly: x has a zero byte where they are equal;
// (x & 0x7f..) + 0x7f.. sets a byte's high bit iff its low 7 bits are not all zero, and or-ing x
// itself in adds the bytes whose high bit is set, so the high bits left clear after ~ mark exactly
// the zero bytes (no carry crosses a byte: each sum is at most 0x7f + 0x7f).
PFCE_HD inline int count_bytes_equal(std::uint32_t word, std::uint32_t byte) {
    const std::uint32_t x = word ^ (byte * 0x01010101u);
    const std::uint32_t t = (x & 0x7f7f7f7fu) + 0x7f7f7f7fu;
    return popcount32(~(t | x | 0x7f7f7f7fu));
}

// n bytes from `address` as 16-byte loads: `head` bytes before the first 16-byte boundary (fewer
// than 16, and no more than n), `n16` whole 16-byte words, `tail` bytes after them (fewer than 16).
// two_launch's label count reads the words with uint4 loads and the few bytes around them one by
// one, so labels at any address (a view into a larger buffer) take the fast count.
struct Aligned16Split {
    long long head, n16, tail;
};
PFCE_HD inline Aligned16Split split_for_16_byte_loads(std::uintptr_t address, long long n) {
    long long head = static_cast<long long>((16 - address % 16) % 16);
    if (head > n) head = n;
    const long long n16 = (n - head) / 16;
    return {head, n16, n - head - 16 * n16};
}

}  // namespace pfce::kernels
