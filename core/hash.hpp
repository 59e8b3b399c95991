// FNV-1a, 64 bits: a stable hash of bytes (the same on every platform and release), for checksums
// and cache keys, not for security.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pfce {

inline std::uint64_t fnv1a64(const void* data, std::size_t n,
                             std::uint64_t h = 0xcbf29ce484222325ULL) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    for (std::size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

}  // namespace pfce
