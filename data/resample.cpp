#include "data/resample.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/error.hpp"

namespace pfce {

namespace {

// Per output index along one axis: the first input index it reads and its normalised weights.
struct Taps {
    std::vector<int> first;     // per output
    std::vector<int> count;     // per output
    std::vector<float> weight;  // per output, `stride` of them, the first `count` used
    int stride = 0;
};

Taps taps_for(int in, int out) {
    const double scale = static_cast<double>(out) / in;
    const double support = scale < 1.0 ? 1.0 / scale : 1.0;  // input pixels each side
    Taps t;
    t.stride = static_cast<int>(std::ceil(support)) * 2 + 4;
    t.first.resize(static_cast<std::size_t>(out));
    t.count.resize(static_cast<std::size_t>(out));
    t.weight.assign(static_cast<std::size_t>(out) * t.stride, 0.0f);
    std::vector<double> w(static_cast<std::size_t>(t.stride));
    for (int i = 0; i < out; ++i) {
        // Output pixel i's centre in input coordinates (pixel j spans [j, j+1)).
        const double centre = (i + 0.5) / scale;
        const int lo = std::max(0, static_cast<int>(std::floor(centre - support)));
        const int hi = std::min(in - 1, static_cast<int>(std::ceil(centre + support)));
        double sum = 0;
        int n = 0;
        for (int j = lo; j <= hi && n < t.stride; ++j) {
            const double d = std::abs(j + 0.5 - centre) / support;
            w[static_cast<std::size_t>(n)] = d < 1.0 ? 1.0 - d : 0.0;
            sum += w[static_cast<std::size_t>(n++)];
        }
        // Trim zero weights at both ends so the loops below read only what counts.
        int a = 0, b = n;
        while (a < b && w[static_cast<std::size_t>(a)] == 0.0) ++a;
        while (b > a && w[static_cast<std::size_t>(b - 1)] == 0.0) --b;
        if (a == b) {  // cannot happen for in >= 1 (the nearest centre is within support)
            a = 0;
            b = 1;
            w[0] = sum = 1.0;
        }
        t.first[static_cast<std::size_t>(i)] = lo + a;
        t.count[static_cast<std::size_t>(i)] = b - a;
        for (int k = a; k < b; ++k)
            t.weight[static_cast<std::size_t>(i) * t.stride + (k - a)] =
                static_cast<float>(w[static_cast<std::size_t>(k)] / sum);
    }
    return t;
}

}  // namespace

int zoomed_side(int side, double zoom) {
    return std::max(1, static_cast<int>(std::lround(static_cast<double>(side) * zoom)));
}

RgbImage resize_linear(const RgbImage& img, int width, int height) {
    PFCE_CHECK_SHAPE(img.width > 0 && img.height > 0 && width > 0 && height > 0,
                     "resize_linear: ", img.width, "x", img.height, " to ", width, "x", height);
    if (width == img.width && height == img.height) return img;
    const int c = img.channels;
    const Taps tx = taps_for(img.width, width), ty = taps_for(img.height, height);
    // Rows first: (img.height, width, c) floats, then columns into the result.
    std::vector<float> rows(static_cast<std::size_t>(img.height) * width * c);
#pragma omp parallel for schedule(static)
    for (int y = 0; y < img.height; ++y) {
        const std::uint8_t* src = img.at(y, 0);
        float* dst = &rows[static_cast<std::size_t>(y) * width * c];
        for (int x = 0; x < width; ++x) {
            const int f = tx.first[static_cast<std::size_t>(x)];
            const int n = tx.count[static_cast<std::size_t>(x)];
            const float* w = &tx.weight[static_cast<std::size_t>(x) * tx.stride];
            for (int k = 0; k < c; ++k) {
                float s = 0.0f;
                for (int t = 0; t < n; ++t)
                    s += w[t] * static_cast<float>(src[static_cast<std::size_t>(f + t) * c + k]);
                dst[static_cast<std::size_t>(x) * c + k] = s;
            }
        }
    }
    RgbImage out(width, height, c);
    const std::size_t row = static_cast<std::size_t>(width) * c;
#pragma omp parallel for schedule(static)
    for (int y = 0; y < height; ++y) {
        const int f = ty.first[static_cast<std::size_t>(y)];
        const int n = ty.count[static_cast<std::size_t>(y)];
        const float* w = &ty.weight[static_cast<std::size_t>(y) * ty.stride];
        std::uint8_t* dst = out.at(y, 0);
        for (std::size_t i = 0; i < row; ++i) {
            float s = 0.0f;
            for (int t = 0; t < n; ++t) s += w[t] * rows[static_cast<std::size_t>(f + t) * row + i];
            dst[i] = static_cast<std::uint8_t>(std::clamp(std::lround(s), 0L, 255L));
        }
    }
    return out;
}

LabelMap resize_labels_nearest(const LabelMap& labels, int width, int height) {
    PFCE_CHECK_SHAPE(labels.width > 0 && labels.height > 0 && width > 0 && height > 0,
                     "resize_labels_nearest: ", labels.width, "x", labels.height, " to ", width,
                     "x", height);
    if (width == labels.width && height == labels.height) return labels;
    // Pixel x's centre, x + 0.5, lies in source pixel floor((x + 0.5) * in / out).
    std::vector<int> sx(static_cast<std::size_t>(width));
    for (int x = 0; x < width; ++x)
        sx[static_cast<std::size_t>(x)] =
            static_cast<int>((2LL * x + 1) * labels.width / (2LL * width));
    LabelMap out(width, height);
    for (int y = 0; y < height; ++y) {
        const int sy = static_cast<int>((2LL * y + 1) * labels.height / (2LL * height));
        for (int x = 0; x < width; ++x)
            out.at(y, x) = labels.at(sy, sx[static_cast<std::size_t>(x)]);
    }
    return out;
}

}  // namespace pfce
