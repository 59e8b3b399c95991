// The batch loader: background workers fill batches (normalize through a per-channel lookup table,
// apply the sample's D4 augmentation to image and masks through one pixel map) into host staging
// tensors, at most `prefetch` batches ahead of the consumer; next() hands them out in order.
// Buffers handed back through next() are reused, once the copies from them have read them
// (Backend::wait_until_read), so a warmed-up epoch allocates nothing.
#include "data/batch_loader.hpp"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "data/augment.hpp"

namespace pfce {

bool operator==(const ChannelStats& a, const ChannelStats& b) {
    if (a.channels != b.channels) return false;
    for (int c = 0; c < a.channels; ++c)
        if (a.mean[c] != b.mean[c] || a.std[c] != b.std[c]) return false;
    return true;
}

void check_channels_match(const RgbImage& img, const ChannelStats& stats) {
    if (img.channels != stats.channels)
        PFCE_THROW(InputError, "an image of ", img.channels,
                   " channels, but the model was trained on ", stats.channels,
                   " (expected the bands it was trained with, its data.bands)");
}

ChannelStats compute_channel_stats(const std::vector<const RgbImage*>& images,
                                   const std::vector<const std::vector<std::uint8_t>*>& no_data) {
    if (images.empty()) PFCE_THROW(InputError, "channel statistics: no training images");
    const int channels = images[0]->channels;
    for (std::size_t k = 0; k < images.size(); ++k)
        if (images[k]->channels != channels || channels < 1 || channels > kMaxImageChannels)
            PFCE_THROW(InputError, "channel statistics: training image ", k, " has ",
                       images[k]->channels, " channels, image 0 has ", channels,
                       " (expected one channel count, at most ", kMaxImageChannels, ")");
    const auto stride = static_cast<std::size_t>(channels);
    // Exact integer histograms per channel: the result does not depend on summation order.
    std::vector<std::uint64_t> hist(stride * 256, 0);
    const long count = static_cast<long>(images.size());
#pragma omp parallel
    {
        std::vector<std::uint64_t> local(stride * 256, 0);
#pragma omp for schedule(dynamic, 8)
        for (long k = 0; k < count; ++k) {
            const RgbImage& img = *images[static_cast<std::size_t>(k)];
            const std::uint8_t* p = img.pixels.data();
            const std::size_t n = img.pixels.size() / stride;
            const std::vector<std::uint8_t>* none = static_cast<std::size_t>(k) < no_data.size()
                                                        ? no_data[static_cast<std::size_t>(k)]
                                                        : nullptr;
            const bool skip = none && none->size() == n;
            for (std::size_t i = 0; i < n; ++i, p += stride)
                if (!skip || !(*none)[i])
                    for (std::size_t c = 0; c < stride; ++c) ++local[c * 256 + p[c]];
        }
#pragma omp critical(pfce_channel_stats)
        for (std::size_t i = 0; i < local.size(); ++i) hist[i] += local[i];
    }
    ChannelStats st;
    st.channels = channels;
    for (int c = 0; c < channels; ++c) {
        double n = 0, sum = 0, sq = 0;
        for (int v = 0; v < 256; ++v) {
            const double h = static_cast<double>(hist[static_cast<std::size_t>(c * 256 + v)]);
            n += h;
            sum += h * v;
            sq += h * v * v;
        }
        if (n == 0)
            PFCE_THROW(
                InputError, "channel statistics: the training images have no pixels",
                no_data.empty() ? "" : " with data (every one is transparent, NoData or NaN)");
        const double mean = sum / n;
        const double var = std::max(0.0, sq / n - mean * mean);
        st.mean[c] = static_cast<float>(mean);
        // A constant channel would divide by zero; it carries no information, so leave it unscaled.
        st.std[c] = var > 1e-6 ? static_cast<float>(std::sqrt(var)) : 1.0f;
    }
    return st;
}

void fill_no_data(RgbImage& img, const std::vector<std::uint8_t>& no_data,
                  const ChannelStats& stats) {
    const auto nc = static_cast<std::size_t>(img.channels);
    if (no_data.size() != img.pixels.size() / std::max<std::size_t>(nc, 1)) return;
    std::uint8_t fill[kMaxImageChannels] = {};
    for (std::size_t c = 0; c < nc && c < kMaxImageChannels; ++c)
        fill[c] = static_cast<std::uint8_t>(std::clamp(std::lround(stats.mean[c]), 0L, 255L));
    for (std::size_t i = 0; i < no_data.size(); ++i)
        if (no_data[i]) std::copy_n(fill, nc, &img.pixels[i * nc]);
}

void fill_no_data(std::vector<SampleData>& samples, const ChannelStats& stats) {
    for (SampleData& s : samples) fill_no_data(s.image, s.no_data, stats);
}

ChannelStats training_channel_stats(std::vector<SampleData>& train, std::vector<SampleData>& val) {
    std::vector<const RgbImage*> images;
    std::vector<const std::vector<std::uint8_t>*> no_data;
    for (const SampleData& s : train) {
        images.push_back(&s.image);
        no_data.push_back(&s.no_data);
    }
    const ChannelStats stats = compute_channel_stats(images, no_data);
    fill_no_data(train, stats);
    fill_no_data(val, stats);
    return stats;
}

struct BatchLoader::Impl {
    Backend& backend;
    const std::vector<SampleData>& samples;
    LoaderOptions opts;
    int width = 0, height = 0, channels = 3;
    float lut[kMaxImageChannels][256];        // (v - mean) / std per channel
    std::uint8_t pad_rgb[kMaxImageChannels];  // crop padding's raw samples: the channel means,
                                              // which normalize to 0

    std::mutex mu;
    std::condition_variable changed;
    std::vector<std::size_t> order;
    std::size_t num_batches = 0, next_issue = 0, next_take = 0;
    int epoch = 0;
    bool started = false, stop = false;
    std::map<std::size_t, Batch> ready;
    std::vector<Batch> pool;  // recycled buffers
    std::exception_ptr error;
    std::vector<std::thread> workers;

    Impl(Backend& b, const std::vector<SampleData>& s, LoaderOptions o)
        : backend(b), samples(s), opts(o) {}

    // The draws of an epoch: every sample crops_per_image times.
    std::size_t draws() const {
        return samples.size() * static_cast<std::size_t>(std::max(1, opts.crops_per_image));
    }

    std::size_t batch_count() const {
        const std::size_t n = draws(), bs = static_cast<std::size_t>(opts.batch_size);
        return opts.drop_last ? n / bs : (n + bs - 1) / bs;
    }

    void stop_workers() {
        {
            std::lock_guard<std::mutex> lock(mu);
            stop = true;
        }
        changed.notify_all();
        for (auto& w : workers) w.join();
        workers.clear();
    }

    // The most samples (crops) a batch holds: every set of staging buffers is made this size.
    std::int64_t largest_batch() const {
        return static_cast<std::int64_t>(
            std::min(draws(), static_cast<std::size_t>(opts.batch_size)));
    }

    // Staging tensors for a batch of largest_batch() samples.
    Batch allocate_buffers() {
        const std::int64_t b = largest_batch();
        Batch out;
        out.images = backend.host_staging({b, channels, height, width}, DType::f32);
        out.train_labels = backend.host_staging({b, height, width}, DType::u8);
        out.dense = backend.host_staging({b, height, width}, DType::u8);
        if (opts.keep_rgb) out.rgb = backend.host_staging({b, 3, height, width}, DType::u8);
        return out;
    }

    // A batch of b samples: a recycled one (any batch size: they all have room for the largest)
    // relabelled to b samples, or, should the pool be empty, freshly allocated staging tensors.
    // A recycled one may still be read by the copies of the caller that handed it back (CUDA
    // reads staging memory in place, on its upload stream): this worker waits for them, so the
    // caller never does.
    Batch take_buffers(std::int64_t b) {
        Batch out;
        {
            std::lock_guard<std::mutex> lock(mu);
            if (!pool.empty()) {
                out = std::move(pool.back());
                pool.pop_back();
            }
        }
        if (out.images.empty()) {
            out = allocate_buffers();
        } else {
            for (const Tensor* t : {&out.images, &out.train_labels, &out.dense, &out.rgb})
                if (!t->empty()) backend.wait_until_read(*t);
        }
        out.images.reuse_as({b, channels, height, width}, DType::f32);
        out.train_labels.reuse_as({b, height, width}, DType::u8);
        out.dense.reuse_as({b, height, width}, DType::u8);
        if (opts.keep_rgb) out.rgb.reuse_as({b, 3, height, width}, DType::u8);
        return out;
    }

    void fill(Batch& batch, std::size_t first, std::size_t count) {
        // order holds draws (sample i's k-th crop is i + k*n); indices, the samples.
        batch.indices.resize(count);
        for (std::size_t j = 0; j < count; ++j)
            batch.indices[j] = order[first + j] % samples.size();
        const std::size_t plane = static_cast<std::size_t>(width) * height;
        float* img_out = batch.images.data<float>();
        std::uint8_t* lab_out = batch.train_labels.data<std::uint8_t>();
        std::uint8_t* dense_out = batch.dense.data<std::uint8_t>();
        std::uint8_t* rgb_out = opts.keep_rgb ? batch.rgb.data<std::uint8_t>() : nullptr;
        batch.any_train_label = false;
        for (std::size_t j = 0; j < count; ++j) {
            const std::size_t idx = batch.indices[j];
            const std::size_t draw = order[first + j];  // idx for the first crop of an image
            const SampleData& s = samples[idx];
            const D4Transform tr = opts.augment
                                       ? augmentation_for(opts.seed, epoch, draw, width == height)
                                       : D4Transform{};
            // The crop's offset in the image: inside it where the image is larger than the crop,
            // negative (the image placed inside a padded crop) where it is smaller.
            int ox = 0, oy = 0;
            if (opts.crop_size > 0) {
                CounterRng rng(opts.seed ^ 0x43524F50u /* "CROP" */,
                               static_cast<std::uint32_t>(epoch), static_cast<std::uint32_t>(draw));
                auto offset = [&](int image_side) {
                    const int lo = std::min(0, image_side - width),
                              hi = std::max(0, image_side - width);
                    return lo +
                           static_cast<int>(rng.below(static_cast<std::uint32_t>(hi - lo + 1)));
                };
                ox = offset(s.image.width);
                oy = offset(s.image.height);
            }
            const int iw = s.image.width, ih = s.image.height;
            const auto nc = static_cast<std::size_t>(channels);
            float* planes = img_out + j * nc * plane;  // (C,H,W)
            std::uint8_t* lab = lab_out + j * plane;
            std::uint8_t* den = dense_out + j * plane;
            std::uint8_t* raw = rgb_out ? rgb_out + j * 3 * plane : nullptr;  // (3,H,W)
            const bool has_dense = s.dense.width > 0;
            const std::uint8_t* px = s.image.pixels.data();
            for (int y = 0; y < height; ++y) {
                for (int x = 0; x < width; ++x) {
                    int sy = y, sx = x;
                    if (tr.t != 0) d4_source(tr, width, height, y, x, sy, sx);
                    sy += oy;
                    sx += ox;
                    const std::size_t dst = static_cast<std::size_t>(y) * width + x;
                    if (sy < 0 || sx < 0 || sy >= ih || sx >= iw) {  // padding: mean, unlabelled
                        for (std::size_t c = 0; c < nc; ++c) planes[c * plane + dst] = 0.0f;
                        lab[dst] = den[dst] = 255;
                        if (raw)
                            for (int c = 0; c < 3; ++c) raw[c * plane + dst] = pad_rgb[c];
                        continue;
                    }
                    const std::size_t src = static_cast<std::size_t>(sy) * iw + sx;
                    const std::uint8_t* p = px + src * nc;
                    for (std::size_t c = 0; c < nc; ++c) planes[c * plane + dst] = lut[c][p[c]];
                    if (raw)
                        for (int c = 0; c < 3; ++c) raw[c * plane + dst] = p[c];
                    lab[dst] = s.train_labels.labels[src];
                    den[dst] = has_dense ? s.dense.labels[src] : 255;
                }
            }
            batch.any_train_label |= check_labels(lab, plane, idx, "training labels");
            if (has_dense) check_labels(den, plane, idx, "dense mask");
        }
    }

    // Labels are validated as batches are made (the check rides on the copy): classes 0..31 or 255.
    // Whether any is a class (not 255).
    bool check_labels(const std::uint8_t* labels, std::size_t count, std::size_t idx,
                      const char* what) const {
        bool any = false;
        for (std::size_t i = 0; i < count; ++i) {
            if (labels[i] >= 32 && labels[i] != 255)
                PFCE_THROW(InputError, "batch loader: sample ", idx, " ", what, " hold label ",
                           static_cast<int>(labels[i]),
                           "; expected a class 0..31 or 255 (unlabelled)");
            any |= labels[i] != 255;
        }
        return any;
    }

    void work() {
        for (;;) {
            std::size_t b;
            {
                std::unique_lock<std::mutex> lock(mu);
                changed.wait(lock, [&] {
                    return stop || error || next_issue >= num_batches ||
                           next_issue < next_take + static_cast<std::size_t>(opts.prefetch);
                });
                if (stop || error || next_issue >= num_batches) return;
                b = next_issue++;
            }
            try {
                const std::size_t bs = static_cast<std::size_t>(opts.batch_size);
                const std::size_t first = b * bs, count = std::min(bs, draws() - first);
                Batch batch = take_buffers(static_cast<std::int64_t>(count));
                fill(batch, first, count);
                {
                    std::lock_guard<std::mutex> lock(mu);
                    ready.emplace(b, std::move(batch));
                }
            } catch (...) {
                std::lock_guard<std::mutex> lock(mu);
                if (!error) error = std::current_exception();
            }
            changed.notify_all();
        }
    }
};

BatchLoader::BatchLoader(Backend& backend, const std::vector<SampleData>& samples,
                         ChannelStats stats, LoaderOptions opts)
    : impl_(std::make_unique<Impl>(backend, samples, opts)) {
    if (samples.empty()) PFCE_THROW(InputError, "batch loader: no samples");
    if (opts.batch_size < 1)
        PFCE_THROW(InputError, "batch loader: batch size ", opts.batch_size, " must be at least 1");
    impl_->opts.prefetch = std::max(1, opts.prefetch);
    if (opts.crop_size < 0 || opts.crop_size > 65536)
        PFCE_THROW(InputError, "batch loader: crop size ", opts.crop_size, " out of range");
    for (std::size_t i = 0; i < samples.size(); ++i) {
        const SampleData& s = samples[i];
        const int w = s.image.width, h = s.image.height;
        if (w <= 0 || h <= 0 || s.image.channels != stats.channels ||
            s.image.pixels.size() != static_cast<std::size_t>(w) * h * s.image.channels)
            PFCE_THROW(InputError, "batch loader: sample ", i,
                       " has an empty or inconsistent image (", w, "x", h, ", ", s.image.channels,
                       " channels; the statistics have ", stats.channels, ")");
        if (opts.crop_size == 0 && (w != samples[0].image.width || h != samples[0].image.height))
            PFCE_THROW(InputError, "batch loader: images differ in size (sample ", i, " is ", w,
                       "x", h, ", sample 0 is ", samples[0].image.width, "x",
                       samples[0].image.height,
                       "); train with random crops (crop_size, --crop-size 512) to use them all");
        if (s.train_labels.width != w || s.train_labels.height != h ||
            s.train_labels.labels.size() != static_cast<std::size_t>(w) * h)
            PFCE_THROW(InputError, "batch loader: sample ", i, " training labels are ",
                       s.train_labels.width, "x", s.train_labels.height, " but its image is ", w,
                       "x", h);
        if (s.dense.width != 0 && (s.dense.width != w || s.dense.height != h ||
                                   s.dense.labels.size() != static_cast<std::size_t>(w) * h))
            PFCE_THROW(InputError, "batch loader: sample ", i, " dense mask is ", s.dense.width,
                       "x", s.dense.height, " but its image is ", w, "x", h);
    }
    if (opts.drop_last && impl_->draws() < static_cast<std::size_t>(opts.batch_size))
        PFCE_THROW(InputError, "batch loader: ", impl_->draws(),
                   opts.crops_per_image > 1 ? " crops" : " samples", " make no full batch of ",
                   opts.batch_size, " with drop_last");
    impl_->width = opts.crop_size > 0 ? opts.crop_size : samples[0].image.width;
    impl_->height = opts.crop_size > 0 ? opts.crop_size : samples[0].image.height;
    if (stats.channels < 3 || stats.channels > kMaxImageChannels)
        PFCE_THROW(InputError, "batch loader: ", stats.channels, " channels (expected 3..",
                   kMaxImageChannels, ")");
    impl_->channels = stats.channels;
    for (int c = 0; c < stats.channels; ++c) {
        if (!(stats.std[c] > 0) || !std::isfinite(stats.std[c]) || !std::isfinite(stats.mean[c]))
            PFCE_THROW(InputError, "batch loader: channel ", c, " statistics mean ", stats.mean[c],
                       " std ", stats.std[c],
                       " are unusable; expected a finite mean and a positive std");
        for (int v = 0; v < 256; ++v)
            impl_->lut[c][v] = (static_cast<float>(v) - stats.mean[c]) / stats.std[c];
        impl_->pad_rgb[c] =
            static_cast<std::uint8_t>(std::clamp(std::lround(stats.mean[c]), 0L, 255L));
    }
}

BatchLoader::~BatchLoader() {
    impl_->stop_workers();
}

std::size_t BatchLoader::batches_per_epoch() const {
    return impl_->batch_count();
}

void BatchLoader::start_epoch(int epoch) {
    Impl& im = *impl_;
    im.stop_workers();
    // Every set of staging buffers the loader will ever use, made now: at most prefetch batches
    // are being filled or wait while the caller holds one (next() takes the caller's back before
    // handing out another), so prefetch + 1 sets always suffice and, however the threads run, none
    // is allocated once the first epoch has started (one pinned pool per loader).
    if (!im.started)
        for (int k = 0; k <= im.opts.prefetch; ++k) im.pool.push_back(im.allocate_buffers());
    {
        std::lock_guard<std::mutex> lock(im.mu);
        // Batches prepared for an abandoned epoch go back to the pool.
        for (auto& kv : im.ready) im.pool.push_back(std::move(kv.second));
        im.ready.clear();
        im.stop = false;
        im.error = nullptr;
        im.epoch = epoch;
        im.started = true;
        im.order.resize(im.draws());
        for (std::size_t i = 0; i < im.order.size(); ++i) im.order[i] = i;
        if (im.opts.shuffle) {
            CounterRng rng(im.opts.seed ^ 0x53485546464C4521ull /* "SHUFFLE!" */,
                           static_cast<std::uint32_t>(epoch), 0xFFFFFFFFu);
            for (std::size_t i = im.order.size(); i > 1; --i)
                std::swap(im.order[i - 1], im.order[rng.below(static_cast<std::uint32_t>(i))]);
        }
        im.num_batches = im.batch_count();
        im.next_issue = 0;
        im.next_take = 0;
    }
    const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    const int threads = std::max(1, std::min({im.opts.prefetch, static_cast<int>(hw), 4}));
    for (int t = 0; t < threads; ++t) im.workers.emplace_back([&im] { im.work(); });
}

bool BatchLoader::next(Batch& out) {
    Impl& im = *impl_;
    if (!im.started) PFCE_THROW(ShapeError, "batch loader: next() before start_epoch()");
    // Hand the previous batch's buffers back first. No wait for the device here: the worker that
    // reuses them waits until the copies from them have read them (take_buffers).
    if (!out.images.empty()) {
        Batch old;
        old.images = std::move(out.images);
        old.train_labels = std::move(out.train_labels);
        old.dense = std::move(out.dense);
        old.rgb = std::move(out.rgb);
        std::lock_guard<std::mutex> lock(im.mu);
        if (im.pool.size() < static_cast<std::size_t>(im.opts.prefetch) + 2)
            im.pool.push_back(std::move(old));
    }
    out.indices.clear();
    std::unique_lock<std::mutex> lock(im.mu);
    if (im.next_take >= im.num_batches) return false;
    im.changed.wait(lock, [&] { return im.error || im.ready.count(im.next_take) > 0; });
    if (im.error) std::rethrow_exception(im.error);
    auto it = im.ready.find(im.next_take);
    out = std::move(it->second);
    im.ready.erase(it);
    ++im.next_take;
    lock.unlock();
    im.changed.notify_all();
    return true;
}

}  // namespace pfce
