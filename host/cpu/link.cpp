// Proximity linking, CPU backend (DESIGN §2): per image a uniform-grid pair search, segments
// rasterized into a per-pixel class bitmask (so the result does not depend on pair order), then the
// resolve pass; OpenMP over images, or within an image where there are fewer images than
// threads (a lone Potsdam tile: rasterize_pairs_striped). cuda/link.cu mirrors it and must match it
// bit for bit: the arithmetic both share is core/kernels/link.hpp.
#include <algorithm>
#include <cstdint>
#include <exception>
#include <string>

#include "core/op_checks.hpp"
#include "core/parallel.hpp"
#include "host/cpu/cpu_backend.hpp"
#include "host/cpu/link_grid.hpp"

namespace pfce {
namespace link {

void collect_points(const std::uint8_t* labels, int height, int width, std::vector<LinkPoint>& out,
                    const char* what) {
    out.clear();
    for (int y = 0; y < height; ++y) {
        const std::uint8_t* row = labels + static_cast<std::size_t>(y) * width;
        for (int x = 0; x < width; ++x) {
            const std::uint8_t v = row[x];
            if (v == kUnlabelled) continue;
            if (v >= kMaxClasses)
                PFCE_THROW(InputError, what, ": pixel (y=", y, ", x=", x, ") has label ",
                           static_cast<int>(v), "; expected a class below ", kMaxClasses,
                           " or 255 (unlabelled)");
            out.push_back({y, x, v});
        }
    }
}

void find_pairs_grid(std::vector<LinkPoint>& points, int height, int width, int radius,
                     std::vector<LinkPair>& pairs, GridScratch& sc,
                     const std::function<void(const std::vector<LinkPair>&)>& drain,
                     std::size_t drain_at) {
    pairs.clear();
    const std::size_t n = points.size();
    if (radius <= 0 || n < 2) return;  // D = 0: distinct points are never within distance 0

    // Counting sort by class (stable, so each class stays in row-major order).
    sc.class_start.assign(kMaxClasses + 1, 0);
    for (const LinkPoint& p : points) ++sc.class_start[p.cls + 1];
    for (int c = 0; c < kMaxClasses; ++c) sc.class_start[c + 1] += sc.class_start[c];
    sc.tmp.resize(n);
    {
        std::int32_t cursor[kMaxClasses];
        std::copy(sc.class_start.begin(), sc.class_start.begin() + kMaxClasses, cursor);
        for (const LinkPoint& p : points) sc.tmp[static_cast<std::size_t>(cursor[p.cls]++)] = p;
    }

    // Cells at least radius wide: partners lie in the 3x3 neighbourhood. The floor of 8 keeps the
    // cell table small when D is tiny; D beyond the image gives a single cell.
    const int s = link_cell_side(radius);
    const int gx = (width + s - 1) / s;
    const int gy = (height + s - 1) / s;
    const std::size_t cells = static_cast<std::size_t>(gx) * static_cast<std::size_t>(gy);
    sc.cell_of.resize(n);
    sc.cell_start.resize(cells + 1);
    const std::int64_t r2 = static_cast<std::int64_t>(radius) * radius;

    for (int c = 0; c < kMaxClasses; ++c) {
        const std::int32_t b = sc.class_start[c], e = sc.class_start[c + 1];
        if (e - b < 2) {
            std::copy(sc.tmp.begin() + b, sc.tmp.begin() + e, points.begin() + b);
            continue;
        }
        // Counting sort of this class by cell, into points[b, e).
        std::fill(sc.cell_start.begin(), sc.cell_start.end(), 0);
        for (std::int32_t i = b; i < e; ++i) {
            const LinkPoint& p = sc.tmp[static_cast<std::size_t>(i)];
            ++sc.cell_start[static_cast<std::size_t>((p.y / s) * gx + p.x / s) + 1];
        }
        for (std::size_t k = 0; k < cells; ++k) sc.cell_start[k + 1] += sc.cell_start[k];
        for (std::int32_t i = b; i < e; ++i) {
            const LinkPoint& p = sc.tmp[static_cast<std::size_t>(i)];
            const std::int32_t cell = (p.y / s) * gx + p.x / s;
            const std::int32_t dst = b + sc.cell_start[static_cast<std::size_t>(cell)]++;
            points[static_cast<std::size_t>(dst)] = p;
            sc.cell_of[static_cast<std::size_t>(dst)] = cell;
        }
        // The scatter advanced each start to its end; shift back so cell_start[k] is k's start.
        for (std::size_t k = cells; k > 0; --k) sc.cell_start[k] = sc.cell_start[k - 1];
        sc.cell_start[0] = 0;

        // Branch-free: every candidate is written at the end and kept by advancing the count
        // (whether a candidate is in range is unpredictable). The room is made before each scan.
        auto scan = [&](std::int32_t i, std::int32_t j0, std::int32_t j1) {
            if (j1 <= j0) return;
            const LinkPoint& p = points[static_cast<std::size_t>(i)];
            std::size_t count = pairs.size();
            pairs.resize(count + static_cast<std::size_t>(j1 - j0));
            LinkPair* out = pairs.data();
            for (std::int32_t j = j0; j < j1; ++j) {
                const LinkPoint& q = points[static_cast<std::size_t>(j)];
                const std::int64_t dx = q.x - p.x, dy = q.y - p.y;
                out[count] = {static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(j)};
                count += dx * dx + dy * dy <= r2;
            }
            pairs.resize(count);
        };
        for (std::int32_t i = b; i < e; ++i) {
            const std::int32_t cell = sc.cell_of[static_cast<std::size_t>(i)];
            const int cy = cell / gx, cx = cell % gx;
            const int right = std::min(cx + 1, gx - 1);
            // Own cell after i, then the cell to the right: contiguous in the sorted order.
            scan(i, i + 1, b + sc.cell_start[static_cast<std::size_t>(cy * gx + right) + 1]);
            if (cy + 1 < gy) {  // the three cells below, also contiguous
                const int row = (cy + 1) * gx;
                scan(i, b + sc.cell_start[static_cast<std::size_t>(row + std::max(cx - 1, 0))],
                     b + sc.cell_start[static_cast<std::size_t>(row + right) + 1]);
            }
            if (drain && pairs.size() >= drain_at) {
                drain(pairs);
                pairs.clear();
            }
        }
    }
}

namespace {

// The Bresenham of core/kernels/link.hpp specialised for drawing: a pointer stepped by +-1 and +-W,
// and both step decisions made without branches (they are unpredictable). Same pixels, same order:
// both tests use the same e2, as in DESIGN §2; the walk stays inside the endpoints' bounding box,
// so reaching the end pointer is reaching (y1,x1).
void draw_bits(std::uint32_t* cover, int width, int y0, int x0, int y1, int x1, std::uint32_t bit) {
    const int dx = x1 > x0 ? x1 - x0 : x0 - x1;
    const int dy = -(y1 > y0 ? y1 - y0 : y0 - y1);
    const std::ptrdiff_t step_x = x0 < x1 ? 1 : -1;
    const std::ptrdiff_t step_y = y0 < y1 ? width : -static_cast<std::ptrdiff_t>(width);
    std::uint32_t* p = cover + static_cast<std::ptrdiff_t>(y0) * width + x0;
    std::uint32_t* const end = cover + static_cast<std::ptrdiff_t>(y1) * width + x1;
    int err = dx + dy;
    for (;;) {
        *p |= bit;
        if (p == end) return;
        const int e2 = 2 * err;
        const int mx = -static_cast<int>(e2 >= dy);  // all ones: step x
        const int my = -static_cast<int>(e2 <= dx);  // all ones: step y
        err += (dy & mx) + (dx & my);
        p += (step_x & mx) + (step_y & my);
    }
}

// Bresenham is translation invariant: the pixels of a segment, relative to its first end, depend
// only on (x1-x0, y1-y0). For every canonical offset up to kTableReach in both coordinates (dy >=
// 0; dy = 0 with dx >= 0) this table holds the walk's pixels as index offsets in an image of the
// given width, generated by kernels::bresenham itself, so drawing a short segment is a loop of
// independent read-modify-writes instead of a walk whose every step waits on the previous one.
// Built once per thread and width (radius 20 uses 48 KiB of it; all of it is about 190 KiB).
constexpr int kTableReach = 32;
constexpr int kTableRow = 2 * kTableReach + 1;

struct SegmentTable {
    int width = -1;
    std::vector<std::int32_t> start;  // per offset (dy * kTableRow + dx + kTableReach), +1 sentinel
    std::vector<std::int32_t> off;    // pixel index offsets, dy * width + dx
};

const SegmentTable& segment_table(int width) {
    thread_local SegmentTable t;
    if (t.width == width) return t;
    t.width = width;
    t.start.assign(static_cast<std::size_t>(kTableRow) * (kTableReach + 1) + 1, 0);
    t.off.clear();
    for (int dy = 0; dy <= kTableReach; ++dy)
        for (int dx = -kTableReach; dx <= kTableReach; ++dx) {
            t.start[static_cast<std::size_t>(dy * kTableRow + dx + kTableReach)] =
                static_cast<std::int32_t>(t.off.size());
            if (dy == 0 && dx < 0) continue;  // not canonical: never looked up
            kernels::bresenham(0, 0, dy, dx, [&](int y, int x) {
                t.off.push_back(static_cast<std::int32_t>(y * width + x));
            });
        }
    t.start.back() = static_cast<std::int32_t>(t.off.size());
    return t;
}

}  // namespace

std::int64_t rasterize_pairs(const LinkPoint* points, const LinkPair* pairs, std::size_t n_pairs,
                             int height, int width, const std::uint8_t* rgb, float max_color_step,
                             std::uint32_t* cover) {
    const bool edge_aware = rgb != nullptr && max_color_step >= 0.0f;
    const long long plane = static_cast<long long>(height) * width;
    const double limit = kernels::colour_limit(max_color_step);
    const SegmentTable& table = segment_table(width);
    const std::int32_t* const t_start = table.start.data();
    const std::int32_t* const t_off = table.off.data();
    std::int64_t drawn = 0;
    for (std::size_t k = 0; k < n_pairs; ++k) {
        const LinkPoint* a = &points[pairs[k].a];
        const LinkPoint* b = &points[pairs[k].b];
        if (kernels::point_before(b->y, b->x, a->y, a->x)) std::swap(a, b);
        if (edge_aware &&
            !kernels::segment_colour_ok(rgb, plane, width, a->y, a->x, b->y, b->x, limit))
            continue;
        ++drawn;
        const std::uint32_t bit = 1u << a->cls;
        const int dx = b->x - a->x, dy = b->y - a->y;  // dy >= 0: a is the canonical first end
        if (dy <= kTableReach && dx <= kTableReach && dx >= -kTableReach) {
            const int t = dy * kTableRow + dx + kTableReach;
            std::uint32_t* const base = cover + static_cast<std::ptrdiff_t>(a->y) * width + a->x;
            const std::int32_t* o = t_off + t_start[t];
            const std::int32_t* const e = t_off + t_start[t + 1];
            for (; o < e; ++o) base[*o] |= bit;
        } else {
            draw_bits(cover, width, a->y, a->x, b->y, b->x, bit);
        }
    }
    return drawn;
}

std::int64_t rasterize_pairs_striped(const LinkPoint* points, const LinkPair* pairs,
                                     std::size_t n_pairs, int height, int width, int radius,
                                     const std::uint8_t* rgb, float max_color_step,
                                     std::uint32_t* cover, int threads) {
    // Strips of one cell row, many for the threads to share: a part of the pairs spans only the
    // rows its pairs lie in. (Strip after strip on one thread measured no faster than class
    // after class: that order is kept there.)
    const int side = link_cell_side(radius);
    const int strips = (height + side - 1) / side;
    if (threads <= 1 || strips < 3 || n_pairs == 0)  // strips two apart: none to draw at once
        return rasterize_pairs(points, pairs, n_pairs, height, width, rgb, max_color_step, cover);
    // Each class's run of pairs, and where each strip begins in it (by binary search: a run is in
    // order of the cell row of `a`).
    const std::size_t stride = static_cast<std::size_t>(strips) + 1;
    std::vector<std::size_t> runs;  // per run: stride offsets into pairs
    for (std::size_t b = 0; b < n_pairs;) {
        const std::int32_t cls = points[pairs[b].a].cls;
        const LinkPair* const end = std::partition_point(
            pairs + b, pairs + n_pairs, [&](const LinkPair& q) { return points[q.a].cls == cls; });
        for (int t = 0; t < strips; ++t)
            runs.push_back(static_cast<std::size_t>(
                std::partition_point(pairs + b, end,
                                     [&](const LinkPair& q) { return points[q.a].y / side < t; }) -
                pairs));
        b = static_cast<std::size_t>(end - pairs);
        runs.push_back(b);
    }
    const std::size_t n_runs = runs.size() / stride;
    std::int64_t drawn = 0;
    std::exception_ptr error;  // a thread's first segment table may fail to allocate
    for (int phase = 0; phase < 2 && !error; ++phase) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) reduction(+ : drawn)
        for (int t = phase; t < strips; t += 2) {
            try {
                for (std::size_t r = 0; r < n_runs; ++r) {
                    const std::size_t b = runs[r * stride + static_cast<std::size_t>(t)];
                    const std::size_t e = runs[r * stride + static_cast<std::size_t>(t) + 1];
                    drawn += rasterize_pairs(points, pairs + b, e - b, height, width, rgb,
                                             max_color_step, cover);
                }
            } catch (...) {
#pragma omp critical(pfce_link_strip_error)
                if (!error) error = std::current_exception();
            }
        }
    }
    if (error) std::rethrow_exception(error);
    return drawn;
}

std::int64_t resolve_links(const std::uint8_t* sparse, const std::uint32_t* cover, std::int64_t n,
                           LinkConflict conflict, std::uint8_t* out, int threads) {
    const bool lowest = conflict == LinkConflict::lowest;
    std::int64_t labelled = 0;
#pragma omp parallel for schedule(static) num_threads(threads) reduction(+ : labelled) \
    if (threads > 1)
    for (std::int64_t i = 0; i < n; ++i) {
        const std::uint8_t v = kernels::resolve_link_pixel(sparse[i], cover[i], lowest);
        out[i] = v;
        labelled += v != kUnlabelled;
    }
    return labelled;
}

LinkStats link_image(const std::uint8_t* sparse, const std::uint8_t* rgb, int height, int width,
                     const LinkParams& p, std::uint8_t* out, LinkScratch& sc, const char* what,
                     int threads) {
    LinkStats st;
    collect_points(sparse, height, width, sc.points, what);
    st.points = static_cast<std::int64_t>(sc.points.size());
    const std::int64_t n = static_cast<std::int64_t>(height) * width;
    sc.cover.assign(static_cast<std::size_t>(n), 0u);
    // Drawn in chunks as they are found: the cover is an OR, so the order does not matter.
    const auto draw = [&](const std::vector<LinkPair>& pairs) {
        st.pairs += static_cast<std::int64_t>(pairs.size());
        st.segments += rasterize_pairs_striped(
            sc.points.data(), pairs.data(), pairs.size(), height, width, p.radius,
            p.max_color_step >= 0.0f ? rgb : nullptr, p.max_color_step, sc.cover.data(), threads);
    };
    find_pairs_grid(sc.points, height, width, p.radius, sc.pairs, sc.grid, draw, sc.pair_chunk);
    draw(sc.pairs);
    st.labelled_after = resolve_links(sparse, sc.cover.data(), n, p.conflict, out, threads);
    return st;
}

}  // namespace link

LinkStats CpuBackend::link(const Tensor& sparse, const Tensor& rgb, const LinkParams& p,
                           Tensor& linked) {
    check_link_args(sparse, rgb, p, linked, DeviceKind::cpu);
    const std::int64_t n_img = sparse.dim(0);
    const int h = static_cast<int>(sparse.dim(1)), w = static_cast<int>(sparse.dim(2));
    const bool edge_aware = p.max_color_step >= 0.0f;
    const std::uint8_t* in = sparse.data<std::uint8_t>();
    const std::uint8_t* colours = edge_aware ? rgb.data<std::uint8_t>() : nullptr;
    std::uint8_t* out = linked.data<std::uint8_t>();
    const std::size_t plane = static_cast<std::size_t>(h) * w;

    LinkStats total;
    // One image (a Potsdam tile alone): it shares its drawing and resolve among the threads,
    // with parts of pairs large enough to span many strips. Two or more go one image a thread:
    // the pair search of each is serial, and two images at once beat two after another.
    if (const int threads = openmp_threads(); n_img == 1 && threads > 1 && !in_openmp_parallel()) {
        link::LinkScratch sc;
        sc.pair_chunk = 4 * link::kLinkPairChunk;
        for (std::int64_t i = 0; i < n_img; ++i) {
            const std::string what = "image " + std::to_string(i) + " of the batch";
            const LinkStats s = link::link_image(
                in + static_cast<std::size_t>(i) * plane,
                colours ? colours + static_cast<std::size_t>(i) * 3 * plane : nullptr, h, w, p,
                out + static_cast<std::size_t>(i) * plane, sc, what.c_str(), threads);
            total.points += s.points;
            total.pairs += s.pairs;
            total.segments += s.segments;
            total.labelled_after += s.labelled_after;
        }
        return total;
    }
    std::exception_ptr error;
#pragma omp parallel
    {
        link::LinkScratch sc;
        LinkStats mine;
#pragma omp for schedule(dynamic, 4)
        for (std::int64_t i = 0; i < n_img; ++i) {
            try {
                const std::string what = "image " + std::to_string(i) + " of the batch";
                const LinkStats s = link::link_image(
                    in + static_cast<std::size_t>(i) * plane,
                    colours ? colours + static_cast<std::size_t>(i) * 3 * plane : nullptr, h, w, p,
                    out + static_cast<std::size_t>(i) * plane, sc, what.c_str());
                mine.points += s.points;
                mine.pairs += s.pairs;
                mine.segments += s.segments;
                mine.labelled_after += s.labelled_after;
            } catch (...) {
#pragma omp critical(pfce_link_error)
                if (!error) error = std::current_exception();
            }
        }
#pragma omp critical(pfce_link_stats)
        {
            total.points += mine.points;
            total.pairs += mine.pairs;
            total.segments += mine.segments;
            total.labelled_after += mine.labelled_after;
        }
    }
    if (error) std::rethrow_exception(error);
    return total;
}

}  // namespace pfce
