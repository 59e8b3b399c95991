// FNV-1a, 64 bits: a stable hash of bytes (the same on every platform and release), for checksums
// and cache keys, not for security.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

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

// A hash as the 16 lowercase hex digits files and fingerprints record.
inline std::string hex64(std::uint64_t h) {
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    return hex;
}

}  // namespace pfce
