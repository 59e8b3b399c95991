// Resampling for predict and eval --zoom (data/resample): the separable linear filter, of images
// and of logits' planes streamed in bands, against a direct two-dimensional sum of the same
// weights (the oracle), hand-computed values and constants kept to the edge.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/text.hpp"
#include "data/resample.hpp"
#include "tests/test_util.hpp"

using namespace pfce;

namespace {

// The filter's weight of input pixel j for output pixel i along an axis of in -> out pixels,
// before normalisation: a triangle on pixel centres, as wide as the reduction when shrinking.
double weight(int in, int out, int i, int j) {
    const double scale = static_cast<double>(out) / in;
    const double support = scale < 1 ? 1 / scale : 1;
    const double d = std::abs(j + 0.5 - (i + 0.5) / scale) / support;
    return d < 1 ? 1 - d : 0;
}

// Every output pixel as the weighted mean of every input pixel, in double, before rounding.
std::vector<double> oracle(const RgbImage& img, int width, int height) {
    std::vector<double> out;
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x)
            for (int c = 0; c < img.channels; ++c) {
                double s = 0, n = 0;
                for (int v = 0; v < img.height; ++v)
                    for (int u = 0; u < img.width; ++u) {
                        const double w =
                            weight(img.height, height, y, v) * weight(img.width, width, x, u);
                        s += w * img.at(v, u)[c];
                        n += w;
                    }
                out.push_back(s / n);
            }
    return out;
}

}  // namespace

TEST(Resample, LinearEqualsTheDirectSumOfItsWeights) {
    const RgbImage img = test::random_rgb(23, 17, 3);
    RgbImage four(11, 9, 4);
    for (std::size_t i = 0; i < four.pixels.size(); ++i)
        four.pixels[i] = static_cast<std::uint8_t>((i * 37) % 251);
    struct Size {
        int w, h;
    };
    for (const RgbImage* in : std::vector<const RgbImage*>{&img, &four})
        for (const Size s : {Size{46, 34}, Size{12, 9}, Size{7, 5}, Size{31, 8}, Size{1, 1},
                             Size{in->width * 3, in->height}}) {
            const RgbImage got = resize_linear(*in, s.w, s.h);
            const std::vector<double> want = oracle(*in, s.w, s.h);
            ASSERT_EQ(got.width, s.w);
            ASSERT_EQ(got.height, s.h);
            ASSERT_EQ(got.channels, in->channels);
            ASSERT_EQ(got.pixels.size(), want.size());
            int ties = 0;
            for (std::size_t i = 0; i < got.pixels.size(); ++i) {
                // The exact value rounded; where it is a half (weights of 1/4 and 3/4 make many),
                // float and double sums may round it either way.
                const bool tie = std::abs(want[i] - std::floor(want[i]) - 0.5) < 1e-4;
                ties += tie;
                if (tie)
                    EXPECT_LE(std::abs(got.pixels[i] - want[i]), 0.5 + 1e-4) << i;
                else
                    EXPECT_EQ(got.pixels[i], std::lround(want[i]))
                        << in->width << "x" << in->height << " -> " << s.w << "x" << s.h << " at "
                        << i << ": " << want[i];
            }
            EXPECT_LT(ties * 4, static_cast<int>(got.pixels.size())) << s.w << "x" << s.h;
        }
}

TEST(Resample, HandComputedValuesAndConstantsToTheEdge) {
    // A row 0, 100 doubled: centres at 0.25, 0.75, 1.25, 1.75 of the input -> 0, 25, 75, 100
    // (the outer ones have one tap inside the image).
    RgbImage ramp(2, 1, 3);
    for (int c = 0; c < 3; ++c) ramp.at(0, 1)[c] = 100;
    const RgbImage up = resize_linear(ramp, 4, 1);
    const int want[] = {0, 25, 75, 100};
    for (int x = 0; x < 4; ++x) EXPECT_EQ(up.at(0, x)[0], want[x]) << x;
    // Halved: each output averages its two pixels with weights 1/4, 3/4, 3/4, 1/4 over four.
    RgbImage row(4, 1, 3);
    const int v[] = {0, 40, 80, 120};
    for (int x = 0; x < 4; ++x) row.at(0, x)[0] = static_cast<std::uint8_t>(v[x]);
    const RgbImage down = resize_linear(row, 2, 1);
    EXPECT_EQ(down.at(0, 0)[0], std::lround((0.75 * 0 + 0.75 * 40 + 0.25 * 80) / 1.75));
    EXPECT_EQ(down.at(0, 1)[0], std::lround((0.25 * 40 + 0.75 * 80 + 0.75 * 120) / 1.75));
    // A constant stays constant everywhere, shrinking or growing.
    RgbImage flat(13, 7, 5);
    for (std::size_t i = 0; i < flat.pixels.size(); ++i) flat.pixels[i] = 200;
    for (const auto& [w, h] : {std::pair{29, 3}, std::pair{4, 15}, std::pair{13, 7}})
        for (const std::uint8_t p : resize_linear(flat, w, h).pixels) EXPECT_EQ(p, 200);
    EXPECT_EQ(resize_linear(flat, 13, 7).pixels, flat.pixels);
    EXPECT_EQ(zoomed_side(300, 2.0), 600);
    EXPECT_EQ(zoomed_side(300, 0.5), 150);
    EXPECT_EQ(zoomed_side(3, 0.1), 1);
    EXPECT_EQ(zoomed_side(301, 0.5), 151);  // 150.5 rounds away from zero
    // The zoom to name for an image too small: two digits, rounded up, and the least that reaches.
    EXPECT_EQ(smallest_zoom_reaching(8, 2), 0.19);  // 8 * 0.19 = 1.52 -> 2; 0.18 gives 1.44 -> 1
    EXPECT_EQ(smallest_zoom_reaching(7, 6), 0.79);  // 7 * 0.79 = 5.53 -> 6
    EXPECT_EQ(smallest_zoom_reaching(100, 100), 1.0);
    EXPECT_EQ(smallest_zoom_reaching(3, 22), 7.2);  // 21.6 -> 22; 7.1 gives 21.3 -> 21
    for (const int side : {1, 5, 37, 301, 6000})
        for (const int target : {1, 6, 22, 70}) {
            const double z = smallest_zoom_reaching(side, target);
            EXPECT_GE(zoomed_side(side, z), target) << side << " " << target;
            // One step of the second digit less falls short.
            const double step = std::pow(10.0, std::floor(std::log10(z)) - 1);
            if (target > 1 && std::stod(format_significant(z - step, 2)) < z) {
                EXPECT_LT(zoomed_side(side, z - step), target) << side << " " << target;
            }
        }
}

// ZoomedRows makes a zoomed image a band of rows at a time (sliding windows over it hold a
// window's rows, never the whole): every band, kept rows or made again, is resize_linear's rows,
// bit for bit, for zooms up and down, four bands, and bands that overlap, follow on, skip ahead
// or go back.
TEST(Resample, ZoomedRowsAreTheWholeResizedImagesRowsBitForBit) {
    struct Case {
        int w, h, c, out_w, out_h;
    };
    for (const Case k : {Case{23, 17, 3, 46, 34}, Case{40, 31, 4, 10, 8}, Case{9, 12, 1, 25, 96},
                         Case{30, 20, 3, 30, 20}}) {
        const RgbImage img = test::random_rgb(k.w, k.h, 7);
        RgbImage in(k.w, k.h, k.c);
        for (std::size_t i = 0; i < in.pixels.size(); ++i)
            in.pixels[i] = img.pixels[i % img.pixels.size()];
        const RgbImage whole = resize_linear(in, k.out_w, k.out_h);
        ZoomedRows rows(in, k.out_w, k.out_h);
        EXPECT_EQ(rows.width(), k.out_w);
        EXPECT_EQ(rows.height(), k.out_h);
        EXPECT_EQ(rows.channels(), k.c);
        const std::size_t row = static_cast<std::size_t>(k.out_w) * k.c;
        // (y0, n): windows of 8 rows overlapping by 2, a band that follows on, one that skips
        // ahead, one taller than the last, one that goes back, the last row alone.
        const int h = k.out_h;
        for (const auto& [y0, n] : std::vector<std::pair<int, int>>{
                 {0, std::min(8, h)},
                 {std::min(6, h - 1), std::min(8, h - std::min(6, h - 1))},
                 {h / 2, (h - h / 2) / 2 + 1},
                 {h / 2 + 1, h - h / 2 - 1},
                 {0, h},
                 {1, h - 1},
                 {h - 1, 1}}) {
            if (n <= 0) continue;
            const std::uint8_t* got = rows.rows(y0, n);
            ASSERT_TRUE(std::equal(got, got + static_cast<std::size_t>(n) * row, whole.at(y0, 0)))
                << k.w << "x" << k.h << " -> " << k.out_w << "x" << k.out_h << ", rows " << y0
                << ".." << y0 + n;
        }
    }
    const RgbImage img = test::random_rgb(5, 4, 1);
    ZoomedRows rows(img, 10, 8);
    EXPECT_THROW(rows.rows(4, 5), ShapeError);  // past the last row
    EXPECT_THROW(rows.rows(-1, 2), ShapeError);
    EXPECT_THROW(rows.rows(0, 0), ShapeError);
}

// The logits' resampler: bands of any size in equal the whole planes at once, bit for bit, and
// the direct two-dimensional sum of the filter's weights (in double); each output row is handed
// on by the push that brings the last input row it reads, once, in order.
TEST(Resample, PlanesStreamedInBandsEqualTheDirectSumOfTheWeights) {
    struct Case {
        int c, in_w, in_h, out_w, out_h;
    };
    for (const Case k : {Case{3, 23, 17, 46, 34}, Case{2, 40, 31, 10, 8}, Case{1, 9, 12, 25, 3},
                         Case{4, 7, 5, 7, 5}, Case{2, 5, 40, 12, 13}, Case{1, 6, 6, 1, 1},
                         Case{2, 10, 20, 12, 300}}) {
        std::vector<float> in(static_cast<std::size_t>(k.c) * k.in_w * k.in_h);
        for (std::size_t i = 0; i < in.size(); ++i)
            in[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i)) * 4.0);
        const std::size_t in_plane = static_cast<std::size_t>(k.in_w) * k.in_h;
        const std::vector<float> whole =
            resize_planes_linear(in, k.c, k.in_w, k.in_h, k.out_w, k.out_h);
        ASSERT_EQ(whole.size(), static_cast<std::size_t>(k.c) * k.out_w * k.out_h);
        for (int c = 0; c < k.c; ++c)
            for (int y = 0; y < k.out_h; ++y)
                for (int x = 0; x < k.out_w; ++x) {
                    double s = 0, n = 0;
                    for (int v = 0; v < k.in_h; ++v)
                        for (int u = 0; u < k.in_w; ++u) {
                            const double w =
                                weight(k.in_h, k.out_h, y, v) * weight(k.in_w, k.out_w, x, u);
                            s += w * in[c * in_plane + static_cast<std::size_t>(v) * k.in_w + u];
                            n += w;
                        }
                    ASSERT_NEAR(whole[(static_cast<std::size_t>(c) * k.out_h + y) * k.out_w + x],
                                s / n, 1e-5)
                        << k.in_w << "x" << k.in_h << " -> " << k.out_w << "x" << k.out_h << " ("
                        << c << "," << y << "," << x << ")";
                }
        // The same planes in bands of 0, 1, 2, ... rows, handed on band by band.
        std::vector<float> got(whole.size(), -1e9f);
        const std::size_t out_plane = static_cast<std::size_t>(k.out_w) * k.out_h;
        int next = 0, received = 0;
        PlaneResampler r(
            k.c, k.in_w, k.in_h, k.out_w, k.out_h, [&](int y0, int n, const float* band) {
                ASSERT_EQ(y0, next);
                ASSERT_GT(n, 0);
                // The last output row is handed on once its last input row is in,
                // and not before.
                int last_read = 0;
                for (int v = 0; v < k.in_h; ++v)
                    if (weight(k.in_h, k.out_h, y0 + n - 1, v) > 0) last_read = v;
                EXPECT_LT(last_read, received);
                const std::size_t part = static_cast<std::size_t>(n) * k.out_w;
                for (int c = 0; c < k.c; ++c)
                    for (std::size_t p = 0; p < part; ++p)
                        got[c * out_plane + static_cast<std::size_t>(y0) * k.out_w + p] =
                            band[c * part + p];
                next += n;
            });
        std::vector<float> band;
        for (int y0 = 0, n = 0; y0 < k.in_h; y0 += n, ++n) {
            n = std::min(n, k.in_h - y0);
            band.resize(static_cast<std::size_t>(k.c) * n * k.in_w);
            for (int c = 0; c < k.c; ++c)
                for (std::size_t p = 0; p < static_cast<std::size_t>(n) * k.in_w; ++p)
                    band[c * static_cast<std::size_t>(n) * k.in_w + p] =
                        in[c * in_plane + static_cast<std::size_t>(y0) * k.in_w + p];
            received = y0 + n;
            const int before = next;
            r.push(y0, n, band.data());
            // Every output row whose input rows are all in has been handed on.
            for (int y = before; y < k.out_h; ++y) {
                int last_read = 0;
                for (int v = 0; v < k.in_h; ++v)
                    if (weight(k.in_h, k.out_h, y, v) > 0) last_read = v;
                if (last_read < received) {
                    EXPECT_LT(y, next) << y << " after " << received;
                }
            }
        }
        EXPECT_EQ(next, k.out_h);
        EXPECT_EQ(got, whole);
        // All rows in one push: handed on in bands of at most kMaxBandRows, in order.
        int bands = 0, rows = 0;
        PlaneResampler once(k.c, k.in_w, k.in_h, k.out_w, k.out_h,
                            [&](int y0, int n, const float*) {
                                EXPECT_EQ(y0, rows);
                                EXPECT_LE(n, PlaneResampler::kMaxBandRows);
                                rows += n;
                                ++bands;
                            });
        once.push(0, k.in_h, in.data());
        EXPECT_EQ(rows, k.out_h);
        EXPECT_EQ(bands,
                  (k.out_h + PlaneResampler::kMaxBandRows - 1) / PlaneResampler::kMaxBandRows);
    }
    // Rows out of order are a bug of the caller.
    PlaneResampler r(1, 4, 4, 8, 8, [](int, int, const float*) {});
    const std::vector<float> two(8, 1.0f);
    EXPECT_THROW(r.push(1, 2, two.data()), ShapeError);
}

TEST(Resample, PlanesKeepAConstantAndHalvesAreMeans) {
    const std::vector<float> flat(2 * 13 * 7, -3.25f);
    for (const auto& [w, h] : {std::pair{29, 3}, std::pair{4, 15}, std::pair{13, 7}})
        for (const float v : resize_planes_linear(flat, 2, 13, 7, w, h)) EXPECT_FLOAT_EQ(v, -3.25f);
    // Halved, a pixel is the mean of its 2x2 block with a quarter weight on the ring around it:
    // (1/8, 3/8, 3/8, 1/8) along each axis, renormalised at the edge.
    const std::vector<float> ramp = {0, 1, 2, 3};  // one row of four
    const std::vector<float> half = resize_planes_linear(ramp, 1, 4, 1, 2, 1);
    EXPECT_FLOAT_EQ(half[0], (0.375f * 0 + 0.375f * 1 + 0.125f * 2) / 0.875f);
    EXPECT_FLOAT_EQ(half[1], (0.125f * 1 + 0.375f * 2 + 0.375f * 3) / 0.875f);
}
