// The eight symmetries of a square (flips and 90-degree rotations, the dihedral group D4) as pixel
// maps, for augmenting aerial images, which have no "up". A transform maps every output pixel to
// the source pixel it copies, so an image and its masks stay aligned by construction.
#pragma once

#include <cstdint>

namespace pfce {

// t in 0..7: rotation by (t & 3) quarter turns after a horizontal flip when t >= 4.
// Non-square images allow only t in {0, 2, 4, 6} (rotations by 0 or 180 degrees).
struct D4Transform {
    int t = 0;
    bool allowed_for(int width, int height) const { return width == height || (t & 1) == 0; }
};

// Source (sy, sx) of output pixel (y, x) in a width x height image (square when t is odd).
inline void d4_source(const D4Transform& tr, int width, int height, int y, int x, int& sy,
                      int& sx) {
    const int fx = tr.t >= 4 ? width - 1 - x : x;
    switch (tr.t & 3) {
        case 0:
            sy = y;
            sx = fx;
            break;
        case 1:
            sy = fx;
            sx = width - 1 - y;
            break;
        case 2:
            sy = height - 1 - y;
            sx = width - 1 - fx;
            break;
        default:
            sy = width - 1 - fx;
            sx = y;
            break;
    }
}

// The transform for sample `index` in `epoch` (uniform over the allowed ones), from
// CounterRng(seed, epoch, index): the same for any thread count, order or batch size.
D4Transform augmentation_for(std::uint64_t seed, int epoch, std::uint64_t index, bool square);

}  // namespace pfce
