// Inference on images of any size in bounded memory (like mmsegmentation's "slide" mode): the
// model runs on windows of window x window pixels that overlap, their logits are averaged where
// they overlap, and rows are handed on in bands as soon as no later window touches them. Memory is
// `batch` inputs of activations (windows, or under test-time augmentation views of windows) plus
// logits for about 2 x window rows, so a 6000x6000 tile predicts as well as a 300x300 patch. All
// windows of an image have one size (the last window of a row or column is shifted to end at the
// image's edge), so the model reallocates nothing between them beyond the at most `batch` inputs
// of the first pass (a pass of augmented views may hold fewer, and views of a window that is not
// square have a second, transposed shape).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/backend.hpp"
#include "data/batch_loader.hpp"
#include "data/image.hpp"
#include "models/unet.hpp"

namespace pfce {

// Pixels neighbouring windows share unless told otherwise: a quarter of the window, for eval,
// predict and the report's pictures alike, so each scores or shows what the others do.
inline int default_overlap(int window) {
    return window / 4;
}

struct SlidingWindow {
    int window = 512;   // side of a window (an image side no longer than this is one window)
    int overlap = 128;  // pixels shared by neighbouring windows: default_overlap(window) if set
    int batch = 4;      // inputs per forward pass: windows, and under tta their views
    // Test-time augmentation (host/train/test_time_augment.hpp): each window's logits averaged
    // over this many symmetries of it, 1 (none), 4 (flips) or 8 (d4), before windows are averaged.
    int tta = 1;
    // Polls stop_requested() before each forward pass and throws StopRequested
    // (core/stop_signal.hpp): a large image under test-time augmentation takes minutes, too long
    // to finish after Ctrl-C. Off where a stop is handled between steps (training, suites).
    bool stop_between_passes = false;
    // Called after each batch of windows with the windows done and the image's count: progress on
    // a large image (minutes on a CPU), shown by LazyProgress (host/train/progress.hpp).
    std::function<void(std::int64_t done, std::int64_t total)> progress{};
};

// The windows sliding_logits runs on an image of w x h: what `progress` counts to.
std::int64_t window_count(int w, int h, const SlidingWindow& sw);

// What sliding_logits holds besides the model's activations for an image of width x height:
// a row of windows' class scores (summed, their counts, and the rows handed on), as floats.
// Zoomed (sliding_logits_zoomed: width x height the size the model sees, `zoom` not 1), also that
// row of windows' pixels made from the image (data/resample's ZoomedRows: `channels` bytes a
// pixel, and a float row of image_width per thread) and the logits brought back at image_width
// (PlaneResampler). For the memory guards of predict and eval.
double sliding_band_bytes(int classes, int width, int height, const SlidingWindow& sw,
                          int image_width, double zoom, int channels);

struct WindowRect {
    int x0, y0, w, h;
};

// Start positions along a side of `side` pixels: 0, stride, 2*stride, ..., and a last one at
// side - window so the edge is covered. One window (at 0) when side <= window.
std::vector<int> window_starts(int side, int window, int stride);

// Calls `rows(y0, n, logits)` for consecutive bands of rows, top to bottom: `logits` is (C, n, W)
// host floats, window logits averaged over the windows covering each pixel. `per_batch`, when
// given, sees every batch of windows: the device logits (B, C, h, w) and the windows they belong
// to (with test-time augmentation, the averaged logits, uploaded for it).
// `input`, when given, is the device buffer for the windows, kept by the caller from one call to
// the next (grow-only, ensure_tensor) so that later images allocate nothing; else a local one.
// `merged_device` likewise holds the averaged logits per_batch sees under test-time augmentation.
void sliding_logits(
    Backend& backend, UNet& net, const RgbImage& img, const ChannelStats& stats,
    const SlidingWindow& sw, const std::function<void(int y0, int n, const float* logits)>& rows,
    const std::function<void(const Tensor& logits, const std::vector<WindowRect>& windows)>&
        per_batch = {},
    Tensor* input = nullptr, Tensor* merged_device = nullptr);

// Argmax class per pixel (first maximum on ties, as Backend::argmax_channels) of sliding_logits.
// `confidence`, when given, receives the softmax probability of that class, as round(255 p): where
// the model is unsure (a candidate for the next point labels; nothing here measures that).
// `probabilities`, when given, receives every class's, as round(255 p), a plane a class (C planes
// of the image's pixels, class 0's first).
LabelMap predict_sliding(Backend& backend, UNet& net, const RgbImage& img,
                         const ChannelStats& stats, const SlidingWindow& sw,
                         LabelMap* confidence = nullptr,
                         std::vector<std::uint8_t>* probabilities = nullptr);

// sliding_logits of `img` resampled to model_width x model_height (data/resample's resize_linear,
// made a window's rows at a time by ZoomedRows, so the zoomed image is never held whole), each
// band of logits brought back onto `img`'s own pixels by the same filter (PlaneResampler,
// streamed) before `rows` sees it: predict and eval --zoom, for imagery of another pixel size
// than the model learnt. `img`'s own size is sliding_logits as it is.
void sliding_logits_zoomed(Backend& backend, UNet& net, const RgbImage& img,
                           const ChannelStats& stats, const SlidingWindow& sw, int model_width,
                           int model_height,
                           const std::function<void(int y0, int n, const float* logits)>& rows,
                           Tensor* input = nullptr, Tensor* merged_device = nullptr);

// predict_sliding of sliding_logits_zoomed: the argmax and the confidence of the logits brought
// back, a mask of `img`'s size. `img`'s own size is predict_sliding, bit for bit.
LabelMap predict_sliding_zoomed(Backend& backend, UNet& net, const RgbImage& img,
                                const ChannelStats& stats, const SlidingWindow& sw, int model_width,
                                int model_height, LabelMap* confidence = nullptr,
                                std::vector<std::uint8_t>* probabilities = nullptr);

}  // namespace pfce
