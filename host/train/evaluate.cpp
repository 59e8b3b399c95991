// Evaluation loop: losses summed on the device (one read at the end), each batch's mean weighted
// by its normalizer so the split's loss is that of all its labelled pixels at once; the i32 device
// confusion matrix is folded into 64-bit host counts before it could overflow.
#include "host/train/evaluate.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/kernels/focal.hpp"
#include "data/resample.hpp"
#include "host/train/sliding_window.hpp"

namespace pfce {

SlidingWindow sliding_window_of(const EvalOptions& opts) {
    SlidingWindow sw;
    sw.window = opts.window;
    sw.overlap = opts.overlap >= 0 ? opts.overlap : default_overlap(opts.window);
    sw.batch = std::max(1, std::min(opts.batch_size, 8));
    sw.tta = opts.tta;
    return sw;
}

namespace {

std::vector<std::pair<int, int>> sizes_of(const std::vector<SampleData>& samples) {
    std::vector<std::pair<int, int>> sizes;
    sizes.reserve(samples.size());
    for (const SampleData& s : samples) sizes.emplace_back(s.image.width, s.image.height);
    return sizes;
}

// Labels of `windows` of a sample into a (B, h, w) host tensor.
void window_labels(const LabelMap& m, const std::vector<WindowRect>& windows, Tensor& out) {
    std::uint8_t* dst = out.data<std::uint8_t>();
    for (const WindowRect& r : windows)
        for (int y = 0; y < r.h; ++y, dst += r.w) {
            if (m.width == 0) {
                std::memset(dst, 255, static_cast<std::size_t>(r.w));
                continue;
            }
            std::memcpy(dst, &m.labels[static_cast<std::size_t>(r.y0 + y) * m.width + r.x0],
                        static_cast<std::size_t>(r.w));
        }
}

// The focal loss's normalizer for host labels (kernels::focal_normalizer of their class counts):
// the number of labelled pixels, or with normalize = "alpha" the sum of their class weights. A
// batch's mean loss times it is the batch's summed loss.
double loss_normalizer(const Tensor& labels, const FocalLossParams& p, int C) {
    std::vector<std::int64_t> counts(static_cast<std::size_t>(C), 0);
    const std::uint8_t* l = labels.data<std::uint8_t>();
    for (std::int64_t i = 0; i < labels.numel(); ++i)
        if (l[i] < C) ++counts[l[i]];
    const std::vector<float> alpha =
        p.alpha.empty() ? std::vector<float>(static_cast<std::size_t>(C), 1.0f) : p.alpha;
    return kernels::focal_normalizer(counts.data(), alpha.data(), C,
                                     p.normalize == LossNormalize::alpha);
}

// The buffers' loader, made anew unless it was made for these samples, stats and options.
BatchLoader& loader_for(EvalBuffers& buf, Backend& backend, const std::vector<SampleData>& samples,
                        const ChannelStats& stats, const EvalOptions& opts) {
    const bool same = buf.loader && buf.loader_samples == &samples &&
                      buf.loader_count == samples.size() && buf.loader_stats == stats &&
                      buf.loader_opts.batch_size == opts.batch_size &&
                      buf.loader_opts.prefetch == opts.prefetch;
    if (!same) {
        buf.loader.reset();  // its staging buffers go before the new loader makes its own
        LoaderOptions lo;
        lo.batch_size = opts.batch_size;
        lo.prefetch = opts.prefetch;
        buf.loader = std::make_unique<BatchLoader>(backend, samples, stats, lo);
        buf.loader_samples = &samples;
        buf.loader_count = samples.size();
        buf.loader_stats = stats;
        buf.loader_opts = opts;
        buf.loader_opts.progress = nullptr;  // it refers to the caller's progress, gone after
    }
    return *buf.loader;
}

// Each image's confusion matrix of a batch, from its predicted classes (`pred`, on the backend)
// and its dense masks, into r.image_confusion at the images' positions in the sample list.
void add_image_confusions(Backend& backend, const Tensor& pred, const Batch& batch, int C,
                          Tensor& host_pred, EvalResult& r) {
    ensure_host_tensor(host_pred, pred.shape(), DType::u8);
    backend.copy(host_pred, pred);
    const std::size_t plane = static_cast<std::size_t>(pred.dim(1)) * pred.dim(2);
    for (std::size_t b = 0; b < batch.indices.size(); ++b) {
        const std::uint8_t* p = host_pred.data<std::uint8_t>() + b * plane;
        const std::uint8_t* truth = batch.dense.data<std::uint8_t>() + b * plane;
        std::int64_t* own = r.image_confusion[batch.indices[b]].data();
        for (std::size_t i = 0; i < plane; ++i)
            if (truth[i] < C) ++own[static_cast<std::size_t>(truth[i]) * C + p[i]];
    }
}

// The losses and metrics of the sums and the confusion matrix. No labelled pixel in the whole
// split: a loss of 0, as that of a batch without one (DESIGN §2).
void derive(EvalResult& r, int C, int clutter_class) {
    r.loss = r.loss_norm > 0 ? r.loss_sum / r.loss_norm : 0.0;
    r.loss_dense = r.loss_dense_norm > 0 ? r.loss_dense_sum / r.loss_dense_norm : 0.0;
    r.metrics = metrics_from_confusion(r.confusion, C, clutter_class);
}

}  // namespace

// Every sample the same size and within one window (and no augmentation): the batched path.
bool evaluates_in_windows(const std::vector<std::pair<int, int>>& sizes, const EvalOptions& opts) {
    if (opts.in_windows || opts.tta > 1 || opts.zoom != 1.0) return true;
    if (sizes.empty()) return false;
    const auto [w, h] = sizes[0];
    if (w > opts.window || h > opts.window) return true;
    for (const auto& s : sizes)
        if (s.first != w || s.second != h) return true;
    return false;
}

bool every_image_in_one_window(const std::vector<std::pair<int, int>>& sizes,
                               const EvalOptions& opts) {
    return std::all_of(sizes.begin(), sizes.end(), [&](const std::pair<int, int>& s) {
        return window_count(zoomed_side(s.first, opts.zoom), zoomed_side(s.second, opts.zoom),
                            sliding_window_of(opts)) == 1;
    });
}

std::int64_t eval_progress_units(int width, int height, bool in_windows, const EvalOptions& opts) {
    return in_windows ? window_count(zoomed_side(width, opts.zoom), zoomed_side(height, opts.zoom),
                                     sliding_window_of(opts))
                      : 1;
}

void merge_into(EvalResult& total, const EvalResult& part, int clutter_class) {
    if (total.confusion.empty()) total.confusion.assign(part.confusion.size(), 0);
    for (std::size_t k = 0; k < part.confusion.size(); ++k) total.confusion[k] += part.confusion[k];
    total.loss_sum += part.loss_sum;
    total.loss_norm += part.loss_norm;
    total.loss_dense_sum += part.loss_dense_sum;
    total.loss_dense_norm += part.loss_dense_norm;
    total.images += part.images;
    total.images_unlabelled += part.images_unlabelled;
    const int C = static_cast<int>(std::lround(std::sqrt(double(total.confusion.size()))));
    derive(total, C, clutter_class);
}

EvalResult evaluate(Backend& backend, UNet& net, const std::vector<SampleData>& samples,
                    const ChannelStats& stats, const FocalLossParams& loss, int clutter_class,
                    const EvalOptions& opts) {
    EvalBuffers buffers;
    return evaluate(backend, net, samples, stats, loss, clutter_class, opts, buffers);
}

EvalResult evaluate(Backend& backend, UNet& net, const std::vector<SampleData>& samples,
                    const ChannelStats& stats, const FocalLossParams& loss, int clutter_class,
                    const EvalOptions& opts, EvalBuffers& buf) {
    const int C = net.config().num_classes;
    EvalResult r;
    r.confusion.assign(static_cast<std::size_t>(C) * C, 0);
    if (opts.per_image) r.image_confusion.assign(samples.size(), r.confusion);
    if (samples.empty()) {
        r.loss = r.loss_dense = std::numeric_limits<double>::quiet_NaN();
        r.metrics = metrics_from_confusion(r.confusion, C, clutter_class);
        return r;
    }
    Tensor &labels = buf.labels, &dense = buf.dense, none;
    Tensor &d_loss = buf.d_loss, &sum_loss = buf.sum_loss, &sum_dense = buf.sum_dense;
    ensure_tensor(backend, d_loss, {1}, DType::f32);
    ensure_tensor(backend, sum_loss, {1}, DType::f32);
    ensure_tensor(backend, sum_dense, {1}, DType::f32);
    backend.fill(sum_loss, 0.0f);
    backend.fill(sum_dense, 0.0f);
    // Each batch's (or window batch's) mean loss, times its normalizer, is summed on the device;
    // the normalizers are summed here from the host labels. Dividing at the end gives the loss of
    // the split's labelled pixels together: a short last batch or a window without labels weighs
    // what its labelled pixels weigh, so the loss does not move with the batch size or window.
    double norm_loss = 0, norm_dense = 0;
    auto add_losses = [&](const Tensor& logits, const Tensor& host_labels,
                          const Tensor& host_dense) {
        const double nl = loss_normalizer(host_labels, loss, C);
        const double nd = loss_normalizer(host_dense, loss, C);
        if (nl > 0) {
            backend.focal_loss(logits, labels, loss, d_loss, none);
            backend.scale_inplace(d_loss, static_cast<float>(nl));
            backend.add_inplace(sum_loss, d_loss);
            norm_loss += nl;
        }
        if (nd > 0) {
            backend.focal_loss(logits, dense, loss, d_loss, none);
            backend.scale_inplace(d_loss, static_cast<float>(nd));
            backend.add_inplace(sum_dense, d_loss);
            norm_dense += nd;
        }
    };

    if (evaluates_in_windows(sizes_of(samples), opts)) {
        SlidingWindow sw = sliding_window_of(opts);
        Tensor &host_labels = buf.host_labels, &host_dense = buf.host_dense;
        std::int64_t all_windows = 0, windows_before = 0;
        for (const SampleData& s : samples)
            all_windows += eval_progress_units(s.image.width, s.image.height, true, opts);
        if (opts.progress)
            sw.progress = [&](std::int64_t done, std::int64_t) {
                opts.progress(windows_before + done, all_windows, "windows");
            };
        for (std::size_t k = 0; k < samples.size(); ++k) {
            const SampleData& s = samples[k];
            const int W = s.image.width;
            std::int64_t* own = opts.per_image ? r.image_confusion[k].data() : nullptr;
            auto per_batch = [&](const Tensor& logits, const std::vector<WindowRect>& windows) {
                const Shape shape{logits.dim(0), logits.dim(2), logits.dim(3)};
                if (host_labels.empty() || host_labels.shape() != shape) {
                    ensure_host_tensor(host_labels, shape, DType::u8);
                    ensure_host_tensor(host_dense, shape, DType::u8);
                    ensure_tensor(backend, labels, shape, DType::u8);
                    ensure_tensor(backend, dense, shape, DType::u8);
                }
                window_labels(s.train_labels, windows, host_labels);
                window_labels(s.dense, windows, host_dense);
                backend.copy(labels, host_labels);
                backend.copy(dense, host_dense);
                add_losses(logits, host_labels, host_dense);
            };
            auto rows = [&](int y0, int n, const float* logits) {
                if (s.dense.width == 0) return;
                const std::size_t plane = static_cast<std::size_t>(n) * W;
                const std::uint8_t* truth = &s.dense.labels[static_cast<std::size_t>(y0) * W];
                for (std::size_t p = 0; p < plane; ++p) {
                    if (truth[p] == 255) continue;
                    int best = 0;
                    for (int c = 1; c < C; ++c)
                        if (logits[c * plane + p] > logits[best * plane + p]) best = c;
                    const std::size_t cell = static_cast<std::size_t>(truth[p]) * C + best;
                    ++r.confusion[cell];
                    if (own) ++own[cell];
                }
            };
            if (opts.zoom == 1.0) {
                sliding_logits(backend, net, s.image, stats, sw, rows, per_batch, &buf.x,
                               &buf.tta_logits);
            } else {
                // The model sees the image zoomed; its logits come back onto the masks' pixels,
                // where the losses are taken band by band (the windows' labels would be of other
                // pixels than the model's).
                const int H = s.image.height;
                auto band = [&](int y0, int n, const float* logits) {
                    const Shape shape{1, n, W};
                    ensure_host_tensor(host_labels, shape, DType::u8);
                    ensure_host_tensor(host_dense, shape, DType::u8);
                    ensure_tensor(backend, labels, shape, DType::u8);
                    ensure_tensor(backend, dense, shape, DType::u8);
                    const Shape logit_shape{1, C, n, W};
                    ensure_host_tensor(buf.host_band_logits, logit_shape);
                    ensure_tensor(backend, buf.band_logits, logit_shape);
                    std::memcpy(buf.host_band_logits.raw(), logits, buf.host_band_logits.bytes());
                    const std::vector<WindowRect> rect{WindowRect{0, y0, W, n}};
                    window_labels(s.train_labels, rect, host_labels);
                    window_labels(s.dense, rect, host_dense);
                    backend.copy(buf.band_logits, buf.host_band_logits);
                    backend.copy(labels, host_labels);
                    backend.copy(dense, host_dense);
                    add_losses(buf.band_logits, host_labels, host_dense);
                    rows(y0, n, logits);
                };
                sliding_logits_zoomed(backend, net, s.image, stats, sw, zoomed_side(W, opts.zoom),
                                      zoomed_side(H, opts.zoom), band, &buf.x, &buf.tta_logits);
            }
            windows_before += eval_progress_units(s.image.width, s.image.height, true, opts);
            ++r.images;
        }
    } else {
        BatchLoader& loader = loader_for(buf, backend, samples, stats, opts);
        loader.start_epoch(0);
        Tensor &x = buf.x, &pred = buf.pred, &conf = buf.conf, &conf_host = buf.conf_host;
        ensure_tensor(backend, conf, {C, C}, DType::i32);
        backend.fill(conf, 0.0f);
        ensure_host_tensor(conf_host, {C, C}, DType::i32);
        auto flush = [&] {
            backend.copy(conf_host, conf);
            for (std::size_t k = 0; k < r.confusion.size(); ++k)
                r.confusion[k] += conf_host.data<std::int32_t>()[k];
            backend.fill(conf, 0);
        };
        std::int64_t pending_pixels = 0;
        Batch batch;
        while (loader.next(batch)) {
            ensure_tensor(backend, x, batch.images.shape(), DType::f32);
            ensure_tensor(backend, labels, batch.train_labels.shape(), DType::u8);
            ensure_tensor(backend, dense, batch.dense.shape(), DType::u8);
            ensure_tensor(backend, pred, batch.dense.shape(), DType::u8);
            const std::int64_t pixels = batch.dense.numel();
            // A cell can count every pixel of the pending batches: flush before i32 could overflow.
            if (pending_pixels + pixels > std::numeric_limits<std::int32_t>::max()) {
                flush();
                pending_pixels = 0;
            }
            backend.copy(x, batch.images);
            backend.copy(labels, batch.train_labels);
            backend.copy(dense, batch.dense);
            const Tensor& logits = net.forward(x, false);
            add_losses(logits, batch.train_labels, batch.dense);
            backend.argmax_channels(logits, pred);
            backend.confusion_accumulate(pred, dense, conf);
            if (opts.per_image) add_image_confusions(backend, pred, batch, C, buf.host_pred, r);
            pending_pixels += pixels;
            r.images += batch.images.dim(0);
            if (opts.progress)
                opts.progress(r.images, static_cast<std::int64_t>(samples.size()), "img");
        }
        flush();
    }
    r.loss_norm = norm_loss;
    r.loss_dense_norm = norm_dense;
    r.loss_sum = norm_loss > 0 ? read_scalar(backend, sum_loss) : 0.0;
    r.loss_dense_sum = norm_dense > 0 ? read_scalar(backend, sum_dense) : 0.0;
    derive(r, C, clutter_class);
    return r;
}

}  // namespace pfce
