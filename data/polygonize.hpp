// A mask's regions as polygons: each 4-connected region of one pixel value becomes a polygon whose
// rings follow the pixels' edges (as gdal_polygonize draws them, at its default 4-connectedness),
// in pixel-corner coordinates: x to the right, y down, pixel (c, r) the unit square from (c, r) to
// (c + 1, r + 1). Rings are simple (a region that touches itself at a corner is written as an outer
// ring and a hole that meets it there, as OGC's simple features require), each vertex a corner
// (no vertex midway along a straight edge). Rasterizing the polygons at the pixels' centres gives
// the mask back: the tests hold them to that.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "data/image.hpp"

namespace pfce {

using RingCorners = std::vector<std::array<std::int32_t, 2>>;  // (x, y), closed implicitly

struct MaskRegion {
    std::uint8_t value = 0;            // the mask's pixel value in the region
    std::int64_t pixels = 0;           // its area in pixels
    std::int64_t first = 0;            // its first pixel in row order (y * width + x)
    std::vector<RingCorners> outer;    // one outer ring (more only for a degenerate input)
    std::vector<RingCorners> holes;    // rings of the pixels it encloses
    std::uint64_t confidence_sum = 0;  // polygonize_mask's `confidence` summed over its pixels
};

// The most pixels a mask may have (regions are numbered in 32 bits): callers refuse larger ones.
inline constexpr std::size_t kMaxPolygonizedPixels = 2147483647;

// Every region of `mask` whose value is not `skip` (pixels without data), in the order of their
// first pixel. `confidence` (empty, or a byte a pixel) is summed per region. Outer rings run
// clockwise as seen with y down (positive shoelace area in these coordinates), holes the other way.
std::vector<MaskRegion> polygonize_mask(const LabelMap& mask, int skip,
                                        const std::vector<std::uint8_t>& confidence = {});

// Twice the signed area of a ring by the shoelace formula (positive: an outer ring).
std::int64_t twice_signed_area(const RingCorners& ring);

}  // namespace pfce
