// Sliding-window inference: windows row by row, logits accumulated in a band of `window` rows that
// moves down the image; rows above the next window row are final and handed on.
#include "host/train/sliding_window.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <utility>

#include "core/error.hpp"
#include "core/parallel.hpp"
#include "core/stop_signal.hpp"
#include "data/resample.hpp"
#include "host/train/test_time_augment.hpp"

namespace pfce {

std::vector<int> window_starts(int side, int window, int stride) {
    if (side <= window) return {0};
    std::vector<int> s;
    for (int p = 0; p + window < side; p += stride) s.push_back(p);
    s.push_back(side - window);
    return s;
}

namespace {

// Where windows are read from: the rows of an image in memory, or of one zoomed a band at a time
// as the windows move down (data/resample's ZoomedRows), so a zoomed image is never held whole.
struct WindowRows {
    int width = 0, height = 0, channels = 0;
    // Rows y0 .. y0 + n - 1, one after another (width * channels bytes a row), valid until the
    // next call.
    std::function<const std::uint8_t*(int y0, int n)> rows;
};

WindowRows rows_of(const RgbImage& img) {
    return {img.width, img.height, img.channels, [&img](int y0, int) { return img.at(y0, 0); }};
}

// (x - mean) / std per channel of the pixels of `r`, into (C, r.h, r.w) planes at `dst`; `band`
// holds the image's rows from band_y0 on.
void normalize_window(const WindowRows& src, const std::uint8_t* band, int band_y0,
                      const WindowRect& r, const ChannelStats& st, float* dst) {
    const std::size_t plane = static_cast<std::size_t>(r.w) * r.h;
    const int nc = src.channels;
    for (int c = 0; c < nc; ++c) {
        const float mean = st.mean[c], inv = 1.0f / st.std[c];
        float* out = dst + c * plane;
        for (int y = 0; y < r.h; ++y) {
            const std::uint8_t* row =
                band + (static_cast<std::size_t>(r.y0 - band_y0 + y) * src.width + r.x0) * nc;
            for (int x = 0; x < r.w; ++x)
                out[static_cast<std::size_t>(y) * r.w + x] =
                    (static_cast<float>(row[nc * x + c]) - mean) * inv;
        }
    }
}

// Test-time augmentation of nb windows (`plain`: their normalized (channels, wh, ww) planes, window
// after window): the logits of every (view, window) pair, mapped back and summed into `sum` ((nb,
// C, wh, ww), zeroed by the caller). Pairs of one shape share forward passes of up to `batch`
// inputs, so a lone window's eight views are one pass of eight rather than eight of one; a window
// that is not square has two shapes (transposed views are ww x wh), which never share a pass. Pairs
// go view by view, so each window's views are added in symmetry order however they are packed: the
// sums are those of one view at a time. `forward` runs the network on `host_x` and returns the host
// logits (inputs, C, h, w).
void add_augmented_logits(const std::vector<float>& plain, std::size_t nb, int wh, int ww, int tta,
                          int batch, int channels, int C, Tensor& host_x,
                          const std::function<const float*(const Shape&)>& forward, float* sum) {
    const std::size_t wplane = static_cast<std::size_t>(ww) * wh;
    const auto in_planes = static_cast<std::size_t>(channels),
               out_planes = static_cast<std::size_t>(C);
    auto shape_of = [&](int t) { return ww != wh && (t & 4) != 0; };  // transposed shape
    std::vector<std::pair<int, std::size_t>> pass;                    // (view, window)
    auto run = [&] {
        const bool transposed = shape_of(pass.front().first);
        const auto n = static_cast<std::int64_t>(pass.size());
        const Shape in_shape = transposed ? Shape{n, channels, ww, wh} : Shape{n, channels, wh, ww};
        ensure_host_tensor(host_x, in_shape);  // grow-only: passes differ in size and shape
        float* x = host_x.data<float>();
        for (std::size_t s = 0; s < pass.size(); ++s)
            for (std::size_t c = 0; c < in_planes; ++c)
                dihedral_forward(plain.data() + (pass[s].second * in_planes + c) * wplane, wh, ww,
                                 pass[s].first, x + (s * in_planes + c) * wplane);
        const float* logits = forward(in_shape);
        for (std::size_t s = 0; s < pass.size(); ++s)
            for (std::size_t c = 0; c < out_planes; ++c)
                dihedral_add_back(logits + (s * out_planes + c) * wplane, wh, ww, pass[s].first,
                                  sum + (pass[s].second * out_planes + c) * wplane);
        pass.clear();
    };
    for (const bool transposed : {false, true}) {
        for (int t = 0; t < tta; ++t) {
            if (shape_of(t) != transposed) continue;
            for (std::size_t j = 0; j < nb; ++j) {
                pass.emplace_back(t, j);
                if (pass.size() == static_cast<std::size_t>(batch)) run();
            }
        }
        if (!pass.empty()) run();  // the other shape starts a pass of its own
    }
}

void sliding_logits_of(
    Backend& backend, UNet& net, const WindowRows& img, const ChannelStats& stats,
    const SlidingWindow& sw, const std::function<void(int, int, const float*)>& rows,
    const std::function<void(const Tensor&, const std::vector<WindowRect>&)>& per_batch,
    Tensor* input, Tensor* merged_device) {
    if (sw.window < 16 || sw.overlap < 0 || sw.overlap >= sw.window || sw.batch < 1 ||
        (sw.tta != 1 && sw.tta != 4 && sw.tta != 8))
        PFCE_THROW(InputError, "sliding window ", sw.window, " with overlap ", sw.overlap,
                   ", batch ", sw.batch, " and ", sw.tta,
                   " test-time transforms: expected a window >= 16, 0 <= overlap < window, "
                   "batch >= 1, and 1, 4 or 8 transforms");
    const int W = img.width, H = img.height, C = net.config().num_classes;
    if (W <= 0 || H <= 0) PFCE_THROW(InputError, "sliding window: empty image");
    const int ww = std::min(sw.window, W), wh = std::min(sw.window, H);
    const int stride = sw.window - sw.overlap;
    const std::vector<int> xs = window_starts(W, ww, stride), ys = window_starts(H, wh, stride);

    // Rows [lo, lo + wh) accumulate; a window row never reaches past them (see the header).
    const std::size_t band = static_cast<std::size_t>(wh) * W;
    std::vector<float> acc(static_cast<std::size_t>(C) * band, 0.0f), count(band, 0.0f);
    std::vector<float> out;
    int lo = 0;
    Tensor host_x, local_x, host_logits;
    Tensor& x = input ? *input : local_x;
    // Test-time augmentation: the windows as normalized, their logits averaged over the symmetries
    // (host, and on the backend for per_batch).
    std::vector<float> plain;
    Tensor merged, local_merged;
    Tensor& merged_dev = merged_device ? *merged_device : local_merged;
    // The logits (inputs, C, h, w) of one forward pass of `host_x`, copied to the host.
    auto forward_to_host = [&](const Shape& shape) -> const Tensor& {
        if (sw.stop_between_passes && stop_requested()) throw StopRequested();
        ensure_tensor(backend, x, shape, DType::f32);
        backend.copy(x, host_x);
        const Tensor& logits = net.forward(x, false);
        ensure_host_tensor(host_logits, logits.shape());
        backend.copy(host_logits, logits);
        return logits;
    };
    for (std::size_t k = 0; k < ys.size(); ++k) {
        const int y0 = ys[k];
        const std::uint8_t* band_rows = img.rows(y0, wh);  // this row of windows' pixels
        for (std::size_t i = 0; i < xs.size(); i += static_cast<std::size_t>(sw.batch)) {
            const std::size_t nb = std::min(static_cast<std::size_t>(sw.batch), xs.size() - i);
            const Shape shape{static_cast<std::int64_t>(nb), img.channels, wh, ww};
            const auto nc = static_cast<std::size_t>(img.channels);
            const std::size_t wplane = static_cast<std::size_t>(ww) * wh;
            std::vector<WindowRect> rects(nb);
            for (std::size_t j = 0; j < nb; ++j) rects[j] = WindowRect{xs[i + j], y0, ww, wh};
            const float* lg = nullptr;
            if (sw.tta == 1) {
                ensure_host_tensor(host_x, shape);
                for (std::size_t j = 0; j < nb; ++j)
                    normalize_window(img, band_rows, y0, rects[j], stats,
                                     host_x.data<float>() + j * nc * wplane);
                const Tensor& logits = forward_to_host(shape);
                if (per_batch) per_batch(logits, rects);
                lg = host_logits.data<float>();
            } else {
                plain.resize(nb * nc * wplane);
                for (std::size_t j = 0; j < nb; ++j)
                    normalize_window(img, band_rows, y0, rects[j], stats,
                                     plain.data() + j * nc * wplane);
                const Shape out_shape{static_cast<std::int64_t>(nb), C, wh, ww};
                ensure_host_tensor(merged, out_shape);
                float* m = merged.data<float>();
                std::fill(m, m + merged.numel(), 0.0f);
                add_augmented_logits(
                    plain, nb, wh, ww, sw.tta, sw.batch, img.channels, C, host_x,
                    [&](const Shape& in_shape) {
                        forward_to_host(in_shape);
                        return host_logits.data<float>();
                    },
                    m);
                for (std::int64_t q = 0; q < merged.numel(); ++q)
                    m[q] /= static_cast<float>(sw.tta);
                if (per_batch) {
                    ensure_tensor(backend, merged_dev, out_shape, DType::f32);
                    backend.copy(merged_dev, merged);
                    per_batch(merged_dev, rects);
                }
                lg = m;
            }
            for (std::size_t j = 0; j < nb; ++j) {
                const WindowRect& r = rects[j];
                for (int y = 0; y < wh; ++y) {
                    const std::size_t row = static_cast<std::size_t>(r.y0 - lo + y) * W + r.x0;
                    for (int xx = 0; xx < ww; ++xx) count[row + xx] += 1.0f;
                    for (int c = 0; c < C; ++c) {
                        const float* src =
                            lg + (j * C + c) * wplane + static_cast<std::size_t>(y) * ww;
                        float* dst = acc.data() + c * band + row;
                        for (int xx = 0; xx < ww; ++xx) dst[xx] += src[xx];
                    }
                }
            }
            if (sw.progress)
                sw.progress(static_cast<std::int64_t>(k * xs.size() + i + nb),
                            static_cast<std::int64_t>(ys.size() * xs.size()));
        }
        // Rows above the next window row are final: average, hand on, move the band down.
        const int next = k + 1 < ys.size() ? ys[k + 1] : H;
        const int n = next - lo;
        if (n <= 0) continue;
        const std::size_t done = static_cast<std::size_t>(n) * W;
        out.resize(static_cast<std::size_t>(C) * done);
        for (int c = 0; c < C; ++c)
            for (std::size_t p = 0; p < done; ++p) out[c * done + p] = acc[c * band + p] / count[p];
        rows(lo, n, out.data());
        const std::size_t keep = band - done;
        for (int c = 0; c < C; ++c) {
            float* a = acc.data() + c * band;
            std::memmove(a, a + done, keep * sizeof(float));
            std::fill(a + keep, a + band, 0.0f);
        }
        std::memmove(count.data(), count.data() + done, keep * sizeof(float));
        std::fill(count.begin() + static_cast<std::ptrdiff_t>(keep), count.end(), 0.0f);
        lo = next;
    }
}

}  // namespace

std::int64_t window_count(int w, int h, const SlidingWindow& sw) {
    const int stride = sw.window - sw.overlap;
    return static_cast<std::int64_t>(window_starts(w, std::min(sw.window, w), stride).size()) *
           static_cast<std::int64_t>(window_starts(h, std::min(sw.window, h), stride).size());
}

double sliding_band_bytes(int classes, int width, int height, const SlidingWindow& sw,
                          int image_width, double zoom, int channels) {
    const int rows = std::min(sw.window, height);
    double bytes = 4.0 * (2.0 * classes + 1.0) * width * rows;
    if (zoom != 1.0)
        bytes += ZoomedRows::held_bytes(channels, width, rows, image_width, openmp_threads()) +
                 PlaneResampler::held_bytes(classes, image_width, zoom);
    return bytes;
}

void sliding_logits(
    Backend& backend, UNet& net, const RgbImage& img, const ChannelStats& stats,
    const SlidingWindow& sw, const std::function<void(int, int, const float*)>& rows,
    const std::function<void(const Tensor&, const std::vector<WindowRect>&)>& per_batch,
    Tensor* input, Tensor* merged_device) {
    check_channels_match(img, stats);
    sliding_logits_of(backend, net, rows_of(img), stats, sw, rows, per_batch, input, merged_device);
}

void sliding_logits_zoomed(Backend& backend, UNet& net, const RgbImage& img,
                           const ChannelStats& stats, const SlidingWindow& sw, int model_width,
                           int model_height,
                           const std::function<void(int y0, int n, const float* logits)>& rows,
                           Tensor* input, Tensor* merged_device) {
    if (model_width == img.width && model_height == img.height) {
        sliding_logits(backend, net, img, stats, sw, rows, {}, input, merged_device);
        return;
    }
    check_channels_match(img, stats);
    ZoomedRows zoomed(img, model_width, model_height);
    PlaneResampler back(net.config().num_classes, model_width, model_height, img.width, img.height,
                        rows);
    sliding_logits_of(
        backend, net,
        WindowRows{model_width, model_height, img.channels,
                   [&](int y0, int n) { return zoomed.rows(y0, n); }},
        stats, sw, [&](int y0, int n, const float* logits) { back.push(y0, n, logits); }, {}, input,
        merged_device);
}

LabelMap predict_sliding_zoomed(Backend& backend, UNet& net, const RgbImage& img,
                                const ChannelStats& stats, const SlidingWindow& sw, int model_width,
                                int model_height, LabelMap* confidence,
                                std::vector<std::uint8_t>* probabilities) {
    const int C = net.config().num_classes;
    const int out_width = img.width, out_height = img.height;
    LabelMap out(out_width, out_height, 0);
    if (confidence) *confidence = LabelMap(out_width, out_height, 0);
    const std::size_t image_plane = static_cast<std::size_t>(out_width) * out_height;
    if (probabilities) probabilities->assign(static_cast<std::size_t>(C) * image_plane, 0);
    std::vector<double> e(static_cast<std::size_t>(C));
    sliding_logits_zoomed(
        backend, net, img, stats, sw, model_width, model_height,
        [&](int y0, int n, const float* logits) {
            const std::size_t plane = static_cast<std::size_t>(n) * out_width;
            const std::size_t first = static_cast<std::size_t>(y0) * out_width;
            std::uint8_t* dst = out.labels.data() + first;
            for (std::size_t p = 0; p < plane; ++p) {
                int best = 0;
                float v = logits[p];
                for (int c = 1; c < C; ++c)
                    if (logits[c * plane + p] > v) {
                        v = logits[c * plane + p];
                        best = c;
                    }
                dst[p] = static_cast<std::uint8_t>(best);
                if (!confidence && !probabilities) continue;
                // p(c) = exp(l_c - l_best) / sum: every term at most 1, the
                // best one 1.
                double sum = 0;
                for (int c = 0; c < C; ++c)
                    sum += e[static_cast<std::size_t>(c)] =
                        std::exp(double(logits[c * plane + p]) - v);
                if (confidence)
                    confidence->labels[first + p] =
                        static_cast<std::uint8_t>(std::lround(255.0 / sum));
                if (!probabilities) continue;
                for (int c = 0; c < C; ++c)
                    (*probabilities)[c * image_plane + first + p] = static_cast<std::uint8_t>(
                        std::lround(255.0 * e[static_cast<std::size_t>(c)] / sum));
            }
        });
    return out;
}

LabelMap predict_sliding(Backend& backend, UNet& net, const RgbImage& img,
                         const ChannelStats& stats, const SlidingWindow& sw, LabelMap* confidence,
                         std::vector<std::uint8_t>* probabilities) {
    return predict_sliding_zoomed(backend, net, img, stats, sw, img.width, img.height, confidence,
                                  probabilities);
}

}  // namespace pfce
