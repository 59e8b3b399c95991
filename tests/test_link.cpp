// Proximity linking (DESIGN §2): the CPU's grid pair search against the reference's all-pairs
// search, Bresenham against hand-drawn pixels in every octant, order independence, the conflict
// rule, edge-aware linking, GPU vs CPU bit for bit, the mask-directory driver and its cache, and
// coverage/purity on the real Potsdam pair. The whole op against the reference on random batches
// is in the op harness (test_backend_ops.cpp).
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/kernels/link.hpp"
#include "core/rng.hpp"
#include "data/dataset.hpp"
#include "data/linking.hpp"
#include "data/mask_dir.hpp"
#include "data/sparse_sampler.hpp"
#include "host/cpu/link_grid.hpp"
#include "host/reference/reference_ops.hpp"
#include "tests/test_util.hpp"

using namespace pfce;
using namespace pfce::link;
using pfce::kernels::bresenham;
using pfce::kernels::point_before;
using pfce::test::random_rgb;
using pfce::test::random_sparse;

namespace {

using Seg =
    std::tuple<int, int, int, int, int>;  // (cls, y0, x0, y1, x1), (y0,x0) first in row-major

Seg canonical(const LinkPoint& a, const LinkPoint& b) {
    if (point_before(b.y, b.x, a.y, a.x)) return {a.cls, b.y, b.x, a.y, a.x};
    return {a.cls, a.y, a.x, b.y, b.x};
}

// Every unordered same-class pair within radius, from the reference's all-pairs search.
std::multiset<Seg> brute_force_pairs(const Tensor& sparse, int image, int radius) {
    const int h = static_cast<int>(sparse.dim(1)), w = static_cast<int>(sparse.dim(2));
    std::multiset<Seg> out;
    for (const reference::LinkSegment& s : reference::link_segments(
             sparse.data<std::uint8_t>() + static_cast<std::size_t>(image) * h * w, h, w, radius))
        out.insert({s.cls, s.y0, s.x0, s.y1, s.x1});
    return out;
}

std::multiset<Seg> grid_pairs(std::vector<LinkPoint> pts, int h, int w, int radius) {
    std::vector<LinkPair> pairs;
    GridScratch sc;
    find_pairs_grid(pts, h, w, radius, pairs, sc);
    std::multiset<Seg> out;
    for (const LinkPair& p : pairs) out.insert(canonical(pts[p.a], pts[p.b]));
    return out;
}

std::vector<LinkPoint> points_of(const Tensor& sparse, int image) {
    const int h = static_cast<int>(sparse.dim(1)), w = static_cast<int>(sparse.dim(2));
    std::vector<LinkPoint> pts;
    collect_points(sparse.data<std::uint8_t>() + static_cast<std::size_t>(image) * h * w, h, w,
                   pts);
    return pts;
}

std::vector<std::pair<int, int>> draw(int y0, int x0, int y1, int x1) {
    std::vector<std::pair<int, int>> px;
    bresenham(y0, x0, y1, x1, [&](int y, int x) { px.emplace_back(y, x); });
    return px;
}

}  // namespace

// ---- pair search ------------------------------------------------------------------------------

TEST(LinkPairs, GridEqualsBruteForce) {
    struct Case {
        int h, w, classes, points;
    };
    const Case cases[] = {{1, 1, 1, 1},       {7, 13, 2, 40},      {64, 64, 6, 300},
                          {97, 131, 32, 900}, {300, 300, 6, 3000}, {31, 200, 3, 500}};
    const int radii[] = {0, 1, 2, 5, 8, 9, 20, 40, 1000};
    std::uint64_t seed = 0;
    for (const Case& c : cases)
        for (int r : radii) {
            const Tensor sparse = random_sparse(1, c.h, c.w, c.classes, c.points, ++seed);
            const auto pts = points_of(sparse, 0);
            const auto want = brute_force_pairs(sparse, 0, r);
            const auto got = grid_pairs(pts, c.h, c.w, r);
            EXPECT_EQ(got, want) << c.h << "x" << c.w << " classes " << c.classes << " radius " << r
                                 << ": grid " << got.size() << " pairs, brute force "
                                 << want.size();
            if (r == 0) {
                EXPECT_TRUE(got.empty());
            }
        }
}

// The order the striped drawing relies on, in every part the search hands on (small parts that
// begin mid-class, and what is left at the end): pairs in order of (class, cell row of `a`), and
// each segment, drawn alone, writes only rows of the cell row of `a` and the next (so strips of
// one cell row two apart share no pixel).
TEST(LinkPairs, PairsComeOutInOrderOfClassAndCellRow) {
    const int h = 300, w = 170;
    for (const int r : {1, 5, 8, 20, 60}) {
        const Tensor sparse = random_sparse(1, h, w, 6, 2500, 40 + r);
        std::vector<LinkPoint> pts = points_of(sparse, 0);
        std::vector<LinkPair> pairs;
        GridScratch sc;
        const int side = link_cell_side(r);
        std::vector<std::uint32_t> cover(static_cast<std::size_t>(h) * w);
        std::size_t seen = 0, parts = 0;
        auto check = [&](const std::vector<LinkPair>& part) {
            ++parts;
            std::int64_t last = -1;
            for (const LinkPair& q : part) {
                const LinkPoint &a = pts[q.a], &b = pts[q.b];
                ASSERT_EQ(a.cls, b.cls);
                const std::int64_t key = std::int64_t{a.cls} * 1000 + a.y / side;
                ASSERT_GE(key, last) << "radius " << r;
                last = key;
                if (++seen % 29 != 0) continue;  // the rows drawn: of one pair in 29
                std::fill(cover.begin(), cover.end(), 0u);
                rasterize_pairs(pts.data(), &q, 1, h, w, nullptr, -1.0f, cover.data());
                for (std::size_t i = 0; i < cover.size(); ++i)
                    if (cover[i] != 0) {
                        const int y = static_cast<int>(i) / w;
                        ASSERT_GE(y, a.y / side * side) << "radius " << r;
                        ASSERT_LT(y, (a.y / side + 2) * side) << "radius " << r;
                    }
            }
        };
        find_pairs_grid(pts, h, w, r, pairs, sc, check, 37);
        check(pairs);  // the last part
        EXPECT_GT(seen, 20u) << r;
        if (seen > 37) {
            EXPECT_GT(parts, 1u) << r;
        }
    }
}

TEST(LinkPairs, EmptyAndSinglePoint) {
    std::vector<LinkPoint> none;
    EXPECT_TRUE(grid_pairs(none, 10, 10, 5).empty());
    EXPECT_TRUE(grid_pairs({{3, 4, 0}}, 10, 10, 5).empty());
    // Two points exactly at distance D (3-4-5) pair; one step further does not.
    EXPECT_EQ(grid_pairs({{0, 0, 1}, {3, 4, 1}}, 10, 10, 5).size(), 1u);
    EXPECT_EQ(grid_pairs({{0, 0, 1}, {3, 5, 1}}, 10, 10, 5).size(), 0u);
    EXPECT_EQ(grid_pairs({{0, 0, 1}, {3, 4, 2}}, 10, 10, 5).size(), 0u);  // different classes
}

TEST(LinkPairs, ThirtyTwoClassesAndShuffledOrder) {
    const Tensor sparse = random_sparse(1, 80, 90, 32, 2000, 77);
    auto pts = points_of(sparse, 0);
    std::set<int> classes;
    for (const auto& p : pts) classes.insert(p.cls);
    EXPECT_EQ(classes.size(), 32u);
    const auto want = brute_force_pairs(sparse, 0, 12);
    EXPECT_EQ(grid_pairs(pts, 80, 90, 12), want);
    CounterRng rng(5, 5);
    for (std::size_t i = pts.size(); i > 1; --i)
        std::swap(pts[i - 1], pts[rng.below(static_cast<std::uint32_t>(i))]);
    EXPECT_EQ(grid_pairs(pts, 80, 90, 12), want);
}

// Pairs handed on in chunks are the same pairs, and each indexes points already in place when it
// is handed on (what link_image draws at once; a pair read before its points were sorted into
// place would draw elsewhere).
TEST(LinkPairs, DrainedInChunksSamePairsWithPointsInPlace) {
    const Tensor sparse = random_sparse(1, 97, 131, 7, 1500, 91);
    const auto want = brute_force_pairs(sparse, 0, 15);
    ASSERT_GT(want.size(), 1000u);
    for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{250}}) {
        std::vector<LinkPoint> pts = points_of(sparse, 0);
        std::vector<LinkPair> pairs;
        GridScratch sc;
        std::multiset<Seg> got;
        int drains = 0;
        find_pairs_grid(
            pts, 97, 131, 15, pairs, sc,
            [&](const std::vector<LinkPair>& part) {
                ++drains;
                EXPECT_GE(part.size(), chunk);
                for (const LinkPair& p : part) got.insert(canonical(pts[p.a], pts[p.b]));
            },
            chunk);
        EXPECT_LT(pairs.size(), chunk + 200) << "the last part";
        for (const LinkPair& p : pairs) got.insert(canonical(pts[p.a], pts[p.b]));
        EXPECT_EQ(got, want) << "chunk " << chunk;
        EXPECT_GE(drains, static_cast<int>(want.size() / (chunk + 200))) << "chunk " << chunk;
    }
}

// The whole image linked with pairs drawn a few at a time equals the reference's result.
TEST(LinkPairs, ImageLinkedInSmallChunksEqualsReference) {
    const int h = 120, w = 150;
    const Tensor sparse = random_sparse(1, h, w, 6, 2500, 17);
    const Tensor rgb = random_rgb(1, h, w, 18);
    for (float step : {-1.0f, 60.0f}) {
        LinkParams p;
        p.radius = 18;
        p.max_color_step = step;
        Tensor reference = Tensor::host({1, h, w}, DType::u8);
        const LinkStats sr = test::reference_backend()->link(sparse, rgb, p, reference);
        const std::vector<std::uint8_t> want(reference.data<std::uint8_t>(),
                                             reference.data<std::uint8_t>() + h * w);
        LinkScratch whole, chunked;
        chunked.pair_chunk = 5;
        std::vector<std::uint8_t> a(want.size()), b(want.size());
        const LinkStats sa = link_image(sparse.data<std::uint8_t>(), rgb.data<std::uint8_t>(), h, w,
                                        p, a.data(), whole);
        const LinkStats sb = link_image(sparse.data<std::uint8_t>(), rgb.data<std::uint8_t>(), h, w,
                                        p, b.data(), chunked);
        EXPECT_EQ(a, want) << "step " << step;
        EXPECT_EQ(b, want) << "step " << step;
        EXPECT_EQ(sa.pairs, sr.pairs);
        EXPECT_EQ(sb.pairs, sr.pairs);
        EXPECT_EQ(sb.segments, sr.segments);
        EXPECT_GT(sb.pairs, 1000);
    }
}

// A large image alone shares its drawing and resolve among threads (strips of rows, the even ones
// at once, then the odd): the reference's pixels and counts for any thread count, for radii that
// make many strips and few, edge-aware or not, pairs drawn whole or a few at a time. The backend
// gives a lone image its threads: it agrees with the same image among several, one per thread.
TEST(LinkPairs, ImageSharedAmongThreadsEqualsReference) {
    const int h = 300, w = 170;
    const Tensor sparse = random_sparse(1, h, w, 6, 1200, 21);
    const Tensor rgb = random_rgb(1, h, w, 22);
    for (const int radius : {5, 18, 120})
        for (const float step : {-1.0f, 60.0f}) {
            LinkParams p;
            p.radius = radius;
            p.max_color_step = step;
            Tensor reference = Tensor::host({1, h, w}, DType::u8);
            const LinkStats sr = test::reference_backend()->link(sparse, rgb, p, reference);
            const std::vector<std::uint8_t> want(reference.data<std::uint8_t>(),
                                                 reference.data<std::uint8_t>() + h * w);
            for (const int threads : {1, 2, 3, 8})
                for (const std::size_t chunk : {kLinkPairChunk, std::size_t{101}}) {
                    LinkScratch sc;
                    sc.pair_chunk = chunk;
                    std::vector<std::uint8_t> out(want.size());
                    const LinkStats s =
                        link_image(sparse.data<std::uint8_t>(), rgb.data<std::uint8_t>(), h, w, p,
                                   out.data(), sc, "test", threads);
                    const std::string at =
                        "radius " + std::to_string(radius) + " step " + std::to_string(step) +
                        " threads " + std::to_string(threads) + " chunk " + std::to_string(chunk);
                    EXPECT_EQ(out, want) << at;
                    EXPECT_EQ(s.pairs, sr.pairs) << at;
                    EXPECT_EQ(s.segments, sr.segments) << at;
                    EXPECT_EQ(s.labelled_after, sr.labelled_after) << at;
                }
            // The backend: the image alone (shared among the threads where there are several),
            // and copies of it in one batch (one image a thread).
            const std::unique_ptr<Backend> cpu = test::cpu_backend();
            Tensor alone = Tensor::host({1, h, w}, DType::u8);
            const LinkStats sa = cpu->link(sparse, rgb, p, alone);
            const int copies = 3;
            Tensor many_sparse = Tensor::host({copies, h, w}, DType::u8);
            Tensor many_rgb = Tensor::host({copies, 3, h, w}, DType::u8);
            for (int k = 0; k < copies; ++k) {
                std::copy_n(sparse.data<std::uint8_t>(), h * w,
                            many_sparse.data<std::uint8_t>() + k * h * w);
                std::copy_n(rgb.data<std::uint8_t>(), 3 * h * w,
                            many_rgb.data<std::uint8_t>() + k * 3 * h * w);
            }
            Tensor many = Tensor::host({copies, h, w}, DType::u8);
            const LinkStats sm = cpu->link(many_sparse, many_rgb, p, many);
            EXPECT_EQ(std::vector<std::uint8_t>(alone.data<std::uint8_t>(),
                                                alone.data<std::uint8_t>() + h * w),
                      want);
            for (int k = 0; k < copies; ++k)
                EXPECT_EQ(std::vector<std::uint8_t>(many.data<std::uint8_t>() + k * h * w,
                                                    many.data<std::uint8_t>() + (k + 1) * h * w),
                          want)
                    << k;
            EXPECT_EQ(sm.segments, copies * sa.segments);
            EXPECT_EQ(sa.segments, sr.segments);
        }
}

// ---- Bresenham ----------------------------------------------------------------------------------

TEST(LinkBresenham, HandDrawnAllOctants) {
    using V = std::vector<std::pair<int, int>>;
    // Shallow and steep, right and left, downward (the canonical directions) ...
    EXPECT_EQ(draw(0, 0, 2, 5), (V{{0, 0}, {0, 1}, {1, 2}, {1, 3}, {2, 4}, {2, 5}}));
    EXPECT_EQ(draw(0, 0, 5, 2), (V{{0, 0}, {1, 0}, {2, 1}, {3, 1}, {4, 2}, {5, 2}}));
    EXPECT_EQ(draw(0, 5, 2, 0), (V{{0, 5}, {0, 4}, {1, 3}, {1, 2}, {2, 1}, {2, 0}}));
    EXPECT_EQ(draw(0, 2, 5, 0), (V{{0, 2}, {1, 2}, {2, 1}, {3, 1}, {4, 0}, {5, 0}}));
    // ... and upward.
    EXPECT_EQ(draw(2, 0, 0, 5), (V{{2, 0}, {2, 1}, {1, 2}, {1, 3}, {0, 4}, {0, 5}}));
    EXPECT_EQ(draw(5, 0, 0, 2), (V{{5, 0}, {4, 0}, {3, 1}, {2, 1}, {1, 2}, {0, 2}}));
    EXPECT_EQ(draw(2, 5, 0, 0), (V{{2, 5}, {2, 4}, {1, 3}, {1, 2}, {0, 1}, {0, 0}}));
    EXPECT_EQ(draw(5, 2, 0, 0), (V{{5, 2}, {4, 2}, {3, 1}, {2, 1}, {1, 0}, {0, 0}}));
    // Axes, diagonal, a single point.
    EXPECT_EQ(draw(3, 1, 3, 4), (V{{3, 1}, {3, 2}, {3, 3}, {3, 4}}));
    EXPECT_EQ(draw(3, 4, 3, 1), (V{{3, 4}, {3, 3}, {3, 2}, {3, 1}}));
    EXPECT_EQ(draw(1, 2, 4, 2), (V{{1, 2}, {2, 2}, {3, 2}, {4, 2}}));
    EXPECT_EQ(draw(4, 2, 1, 2), (V{{4, 2}, {3, 2}, {2, 2}, {1, 2}}));
    EXPECT_EQ(draw(0, 0, 3, 3), (V{{0, 0}, {1, 1}, {2, 2}, {3, 3}}));
    EXPECT_EQ(draw(2, 2, 2, 2), (V{{2, 2}}));
    // The walk is direction-dependent: this is why segments start at the smaller end.
    EXPECT_EQ(draw(0, 0, 1, 2), (V{{0, 0}, {1, 1}, {1, 2}}));
    EXPECT_EQ(draw(1, 2, 0, 0), (V{{1, 2}, {0, 1}, {0, 0}}));
}

TEST(LinkRasterize, SegmentPqEqualsQpAndPairOrderIsIrrelevant) {
    const int h = 60, w = 70;
    const Tensor sparse = random_sparse(1, h, w, 4, 300, 9);
    auto pts = points_of(sparse, 0);
    std::vector<LinkPair> pairs;
    GridScratch sc;
    find_pairs_grid(pts, h, w, 15, pairs, sc);
    ASSERT_GT(pairs.size(), 100u);
    std::vector<std::uint32_t> a(h * w, 0), b(h * w, 0);
    rasterize_pairs(pts.data(), pairs.data(), pairs.size(), h, w, nullptr, -1, a.data());
    std::vector<LinkPair> flipped = pairs;
    CounterRng rng(3, 3);
    for (auto& p : flipped) std::swap(p.a, p.b);
    for (std::size_t i = flipped.size(); i > 1; --i)
        std::swap(flipped[i - 1], flipped[rng.below(static_cast<std::uint32_t>(i))]);
    rasterize_pairs(pts.data(), flipped.data(), flipped.size(), h, w, nullptr, -1, b.data());
    EXPECT_EQ(a, b);
    // A single asymmetric pair drawn either way gives the canonical pixels (0,0),(1,1),(1,2).
    const LinkPoint two[] = {{1, 2, 0}, {0, 0, 0}};
    const LinkPair one[] = {{0, 1}};
    std::vector<std::uint32_t> c(3 * 3, 0);
    rasterize_pairs(two, one, 1, 3, 3, nullptr, -1, c.data());
    EXPECT_EQ(c, (std::vector<std::uint32_t>{1, 0, 0, 0, 1, 1, 0, 0, 0}));
}

TEST(LinkRasterize, DrawsExactlyTheBresenhamPixelsForEveryOffset) {
    // Every canonical segment from the centre of an 81x81 image to each point of it: the optimized
    // drawing in rasterize_pairs (a table of walks for offsets up to 32, the stepped walk beyond)
    // must set exactly the pixels the reference walk visits.
    const int n = 81, c = 40;
    for (int y = 0; y < n; ++y)
        for (int x = 0; x < n; ++x) {
            const LinkPoint pts[] = {{c, c, 3}, {y, x, 3}};
            const LinkPair pair[] = {{0, 1}};
            std::vector<std::uint32_t> got(n * n, 0), want(n * n, 0);
            rasterize_pairs(pts, pair, 1, n, n, nullptr, -1, got.data());
            const bool fwd = point_before(c, c, y, x);
            bresenham(fwd ? c : y, fwd ? c : x, fwd ? y : c, fwd ? x : c,
                      [&](int yy, int xx) { want[yy * n + xx] = 1u << 3; });
            ASSERT_EQ(got, want) << "segment (" << c << "," << c << ")-(" << y << "," << x << ")";
        }
}

// ---- the op -------------------------------------------------------------------------------------

TEST(Link, ConflictRuleBothModes) {
    // 7x7: class 0 from (3,0) to (3,6), class 1 from (0,3) to (6,3); they cross at (3,3). A lone
    // class-2 point at (3,1) lies on class 0's segment and keeps its own label.
    Tensor sparse = Tensor::host({1, 7, 7}, DType::u8);
    std::uint8_t* s = sparse.data<std::uint8_t>();
    std::fill(s, s + 49, kUnlabelled);
    s[3 * 7 + 0] = 0;
    s[3 * 7 + 6] = 0;
    s[0 * 7 + 3] = 1;
    s[6 * 7 + 3] = 1;
    s[3 * 7 + 1] = 2;
    auto b = test::cpu_backend();
    for (LinkConflict mode : {LinkConflict::unlabelled, LinkConflict::lowest}) {
        LinkParams p;
        p.radius = 6;
        p.conflict = mode;
        Tensor out = Tensor::host({1, 7, 7}, DType::u8);
        const LinkStats st = b->link(sparse, Tensor(), p, out);
        const std::uint8_t* o = out.data<std::uint8_t>();
        EXPECT_EQ(st.points, 5);
        EXPECT_EQ(st.pairs, 2);
        EXPECT_EQ(st.segments, 2);
        for (int x = 0; x < 7; ++x)
            if (x != 3) {
                EXPECT_EQ(o[3 * 7 + x], x == 1 ? 2 : 0) << "x " << x;
            }
        for (int y = 0; y < 7; ++y)
            if (y != 3) {
                EXPECT_EQ(o[y * 7 + 3], 1) << "y " << y;
            }
        EXPECT_EQ(o[3 * 7 + 3], mode == LinkConflict::lowest ? 0 : kUnlabelled);
        EXPECT_EQ(o[0], kUnlabelled);
        EXPECT_EQ(st.labelled_after, mode == LinkConflict::lowest ? 13 : 12);
        Tensor want = Tensor::host({1, 7, 7}, DType::u8);
        EXPECT_EQ(test::reference_backend()->link(sparse, Tensor(), p, want).labelled_after,
                  st.labelled_after);
        EXPECT_TRUE(test::all_equal_u8(want, out));
    }
}

TEST(Link, EdgeAwareRefusesSegmentsAcrossAColourEdge) {
    // Two class-0 points 20 apart on a row whose right half is 60 bluer: the largest deviation from
    // the endpoints' mean is 30, so T = 30 draws (not "more than") and T = 29.9 does not.
    const int h = 5, w = 21;
    Tensor sparse = Tensor::host({1, h, w}, DType::u8);
    std::fill(sparse.data<std::uint8_t>(), sparse.data<std::uint8_t>() + h * w, kUnlabelled);
    sparse.data<std::uint8_t>()[2 * w + 0] = 0;
    sparse.data<std::uint8_t>()[2 * w + 20] = 0;
    Tensor rgb = Tensor::host({1, 3, h, w}, DType::u8);
    for (int c = 0; c < 3; ++c)
        for (int i = 0; i < h * w; ++i)
            rgb.data<std::uint8_t>()[c * h * w + i] = (c == 2 && i % w >= 10) ? 160 : 100;
    auto b = test::cpu_backend();
    for (float t : {29.9f, 30.0f, 45.0f, -1.0f}) {
        LinkParams p;
        p.radius = 20;
        p.max_color_step = t;
        Tensor out = Tensor::host({1, h, w}, DType::u8);
        const LinkStats st = b->link(sparse, rgb, p, out);
        const bool drawn = t < 0 || t >= 30.0f;
        EXPECT_EQ(st.pairs, 1) << "T " << t;
        EXPECT_EQ(st.segments, drawn ? 1 : 0) << "T " << t;
        EXPECT_EQ(out.data<std::uint8_t>()[2 * w + 10], drawn ? 0 : kUnlabelled) << "T " << t;
        EXPECT_EQ(st.labelled_after, drawn ? 21 : 2) << "T " << t;
    }
    // Edge-aware linking without colours is a caller error.
    LinkParams p;
    p.max_color_step = 10;
    Tensor out = Tensor::host({1, h, w}, DType::u8);
    EXPECT_THROW(b->link(sparse, Tensor(), p, out), ShapeError);
}

TEST(Link, EmptyImagesAndBadLabels) {
    auto b = test::cpu_backend();
    Tensor sparse = Tensor::host({2, 9, 11}, DType::u8);
    b->fill(sparse, 255.0f);
    Tensor out = Tensor::host({2, 9, 11}, DType::u8);
    const LinkStats st = b->link(sparse, Tensor(), LinkParams{}, out);
    EXPECT_EQ(st.points, 0);
    EXPECT_EQ(st.pairs, 0);
    EXPECT_EQ(st.labelled_after, 0);
    EXPECT_TRUE(test::all_equal_u8(sparse, out));
    sparse.data<std::uint8_t>()[9 * 11 + 5] = 40;  // image 1, pixel (0,5)
    try {
        b->link(sparse, Tensor(), LinkParams{}, out);
        FAIL() << "label 40 accepted";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("image 1"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("40"), std::string::npos) << e.what();
    }
    LinkParams neg;
    neg.radius = -1;
    EXPECT_THROW(b->link(sparse, Tensor(), neg, out), InputError);
}

// ---- GPU ----------------------------------------------------------------------------------------

namespace {

// A random linking problem for the GPU-vs-CPU tests: n images of h x w with about `points` labelled
// pixels of `classes` classes each, linked with these parameters.
struct GpuLinkCase {
    int n, h, w, classes, points, radius;
    float step;
    LinkConflict conflict;

    LinkParams params() const {
        LinkParams p;
        p.radius = radius;
        p.max_color_step = step;
        p.conflict = conflict;
        return p;
    }
};

// Links `sparse` with the colours `rgb` (none when empty) as `c` says, on the CPU and on the GPU:
// expects the same maps and the same counts, and returns the CPU's counts.
LinkStats expect_gpu_link_equals_cpu(Backend& cpu, Backend& gpu, const GpuLinkCase& c,
                                     const Tensor& sparse, const Tensor& rgb) {
    SCOPED_TRACE(::testing::Message() << c.n << "x" << c.h << "x" << c.w << " radius " << c.radius
                                      << " step " << c.step);
    const LinkParams p = c.params();
    Tensor want = Tensor::host(sparse.shape(), DType::u8);
    const LinkStats sw = cpu.link(sparse, rgb, p, want);
    Tensor d_sparse = test::to_backend(gpu, sparse);
    Tensor d_rgb = rgb.empty() ? Tensor() : test::to_backend(gpu, rgb);
    Tensor d_out = gpu.zeros(sparse.shape(), DType::u8);
    const LinkStats sg = gpu.link(d_sparse, d_rgb, p, d_out);
    EXPECT_TRUE(test::all_equal_u8(want, test::to_host(gpu, d_out)));
    EXPECT_EQ(sg.points, sw.points);
    EXPECT_EQ(sg.pairs, sw.pairs);
    EXPECT_EQ(sg.segments, sw.segments);
    EXPECT_EQ(sg.labelled_after, sw.labelled_after);
    return sw;
}

}  // namespace

TEST(LinkGpu, EqualsCpuBitForBit) {
    PFCE_REQUIRE_GPU(gpu);
    auto cpu = test::cpu_backend();
    const GpuLinkCase cases[] = {{5, 37, 53, 6, 150, 9, -1, LinkConflict::unlabelled},
                                 {3, 300, 300, 6, 3000, 20, -1, LinkConflict::unlabelled},
                                 {4, 131, 97, 32, 1500, 11, -1, LinkConflict::lowest},
                                 {3, 64, 80, 5, 400, 1, -1, LinkConflict::unlabelled},
                                 {3, 45, 33, 3, 200, 500, -1, LinkConflict::lowest},
                                 {6, 51, 61, 4, 300, 15, 35.0f, LinkConflict::unlabelled},
                                 {2, 1, 1, 1, 1, 3, -1, LinkConflict::unlabelled},
                                 {3, 29, 31, 4, 100, 0, -1, LinkConflict::unlabelled}};
    std::uint64_t seed = 500;
    for (const GpuLinkCase& c : cases) {
        const Tensor sparse = random_sparse(c.n, c.h, c.w, c.classes, c.points, ++seed);
        const Tensor rgb = random_rgb(c.n, c.h, c.w, seed);
        expect_gpu_link_equals_cpu(*cpu, *gpu, c, sparse, rgb);
    }
    // Empty images and bad labels behave as on the CPU.
    Tensor empty = Tensor::host({2, 9, 11}, DType::u8);
    cpu->fill(empty, 255.0f);
    Tensor d_empty = test::to_backend(*gpu, empty);
    Tensor d_out = gpu->zeros(empty.shape(), DType::u8);
    EXPECT_EQ(gpu->link(d_empty, Tensor(), LinkParams{}, d_out).labelled_after, 0);
    EXPECT_TRUE(test::all_equal_u8(empty, test::to_host(*gpu, d_out)));
    empty.data<std::uint8_t>()[5] = 77;
    Tensor d_bad = test::to_backend(*gpu, empty);
    EXPECT_THROW(gpu->link(d_bad, Tensor(), LinkParams{}, d_out), InputError);
}

// ---- the driver and the real pair ---------------------------------------------------------------

namespace {

struct RealPair {
    Dataset ds;
    std::vector<LabelMap> dense, sparse;
};

// The two real Kaggle patches, 500 points/class, seed 0 (the report's e4 setting).
RealPair real_pair(const std::string& sample) {
    RealPair r{Dataset::open(sample), {}, {}};
    SamplerOptions so;
    so.points = {500};
    so.seed = 0;
    for (std::size_t i = 0; i < r.ds.size(); ++i) {
        r.dense.push_back(r.ds.read_mask(i));
        r.sparse.push_back(sample_sparse(r.dense.back(), so, r.ds.sample(i).id));
    }
    return r;
}

}  // namespace

TEST(LinkReal, PotsdamPairCoverageRisesPurityHolds) {
    PFCE_REQUIRE_POTSDAM_SAMPLE(sample);
    const RealPair r = real_pair(sample);
    ASSERT_EQ(r.ds.size(), 2u);
    auto b = test::cpu_backend();
    LinkParams p;
    p.radius = 20;
    std::vector<LabelMap> linked;
    const LinkStats st = link_label_maps(*b, r.sparse, {}, p, linked);
    LinkQuality q;
    for (std::size_t i = 0; i < linked.size(); ++i)
        measure_link(r.sparse[i], linked[i], &r.dense[i], q);
    std::printf(
        "real pair, D=20: points %lld, pairs %lld, coverage %.4f -> %.4f (%.1fx), purity %.4f, "
        "added purity %.4f\n",
        static_cast<long long>(st.points), static_cast<long long>(st.pairs), q.coverage_before(),
        q.coverage_after(), q.coverage_after() / q.coverage_before(), q.purity(), q.added_purity());
    EXPECT_EQ(st.points, q.labelled_before);
    EXPECT_EQ(st.labelled_after, q.labelled_after);
    EXPECT_GT(q.coverage_after(), 20.0 * q.coverage_before());
    EXPECT_GT(q.purity(), 0.99);
    EXPECT_GT(q.added_purity(), 0.99);

    // Edge-aware linking with the real colours draws fewer segments and never lowers purity much.
    std::vector<RgbImage> images;
    for (std::size_t i = 0; i < r.ds.size(); ++i) images.push_back(r.ds.read_image(i));
    p.max_color_step = 60.0f;
    std::vector<LabelMap> edge_linked;
    const LinkStats se = link_label_maps(*b, r.sparse, images, p, edge_linked, 1);
    EXPECT_EQ(se.pairs, st.pairs);
    EXPECT_LT(se.segments, st.segments);
    EXPECT_GT(se.segments, 0);
}

TEST(LinkDriver, MaskDirRoundTripAndCache) {
    PFCE_REQUIRE_POTSDAM_SAMPLE(sample);
    const RealPair r = real_pair(sample);
    const std::string tmp = test::temp_dir("link_driver");
    const std::string in = tmp + "/sparse", out = tmp + "/linked";
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < r.ds.size(); ++i) ids.push_back(r.ds.sample(i).id);
    write_mask_dir(in, ids, r.sparse, r.ds.palette(),
                   {{"source", r.ds.root()}, {"kind", "sparse"}, {"points", 500}, {"seed", 0}});
    auto b = test::cpu_backend();
    LinkDirOptions o;
    o.in_dir = in;
    o.out_dir = out;
    o.params.radius = 20;
    o.batch = 1;  // two backend calls
    const LinkDirResult first = link_mask_dir(*b, o);
    EXPECT_FALSE(first.reused);
    EXPECT_TRUE(first.have_dense);
    EXPECT_EQ(first.quality.images, 2);
    EXPECT_GT(first.quality.purity(), 0.99);

    std::vector<LabelMap> want;
    link_label_maps(*b, r.sparse, {}, o.params, want);
    const MaskDir md = open_mask_dir(out);
    EXPECT_EQ(md.meta.value("kind", ""), "linked");
    EXPECT_EQ(md.meta.value("radius", -1), 20);
    EXPECT_EQ(md.ids, ids);
    for (std::size_t i = 0; i < ids.size(); ++i)
        EXPECT_EQ(read_mask_png(md, ids[i], r.ds.palette()).labels, want[i].labels) << ids[i];

    const LinkDirResult again = link_mask_dir(*b, o);  // same settings: the cache
    EXPECT_TRUE(again.reused);
    EXPECT_EQ(again.stats.pairs, first.stats.pairs);
    EXPECT_EQ(again.quality.agree, first.quality.agree);
    o.params.radius = 10;  // other settings: refused without --force
    EXPECT_THROW(link_mask_dir(*b, o), InputError);
    o.force = true;
    const LinkDirResult forced = link_mask_dir(*b, o);
    EXPECT_FALSE(forced.reused);
    EXPECT_LT(forced.stats.pairs, first.stats.pairs);

    // The command: same directory layout; a bad flag value is an input error (exit code 2).
    const std::string cli_out = tmp + "/cli";
    const std::string cmd = test::pfce_binary() + " -q link --in " + in + " --out " + cli_out +
                            " --radius 20 --device cpu > " + tmp + "/cli.txt";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    const MaskDir cli = open_mask_dir(cli_out);
    for (std::size_t i = 0; i < ids.size(); ++i)
        EXPECT_EQ(read_mask_png(cli, ids[i], r.ds.palette()).labels, want[i].labels) << ids[i];
    const std::string bad = test::pfce_binary() + " -q link --in " + in + " --out " + tmp +
                            "/bad --conflict newest 2> /dev/null";
    const int rc = std::system(bad.c_str());
    EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 2) << bad;
}

// Linked masks are no input to link (issue: hostile-user probe): every linked pixel would be read
// as a point, millions of pairs, and purity would fall, without a word. Refused, naming the
// directory, its kind and what link takes; nothing is written.
TEST(LinkDriver, RefusesAnAlreadyLinkedDirectory) {
    const std::string tmp = test::temp_dir("link_linked_input");
    const std::string sparse = tmp + "/sparse", linked = tmp + "/linked", again = tmp + "/again";
    const std::vector<std::string> ids = {"a", "b"};
    std::vector<LabelMap> masks(2, LabelMap{});
    for (std::size_t i = 0; i < masks.size(); ++i) {
        masks[i].width = masks[i].height = 24;
        masks[i].labels.assign(24 * 24, kUnlabelled);
        masks[i].labels[3 * 24 + 4] = masks[i].labels[18 * 24 + 9] = static_cast<std::uint8_t>(i);
    }
    write_mask_dir(sparse, ids, masks, potsdam_palette(), {{"kind", "sparse"}});
    auto b = test::cpu_backend();
    LinkDirOptions o;
    o.in_dir = sparse;
    o.out_dir = linked;
    o.params.radius = 20;
    ASSERT_NO_THROW(link_mask_dir(*b, o));
    o.in_dir = linked;
    o.out_dir = again;
    const std::string msg = test::input_error_message([&] { link_mask_dir(*b, o); });
    EXPECT_MESSAGE_HAS(msg, linked);
    EXPECT_MESSAGE_HAS(msg, "linked masks");
    EXPECT_MESSAGE_HAS(msg, "pfce sample");
    EXPECT_FALSE(std::filesystem::exists(again + "/masks.json"));
}

// What a linked directory records is of its linked masks (oracle probe): per_class counts their
// pixels (it repeated the sparse input's), a radius that adds nothing has no purity of added
// pixels (it said 1.0), and sample does not take the directory for its own masks because it keeps
// the "sample" record of its points (it printed "reused" and the linked counts as points).
TEST(LinkDriver, LinkedDirectoryRecordsItsOwnCountsAndIsNoSampleCache) {
    const std::string tmp = test::temp_dir("link_records");
    const std::string data = tmp + "/data", sparse = tmp + "/sparse", linked = tmp + "/linked";
    test::write_synthetic(data, 6, 96, 3);
    ASSERT_EQ(
        test::run_pfce("sample --data " + data + " --points 60 --seed 1 --out " + sparse).status,
        0);
    const test::CommandResult l =
        test::run_pfce("link --in " + sparse + " --out " + linked + " --radius 20 --device cpu");
    ASSERT_EQ(l.status, 0) << l.output;
    const Dataset ds = Dataset::open(data);
    const MaskDir md = open_mask_dir(linked);
    std::vector<std::int64_t> want(ds.palette().classes.size(), 0);
    for (const std::string& id : md.ids)
        for (const std::uint8_t v : read_mask_png(md, id, ds.palette()).labels)
            if (v < want.size()) ++want[v];
    EXPECT_EQ(md.meta.value("per_class", std::vector<std::int64_t>{}), want);
    std::int64_t labelled = 0;
    for (const std::int64_t n : want) labelled += n;
    EXPECT_EQ(md.meta.value("labelled_pixels", std::int64_t{-1}), labelled);

    const test::CommandResult again =
        test::run_pfce("sample --data " + data + " --points 60 --seed 1 --out " + linked);
    EXPECT_EQ(again.status, 2) << again.output;
    EXPECT_EQ(again.output.find("reused"), std::string::npos) << again.output;
    EXPECT_MESSAGE_HAS(again.output, "pass --force");

    const test::CommandResult none =
        test::run_pfce("link --in " + sparse + " --out " + tmp + "/r0 --radius 0 --device cpu");
    ASSERT_EQ(none.status, 0) << none.output;
    EXPECT_MESSAGE_HAS(none.output, "linking added no pixel");
    const nlohmann::json q = open_mask_dir(tmp + "/r0").meta.at("quality");
    EXPECT_TRUE(q.at("added_purity").is_null()) << q.dump();
    EXPECT_EQ(q.at("purity").get<double>(), 1.0);
}

// Over a million points (a real dataset's worth, linked in one call): millions of pairs, sort keys
// over many cells and images, and pair-drawing grids far larger than one wave of blocks.
TEST(LinkGpuLarge, OverAMillionPointsEqualsCpuBitForBit) {
    PFCE_REQUIRE_GPU(gpu);
    auto cpu = test::cpu_backend();
    const GpuLinkCase cases[] = {{64, 512, 512, 6, 17000, 20, -1, LinkConflict::unlabelled},
                                 {48, 300, 300, 32, 27000, 9, 40.0f, LinkConflict::lowest}};
    std::uint64_t seed = 900;
    for (const GpuLinkCase& c : cases) {
        const Tensor sparse = random_sparse(c.n, c.h, c.w, c.classes, c.points, ++seed);
        const Tensor rgb = c.step >= 0 ? random_rgb(c.n, c.h, c.w, seed) : Tensor();
        const LinkStats sw = expect_gpu_link_equals_cpu(*cpu, *gpu, c, sparse, rgb);
        ASSERT_GE(sw.points, 1 << 20);
    }
}
