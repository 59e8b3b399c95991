// Regions of a mask as polygons: 4-connected components, then each component's boundary walked
// edge by edge (crack following) with the region on the right, turning right before left, so two
// pixels of one value that meet only at a corner stay apart, as 4-connectedness has them.
#include "data/polygonize.hpp"

#include <stdexcept>
#include <unordered_map>

namespace pfce {

namespace {

// Directions E, S, W, N: clockwise as seen with y down. Side d of a pixel is its edge walked in
// direction d with the pixel on the right: 0 top, 1 right, 2 bottom, 3 left.
constexpr int kDx[4] = {1, 0, -1, 0}, kDy[4] = {0, 1, 0, -1};
// Where side d of pixel (0, 0) starts: top at (0, 0), right at (1, 0), bottom (1, 1), left (0, 1).
constexpr int kStartX[4] = {0, 1, 1, 0}, kStartY[4] = {0, 0, 1, 1};
// The two pixels ahead of a walk in direction d that has reached corner (x, y), as offsets from
// it: on the right (R) and on the left (L).
constexpr int kRightX[4] = {0, -1, -1, 0}, kRightY[4] = {0, 0, -1, -1};
constexpr int kLeftX[4] = {0, 0, -1, -1}, kLeftY[4] = {-1, 0, 0, -1};

// 4-connected components of equal value, numbered from 0 in the order of their first pixel; -1
// for pixels of value `skip`.
std::vector<std::int32_t> label_components(const LabelMap& m, int skip, std::int32_t& count) {
    const std::size_t n = m.labels.size();
    std::vector<std::int32_t> label(n, -1);
    std::vector<std::uint32_t> stack;  // up to half the pixels of a uniform mask: 4 bytes each
    count = 0;
    for (std::size_t start = 0; start < n; ++start) {
        if (label[start] >= 0 || m.labels[start] == skip) continue;
        const std::uint8_t v = m.labels[start];
        label[start] = count;
        stack.push_back(static_cast<std::uint32_t>(start));
        while (!stack.empty()) {
            const std::size_t i = stack.back();
            stack.pop_back();
            const int x = static_cast<int>(i % m.width), y = static_cast<int>(i / m.width);
            const auto visit = [&](bool inside, std::size_t j) {
                if (inside && label[j] < 0 && m.labels[j] == v) {
                    label[j] = count;
                    stack.push_back(static_cast<std::uint32_t>(j));
                }
            };
            visit(x > 0, i - 1);
            visit(x + 1 < m.width, i + 1);
            visit(y > 0, i - m.width);
            visit(y + 1 < m.height, i + m.width);
        }
        ++count;
    }
    return label;
}

// The ring through side `side` of pixel (px, py): the corners where the walk turns, each edge
// walked marked in `walked` (a bit a side).
RingCorners walk_ring(const LabelMap& m, std::vector<std::uint8_t>& walked, int px, int py,
                      int side) {
    const std::uint8_t v = m.at(py, px);
    const auto in = [&](int x, int y) {
        return x >= 0 && y >= 0 && x < m.width && y < m.height && m.at(y, x) == v;
    };
    RingCorners ring;
    int x = px, y = py, d = side;
    do {
        walked[static_cast<std::size_t>(y) * m.width + x] |= static_cast<std::uint8_t>(1u << d);
        const int cx = x + kStartX[d] + kDx[d], cy = y + kStartY[d] + kDy[d];  // the edge's end
        const int rx = cx + kRightX[d], ry = cy + kRightY[d];
        const int lx = cx + kLeftX[d], ly = cy + kLeftY[d];
        int next = d;
        if (!in(rx, ry)) {
            next = (d + 1) & 3;  // around this pixel's corner (also where only L is in: apart)
        } else if (in(lx, ly)) {
            next = (d + 3) & 3;  // into the corner the region wraps
            x = lx;
            y = ly;
        } else {
            x = rx;  // straight on, along the next pixel
            y = ry;
        }
        if (next != d) ring.push_back({cx, cy});
        d = next;
    } while (x != px || y != py || d != side);
    return ring;
}

// A ring that passes a corner twice (a region touching itself there) cut into rings that do not:
// each loop between two visits of a corner becomes a ring of its own.
std::vector<RingCorners> simple_rings(const RingCorners& ring) {
    std::vector<RingCorners> out;
    RingCorners kept;
    std::unordered_map<std::uint64_t, std::size_t> at;  // a corner's place in `kept`
    const auto key = [](const std::array<std::int32_t, 2>& p) {
        return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(p[0])) << 32) |
               static_cast<std::uint32_t>(p[1]);
    };
    for (const auto& p : ring) {
        const auto found = at.find(key(p));
        if (found == at.end()) {
            at.emplace(key(p), kept.size());
            kept.push_back(p);
            continue;
        }
        // kept[found..] closes at p: a ring of its own; p stays in the one that goes on.
        RingCorners loop(kept.begin() + static_cast<std::ptrdiff_t>(found->second), kept.end());
        for (std::size_t k = 1; k < loop.size(); ++k) at.erase(key(loop[k]));
        kept.resize(found->second + 1);
        out.push_back(std::move(loop));
    }
    out.push_back(std::move(kept));
    return out;
}

}  // namespace

std::int64_t twice_signed_area(const RingCorners& ring) {
    std::int64_t sum = 0;
    for (std::size_t i = 0; i < ring.size(); ++i) {
        const auto& a = ring[i];
        const auto& b = ring[(i + 1) % ring.size()];
        sum += std::int64_t{a[0]} * b[1] - std::int64_t{b[0]} * a[1];
    }
    return sum;
}

std::vector<MaskRegion> polygonize_mask(const LabelMap& mask, int skip,
                                        const std::vector<std::uint8_t>& confidence) {
    if (!confidence.empty() && confidence.size() != mask.labels.size())
        throw std::invalid_argument("polygonize_mask: a confidence a pixel expected");
    if (mask.labels.size() > kMaxPolygonizedPixels)
        throw std::length_error("polygonize_mask: more than 2^31 - 1 pixels");
    std::int32_t count = 0;
    const std::vector<std::int32_t> label = label_components(mask, skip, count);
    std::vector<MaskRegion> regions(static_cast<std::size_t>(count));
    for (std::size_t i = 0; i < label.size(); ++i) {
        if (label[i] < 0) continue;
        MaskRegion& r = regions[static_cast<std::size_t>(label[i])];
        if (r.pixels++ == 0) {
            r.first = static_cast<std::int64_t>(i);
            r.value = mask.labels[i];
        }
        if (!confidence.empty()) r.confidence_sum += confidence[i];
    }
    std::vector<std::uint8_t> walked(mask.labels.size(), 0);
    for (int y = 0; y < mask.height; ++y)
        for (int x = 0; x < mask.width; ++x) {
            const std::size_t i = static_cast<std::size_t>(y) * mask.width + x;
            if (label[i] < 0) continue;
            for (int side = 0; side < 4; ++side) {
                if (walked[i] & (1u << side)) continue;
                const int nx = x + (side == 1) - (side == 3), ny = y + (side == 2) - (side == 0);
                const bool edge = nx < 0 || ny < 0 || nx >= mask.width || ny >= mask.height ||
                                  mask.at(ny, nx) != mask.labels[i];
                if (!edge) continue;
                MaskRegion& r = regions[static_cast<std::size_t>(label[i])];
                for (RingCorners& ring : simple_rings(walk_ring(mask, walked, x, y, side)))
                    (twice_signed_area(ring) > 0 ? r.outer : r.holes).push_back(std::move(ring));
            }
        }
    return regions;
}

}  // namespace pfce
