// Proximity linking on the CPU, in the pieces the benchmark and tests time and check apart: point
// collection, the uniform-grid pair search, segment rasterization into a per-pixel class bitmask,
// and the resolve pass (DESIGN §2). CpuBackend::link (link.cpp) strings them together per image.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/kernels/link.hpp"
#include "core/op_params.hpp"

namespace pfce::link {

// A labelled pixel. cls < kMaxClasses.
struct LinkPoint {
    std::int32_t y, x, cls;
};

// An unordered same-class pair, as indices into the point array the finder was given (or
// reordered). Either end may come first: the rasterizer draws from the lexicographically smaller.
struct LinkPair {
    std::uint32_t a, b;
};

// Labelled pixels of one (H,W) label map in row-major order. A value that is neither 255 nor a
// class below kMaxClasses is an InputError naming the pixel and the value (`what` names the map).
void collect_points(const std::uint8_t* labels, int height, int width, std::vector<LinkPoint>& out,
                    const char* what = "label map");

// Scratch reused across images by the grid pair search (no allocation once warmed up).
struct GridScratch {
    std::vector<LinkPoint> tmp;
    std::vector<std::int32_t> cell_of;     // cell index of each point within its class
    std::vector<std::int32_t> cell_start;  // counting-sort offsets, one class at a time
    std::vector<std::int32_t> class_start;
};

// The side of find_pairs_grid's cells for a radius: at least the radius, so partners are
// neighbours, and at least 8, so a tiny D keeps the cell table small.
inline int link_cell_side(int radius) {
    return radius > 8 ? radius : 8;
}

// Every unordered same-class pair with dx²+dy² <= radius², each exactly once. Reorders `points` by
// (class, cell, row-major) (a counting sort); pairs index into the reordered array. Cells are
// link_cell_side(radius) pixels wide, so a partner is always in the 3x3 neighbourhood; each point
// scans only the forward half of it (its own cell after itself, the cell to the right, the three
// below). Pairs come out in order of their `a`, so of (class, cell row of `a`); `b` lies in the
// same cell row or the next.
//
// With `drain`, pairs are handed to it whenever `pairs` holds drain_at or more, and `pairs` is
// cleared: what is left at the end is the last part. Memory is then bounded whatever the density
// (one 6000x6000 tile at radius 60 had 5.8 GB of pairs at once). The pairs handed on index points
// already in their final place (the classes sorted so far).
void find_pairs_grid(std::vector<LinkPoint>& points, int height, int width, int radius,
                     std::vector<LinkPair>& pairs, GridScratch& scratch,
                     const std::function<void(const std::vector<LinkPair>&)>& drain = {},
                     std::size_t drain_at = 0);

// Pairs link_image draws at a time: 8 MiB of them. Drawn by several threads (CpuBackend::link of
// one image), four times as many: a part spans the rows its pairs lie in (they come class by
// class, row by row), and 1M pairs of a 6000x6000 tile at radius 20 spanned a few dozen strips,
// too few to share evenly between two threads (1.3x; 4M: 1.5x).
inline constexpr std::size_t kLinkPairChunk = std::size_t{1} << 20;

// Draws each pair's segment (from its lexicographically smaller end) into cover, OR-ing bit cls.
// With rgb (planar (3,H,W)) and max_color_step >= 0, a segment failing the edge-aware test
// (kernels::segment_colour_ok) is skipped. Returns the number of segments drawn. cover is (H,W),
// not cleared here.
std::int64_t rasterize_pairs(const LinkPoint* points, const LinkPair* pairs, std::size_t n_pairs,
                             int height, int width, const std::uint8_t* rgb, float max_color_step,
                             std::uint32_t* cover);

// rasterize_pairs by `threads` OpenMP threads at once, the same pixels, for pairs as
// find_pairs_grid hands them on (in order of (class, cell row of `a`)): the image is cut into
// strips of whole cell rows, and a pair goes to the strip of its `a`. A segment spans its own cell
// row and the next at most, so strips two apart share no row: the even strips are drawn together,
// then the odd ones, without atomics (each strip's pairs of every class, found by binary search).
// The cover is an OR: the order the segments are drawn in does not matter.
std::int64_t rasterize_pairs_striped(const LinkPoint* points, const LinkPair* pairs,
                                     std::size_t n_pairs, int height, int width, int radius,
                                     const std::uint8_t* rgb, float max_color_step,
                                     std::uint32_t* cover, int threads);

// Resolution (DESIGN §2, kernels::resolve_link_pixel) of every pixel, by `threads` OpenMP threads.
// Returns labelled pixels out.
std::int64_t resolve_links(const std::uint8_t* sparse, const std::uint32_t* cover, std::int64_t n,
                           LinkConflict conflict, std::uint8_t* out, int threads = 1);

// Everything for one image, reusing `scratch`. rgb may be null when edge-aware linking is off.
struct LinkScratch {
    std::vector<LinkPoint> points;
    std::vector<LinkPair> pairs;
    std::vector<std::uint32_t> cover;
    GridScratch grid;
    std::size_t pair_chunk = kLinkPairChunk;  // pairs drawn at a time (tests make it small)
};
// With threads > 1 the drawing and the resolve pass share the image among that many OpenMP threads
// (CpuBackend::link gives them to an image when it has fewer images than threads: a Potsdam tile
// alone), with the same pixels and counts as one thread.
LinkStats link_image(const std::uint8_t* sparse, const std::uint8_t* rgb, int height, int width,
                     const LinkParams& p, std::uint8_t* out, LinkScratch& scratch,
                     const char* what = "label map", int threads = 1);

}  // namespace pfce::link
