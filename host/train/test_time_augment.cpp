#include "host/train/test_time_augment.hpp"

#include "core/enum_names.hpp"
#include "core/error.hpp"
#include "core/text.hpp"

namespace pfce {

int tta_transforms(const std::string& name) {
    if (same_name(name, "none")) return 1;
    if (same_name(name, "flips")) return 4;
    if (same_name(name, "d4")) return 8;
    PFCE_THROW(InputError, "--tta ", quoted_if_unseen(name),
               ": expected none, flips (4 mirrored views) or d4 (8: mirrors and rotations)");
}

const char* tta_name(int transforms) {
    return transforms == 8 ? "d4" : transforms == 4 ? "flips" : "none";
}

void dihedral_forward(const float* src, int h, int w, int t, float* dst) {
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            dst[dihedral_index(y, x, h, w, t)] = src[static_cast<std::size_t>(y) * w + x];
}

void dihedral_add_back(const float* src, int h, int w, int t, float* dst) {
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            dst[static_cast<std::size_t>(y) * w + x] += src[dihedral_index(y, x, h, w, t)];
}

}  // namespace pfce
