#include "data/resample.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/text.hpp"

namespace pfce {

namespace detail {

ResampleTaps resample_taps(int in, int out) {
    const double scale = static_cast<double>(out) / in;
    const double support = scale < 1.0 ? 1.0 / scale : 1.0;  // input pixels each side
    ResampleTaps t;
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

}  // namespace detail

int zoomed_side(int side, double zoom) {
    return std::max(1, static_cast<int>(std::lround(static_cast<double>(side) * zoom)));
}

double smallest_zoom_reaching(int side, int target) {
    PFCE_CHECK_SHAPE(side > 0 && target > 0, "smallest_zoom_reaching: side ", side, " to ", target);
    // lround(side * z) >= target from z = (target - 0.5) / side, rounded up to two digits.
    const double exact = (target - 0.5) / side;
    const double step = std::pow(10.0, std::floor(std::log10(exact)) - 1);
    // Each candidate as decimals print it (0.79, not 0.79000000000000004), checked as it reads.
    for (double k = std::ceil(exact / step - 1e-9);; ++k)
        if (const double z = std::stod(format_significant(k * step, 2));
            zoomed_side(side, z) >= target)
            return z;
}

namespace {

// Rows y0 .. y0 + n - 1 of `img` resampled by the taps tx (across) and ty (down), into `dst` (n
// rows of tx's outputs): down first, one output row at a time into a float row at the input's
// width, then across. A row of floats per thread, not the whole image's rows at the output's width
// (at zoom 8, a 6000x6000 tile's would be 3.5 GB beside the 6.9 GB image). resize_linear and
// ZoomedRows both make their rows here, so a band is the whole image's rows bit for bit.
void resample_rows(const RgbImage& img, const detail::ResampleTaps& tx,
                   const detail::ResampleTaps& ty, int y0, int n, std::uint8_t* dst) {
    const int c = img.channels;
    const auto width = static_cast<int>(tx.first.size());
    const std::size_t in_row = static_cast<std::size_t>(img.width) * c;
    const std::size_t out_row = static_cast<std::size_t>(width) * c;
#pragma omp parallel
    {
        std::vector<float> column(in_row);
#pragma omp for schedule(static)
        for (int r = 0; r < n; ++r) {
            const auto y = static_cast<std::size_t>(y0 + r);
            const int f = ty.first[y];
            const int k = ty.count[y];
            const float* w = &ty.weight[y * ty.stride];
            std::fill(column.begin(), column.end(), 0.0f);
            for (int t = 0; t < k; ++t) {
                const std::uint8_t* src = img.at(f + t, 0);
                for (std::size_t i = 0; i < in_row; ++i)
                    column[i] += w[t] * static_cast<float>(src[i]);
            }
            std::uint8_t* out = dst + static_cast<std::size_t>(r) * out_row;
            for (int x = 0; x < width; ++x) {
                const int fx = tx.first[static_cast<std::size_t>(x)];
                const int nx = tx.count[static_cast<std::size_t>(x)];
                const float* wx = &tx.weight[static_cast<std::size_t>(x) * tx.stride];
                for (int ch = 0; ch < c; ++ch) {
                    float s = 0.0f;
                    for (int t = 0; t < nx; ++t)
                        s += wx[t] * column[static_cast<std::size_t>(fx + t) * c + ch];
                    out[static_cast<std::size_t>(x) * c + ch] =
                        static_cast<std::uint8_t>(std::clamp(std::lround(s), 0L, 255L));
                }
            }
        }
    }
}

}  // namespace

RgbImage resize_linear(const RgbImage& img, int width, int height) {
    PFCE_CHECK_SHAPE(img.width > 0 && img.height > 0 && width > 0 && height > 0,
                     "resize_linear: ", img.width, "x", img.height, " to ", width, "x", height);
    if (width == img.width && height == img.height) return img;
    RgbImage out(width, height, img.channels);
    resample_rows(img, detail::resample_taps(img.width, width),
                  detail::resample_taps(img.height, height), 0, height, out.pixels.data());
    return out;
}

ZoomedRows::ZoomedRows(const RgbImage& img, int width, int height)
    : img_(img), width_(width), height_(height) {
    PFCE_CHECK_SHAPE(img.width > 0 && img.height > 0 && width > 0 && height > 0,
                     "ZoomedRows: ", img.width, "x", img.height, " to ", width, "x", height);
    tx_ = detail::resample_taps(img.width, width);
    ty_ = detail::resample_taps(img.height, height);
}

const std::uint8_t* ZoomedRows::rows(int y0, int n) {
    PFCE_CHECK_SHAPE(y0 >= 0 && n > 0 && y0 + n <= height_, "ZoomedRows::rows: ", y0, "..", y0 + n,
                     " of ", height_);
    const std::size_t row = static_cast<std::size_t>(width_) * img_.channels;
    // Rows of the last band that this one shares move up instead of being made again (sliding
    // windows overlap by a quarter of a window, so a quarter of each band is kept).
    int kept = 0;
    if (y0 >= first_ && y0 < first_ + count_) {
        kept = std::min(first_ + count_ - y0, n);
        std::memmove(band_.data(), band_.data() + static_cast<std::size_t>(y0 - first_) * row,
                     static_cast<std::size_t>(kept) * row);
    }
    if (band_.size() < static_cast<std::size_t>(n) * row)
        band_.resize(static_cast<std::size_t>(n) * row);  // grow-only: windows have one height
    if (kept < n)
        resample_rows(img_, tx_, ty_, y0 + kept, n - kept,
                      band_.data() + static_cast<std::size_t>(kept) * row);
    first_ = y0;
    count_ = n;
    return band_.data();
}

PlaneResampler::PlaneResampler(int channels, int in_width, int in_height, int out_width,
                               int out_height, Rows out)
    : channels_(channels),
      in_w_(in_width),
      in_h_(in_height),
      out_w_(out_width),
      out_h_(out_height),
      out_(std::move(out)) {
    PFCE_CHECK_SHAPE(
        channels > 0 && in_width > 0 && in_height > 0 && out_width > 0 && out_height > 0,
        "PlaneResampler: ", channels, " planes of ", in_width, "x", in_height, " to ", out_width,
        "x", out_height);
    tx_ = detail::resample_taps(in_w_, out_w_);
    ty_ = detail::resample_taps(in_h_, out_h_);
}

void PlaneResampler::push(int y0, int n, const float* planes) {
    PFCE_CHECK_SHAPE(y0 == received_ && n >= 0 && y0 + n <= in_h_, "PlaneResampler::push: rows ",
                     y0, "..", y0 + n, " after ", received_, " of ", in_h_);
    const std::size_t in_plane = static_cast<std::size_t>(n) * in_w_;
    const std::size_t row = static_cast<std::size_t>(channels_) * out_w_;  // a held row
    // Across first: each new row at the output's width, after the rows held.
    const std::size_t before = held_.size();
    held_.resize(before + static_cast<std::size_t>(n) * row);
#pragma omp parallel for schedule(static)
    for (int r = 0; r < n; ++r)
        for (int c = 0; c < channels_; ++c) {
            const float* src = planes + c * in_plane + static_cast<std::size_t>(r) * in_w_;
            float* dst = &held_[before + static_cast<std::size_t>(r) * row +
                                static_cast<std::size_t>(c) * out_w_];
            for (int x = 0; x < out_w_; ++x) {
                const int f = tx_.first[static_cast<std::size_t>(x)];
                const int k = tx_.count[static_cast<std::size_t>(x)];
                const float* w = &tx_.weight[static_cast<std::size_t>(x) * tx_.stride];
                float s = 0.0f;
                for (int t = 0; t < k; ++t) s += w[t] * src[f + t];
                dst[x] = s;
            }
        }
    received_ += n;
    // Then down: every output row whose last input row is in, at most kMaxBandRows at a time (a
    // band of 512 input rows zoomed by 0.125 comes back as 4096 rows: 590 MB of logits at 6000
    // wide, where 128 rows are 18 MB).
    for (;;) {
        int ready = next_out_;
        while (ready < out_h_ && ready - next_out_ < kMaxBandRows &&
               ty_.first[static_cast<std::size_t>(ready)] +
                       ty_.count[static_cast<std::size_t>(ready)] <=
                   received_)
            ++ready;
        const int m = ready - next_out_;
        if (m == 0) break;
        const std::size_t out_plane = static_cast<std::size_t>(m) * out_w_;
        band_.resize(static_cast<std::size_t>(channels_) * out_plane);
#pragma omp parallel for schedule(static)
        for (int r = 0; r < m; ++r) {
            const auto y = static_cast<std::size_t>(next_out_ + r);
            const int f = ty_.first[y] - held_first_;
            const int k = ty_.count[y];
            const float* w = &ty_.weight[y * ty_.stride];
            for (int c = 0; c < channels_; ++c) {
                float* dst = &band_[c * out_plane + static_cast<std::size_t>(r) * out_w_];
                for (int x = 0; x < out_w_; ++x) {
                    float s = 0.0f;
                    for (int t = 0; t < k; ++t)
                        s += w[t] * held_[static_cast<std::size_t>(f + t) * row +
                                          static_cast<std::size_t>(c) * out_w_ + x];
                    dst[x] = s;
                }
            }
        }
        const int y0_out = next_out_;
        next_out_ = ready;
        out_(y0_out, m, band_.data());
    }
    // Rows no later output row reads are let go.
    const int keep_from = next_out_ < out_h_
                              ? std::min(ty_.first[static_cast<std::size_t>(next_out_)], received_)
                              : received_;
    if (keep_from > held_first_) {
        const std::size_t drop = static_cast<std::size_t>(keep_from - held_first_) * row;
        held_.erase(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(drop));
        held_first_ = keep_from;
    }
}

std::vector<float> resize_planes_linear(const std::vector<float>& planes, int channels,
                                        int in_width, int in_height, int out_width,
                                        int out_height) {
    PFCE_CHECK_SHAPE(planes.size() == static_cast<std::size_t>(channels) * in_width * in_height,
                     "resize_planes_linear: ", planes.size(), " floats for ", channels,
                     " planes of ", in_width, "x", in_height);
    std::vector<float> out(static_cast<std::size_t>(channels) * out_width * out_height);
    const std::size_t plane = static_cast<std::size_t>(out_width) * out_height;
    PlaneResampler r(
        channels, in_width, in_height, out_width, out_height,
        [&](int y0, int n, const float* band) {
            const std::size_t part = static_cast<std::size_t>(n) * out_width;
            for (int c = 0; c < channels; ++c)
                std::copy_n(
                    band + c * part, part,
                    out.begin() + static_cast<std::ptrdiff_t>(
                                      c * plane + static_cast<std::size_t>(y0) * out_width));
        });
    r.push(0, in_height, planes.data());
    return out;
}

}  // namespace pfce
