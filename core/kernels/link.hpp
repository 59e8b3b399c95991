// Proximity linking arithmetic that every implementation must agree on bit for bit (DESIGN §2):
// the segment direction, the all-octant Bresenham walk, the edge-aware colour test and the
// per-pixel resolution rule. Used by host/cpu/link.cpp, cuda/link.cu and host/reference.
#pragma once

#include <cstdint>
#include <type_traits>

#include "core/kernels/hd.hpp"
#include "core/op_params.hpp"

namespace pfce::kernels {

// (y0,x0) < (y1,x1) in row-major (lexicographic) order: segments are drawn from the smaller end.
PFCE_HD inline bool point_before(int y0, int x0, int y1, int x1) {
    return y0 < y1 || (y0 == y1 && x0 < x1);
}

// The all-octant integer Bresenham of DESIGN §2, endpoints included, walked from (y0,x0). plot(y,
// x) is called for every pixel in order; a plot that returns bool stops the walk by returning
// false.
template <typename Plot>
PFCE_HD inline void bresenham(int y0, int x0, int y1, int x1, Plot&& plot) {
    const int dx = x1 > x0 ? x1 - x0 : x0 - x1;
    const int dy = -(y1 > y0 ? y1 - y0 : y0 - y1);
    const int sx = x0 < x1 ? 1 : -1;
    const int sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    for (;;) {
        if constexpr (std::is_same_v<decltype(plot(y0, x0)), bool>) {
            if (!plot(y0, x0)) return;
        } else {
            plot(y0, x0);
        }
        if (y0 == y1 && x0 == x1) return;
        const int e2 = 2 * err;
        if (e2 >= dy) {
            err += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            err += dx;
            y0 += sy;
        }
    }
}

// 4·T² for the edge-aware test below, in double so every implementation compares the same value.
PFCE_HD inline double colour_limit(float max_color_step) {
    return 4.0 * static_cast<double>(max_color_step) * static_cast<double>(max_color_step);
}

// Edge-aware test: true when no pixel p of the segment (y0,x0)->(y1,x1) (canonical direction)
// differs from the mean RGB of its endpoints a, b by more than T (Euclidean). Integer form,
// exact: sum_c (2p - a - b)² <= 4·T² (limit = colour_limit(T)). rgb is one image, planar (3,H,W).
PFCE_HD inline bool segment_colour_ok(const std::uint8_t* rgb, long long plane, int width, int y0,
                                      int x0, int y1, int x1, double limit) {
    const long long ia = static_cast<long long>(y0) * width + x0;
    const long long ib = static_cast<long long>(y1) * width + x1;
    int sum[3];
    for (int c = 0; c < 3; ++c)
        sum[c] = static_cast<int>(rgb[c * plane + ia]) + static_cast<int>(rgb[c * plane + ib]);
    bool ok = true;
    bresenham(y0, x0, y1, x1, [&](int y, int x) {
        const long long i = static_cast<long long>(y) * width + x;
        int d2 = 0;
        for (int c = 0; c < 3; ++c) {
            const int d = 2 * static_cast<int>(rgb[c * plane + i]) - sum[c];
            d2 += d * d;
        }
        if (static_cast<double>(d2) > limit) ok = false;
        return ok;  // the first pixel off the limit decides
    });
    return ok;
}

// Resolution of one pixel (DESIGN §2): a labelled pixel keeps its label; an unlabelled one covered
// by segments of exactly one class (cover: a bit per class) takes it; by several, 255 or, with
// `lowest`, the lowest class.
PFCE_HD inline std::uint8_t resolve_link_pixel(std::uint8_t sparse, std::uint32_t cover,
                                               bool lowest) {
    if (sparse != kUnlabelled) return sparse;
    if (cover != 0 && ((cover & (cover - 1)) == 0 || lowest))
        return static_cast<std::uint8_t>(lowest_bit(cover));
    return kUnlabelled;
}

}  // namespace pfce::kernels
