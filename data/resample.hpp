// Resampling an image to another pixel size and a model's logits back to the image's pixels:
// predict and eval --zoom, for imagery of another ground sampling distance than the model's
// training images (a model trained at 5 cm sees 10 cm imagery at half the scale it learnt; zoomed
// by 2 it sees it at its own).
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <vector>

#include "data/image.hpp"

namespace pfce {

namespace detail {
// Per output index along one axis of `in` -> `out` pixels: the first input index it reads and its
// normalised weights (the filter of resize_linear).
struct ResampleTaps {
    std::vector<int> first;     // per output
    std::vector<int> count;     // per output
    std::vector<float> weight;  // per output, `stride` of them, the first `count` used
    int stride = 0;
};
ResampleTaps resample_taps(int in, int out);
}  // namespace detail

// The side of an image of `side` pixels zoomed by `zoom`: round(side * zoom), at least 1.
int zoomed_side(int side, double zoom);

// The smallest zoom of two significant digits at which a side of `side` pixels is at least
// `target` (zoomed_side): the --zoom to name where one leaves an image too small for a U-Net.
double smallest_zoom_reaching(int side, int target);

// `img` resampled to width x height, every channel: a triangle (linear) filter on pixel centres,
// widened by the reduction when shrinking so each output pixel averages the input pixels it
// covers (as Pillow's BILINEAR). Taps past the edge are left out and the rest renormalised, so a
// constant image stays constant to the last pixel. The same size returns a copy.
RgbImage resize_linear(const RgbImage& img, int width, int height);

// An image resampled to width x height a band of rows at a time, each row as resize_linear makes
// it (bit for bit): sliding windows over a zoomed image hold a window's rows of it, never the
// whole (zoom 8 makes a 6000x6000 tile 48000x48000: 6.9 GB whole, 74 MB a band of 512 rows).
// `img` must outlive it.
class ZoomedRows {
  public:
    ZoomedRows(const RgbImage& img, int width, int height);
    int width() const { return width_; }
    int height() const { return height_; }
    int channels() const { return img_.channels; }
    // Rows y0 .. y0 + n - 1 of the zoomed image, one after another (width * channels bytes a
    // row), valid until the next call. Rows the last band shares with this one are kept, not made
    // again.
    const std::uint8_t* rows(int y0, int n);
    // What one holds at most for bands of `rows` rows of `width` pixels of `channels` bytes, and
    // the float row per thread that each zoomed row is made through (of the input's width).
    static double held_bytes(int channels, int width, int rows, int in_width, int threads) {
        return static_cast<double>(channels) * width * rows + 4.0 * channels * in_width * threads;
    }

  private:
    const RgbImage& img_;
    int width_, height_;
    detail::ResampleTaps tx_, ty_;
    std::vector<std::uint8_t> band_;  // rows first_ .. first_ + count_ - 1
    int first_ = 0, count_ = 0;
};

// Planar float images (a model's logits: `channels` planes) resampled by the filter of
// resize_linear, streamed: bands of the input's rows go in top to bottom, and bands of the
// output's rows come out as soon as the input rows they read are in. It holds the few input rows
// the filter spans, at the output's width, so the logits of a 6000x6000 tile zoomed by 2 never
// exist whole. predict and eval --zoom bring a model's logits back onto the input's pixels with it
// before the argmax (class labels cannot be averaged; logits can).
class PlaneResampler {
  public:
    // The most output rows handed on at once (a push may hand on several bands).
    static constexpr int kMaxBandRows = 128;
    // Receives (channels, n, out_width) floats: output rows y0 .. y0 + n - 1.
    using Rows = std::function<void(int y0, int n, const float* planes)>;
    PlaneResampler(int channels, int in_width, int in_height, int out_width, int out_height,
                   Rows out);
    // The input's rows y0 .. y0 + n - 1, (channels, n, in_width) floats; y0 continues the rows
    // given so far. The last input row hands on the last output rows.
    void push(int y0, int n, const float* planes);
    // What one holds at most, bringing `channels` planes back to `out_width` from images zoomed by
    // `zoom`: a band of kMaxBandRows output rows and the input rows the filter spans, as floats
    // (for the memory estimates of predict and eval).
    static double held_bytes(int channels, int out_width, double zoom) {
        return 4.0 * channels * out_width * (kMaxBandRows + 2 * std::ceil(zoom) + 4);
    }

  private:
    int channels_, in_w_, in_h_, out_w_, out_h_;
    Rows out_;
    detail::ResampleTaps tx_, ty_;
    int received_ = 0;         // input rows pushed
    int held_first_ = 0;       // the input row held first in held_
    int next_out_ = 0;         // the next output row to hand on
    std::vector<float> held_;  // input rows held_first_.. resampled across: [row][channel][x]
    std::vector<float> band_;  // output rows handed on: (channels, n, out_w_)
};

// Whole planes (channels, in_height, in_width) resampled to (channels, out_height, out_width)
// through PlaneResampler.
std::vector<float> resize_planes_linear(const std::vector<float>& planes, int channels,
                                        int in_width, int in_height, int out_width, int out_height);

}  // namespace pfce
