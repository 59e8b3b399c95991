// Resampling for predict --zoom (data/resample): the separable linear filter against a direct
// two-dimensional sum of the same weights (the oracle), hand-computed values, constants kept to
// the edge, and the nearest-label map back to an image's pixels.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <vector>

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
}

TEST(Resample, LabelsBackToTheImagesPixelsByNearest) {
    LabelMap m(3, 2);
    for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 3; ++x) m.at(y, x) = static_cast<std::uint8_t>(10 * y + x);
    // Doubled: each label a 2x2 block.
    const LabelMap up = resize_labels_nearest(m, 6, 4);
    for (int y = 0; y < 4; ++y)
        for (int x = 0; x < 6; ++x) EXPECT_EQ(up.at(y, x), 10 * (y / 2) + x / 2) << y << "," << x;
    // Back to 3x2: the same labels (a zoom and its way back keep every pixel's class).
    EXPECT_EQ(resize_labels_nearest(up, 3, 2).labels, m.labels);
    // An odd size: 5 wide from 3 takes the label whose pixel holds each centre.
    const LabelMap odd = resize_labels_nearest(m, 5, 2);
    const int want[] = {0, 0, 1, 2, 2};  // centres 0.3, 0.9, 1.5, 2.1, 2.7 of the input
    for (int x = 0; x < 5; ++x) EXPECT_EQ(odd.at(0, x), want[x]) << x;
    // Only the labels there are: 255 (no class) stays 255, no value between two classes.
    LabelMap two(2, 1);
    two.at(0, 0) = 1;
    two.at(0, 1) = 255;
    const LabelMap wide = resize_labels_nearest(two, 7, 1);
    for (int x = 0; x < 7; ++x)
        EXPECT_EQ(wide.at(0, x), x < 3 ? 1 : 255) << x;  // centre 3.5 of 7: the second
}
