// Parts of a split read while the previous part is evaluated: the next part's reading (decoding
// TIFFs and PNGs, on its own OpenMP team) overlaps the device's work on this one.
#include "host/train/evaluate_split.hpp"

#include <algorithm>
#include <future>
#include <numeric>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "core/log.hpp"
#include "core/op_params.hpp"
#include "core/parallel.hpp"
#include "core/text.hpp"
#include "data/image_io.hpp"
#include "host/train/train_data.hpp"

namespace pfce {

std::int64_t decoded_sample_bytes(int width, int height, int channels) {
    return std::int64_t{width} * height * (channels + 1 + 1);
}

std::vector<std::pair<std::size_t, std::size_t>> plan_eval_parts(
    const std::vector<std::int64_t>& bytes, std::int64_t budget) {
    std::vector<std::pair<std::size_t, std::size_t>> parts;
    std::size_t first = 0;
    std::int64_t held = 0;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (i > first && held + bytes[i] > budget) {
            parts.emplace_back(first, i);
            first = i;
            held = 0;
        }
        held += bytes[i];
    }
    if (first < bytes.size()) parts.emplace_back(first, bytes.size());
    return parts;
}

std::vector<std::pair<int, int>> sample_sizes(const Dataset& ds,
                                              const std::vector<std::size_t>& indices) {
    std::vector<std::pair<int, int>> sizes;
    sizes.reserve(indices.size());
    for (std::size_t i : indices) {
        const SampleRef& s = ds.sample(i);
        if (s.width > 0 && s.height > 0) {
            sizes.emplace_back(s.width, s.height);
        } else {
            const ImageInfo info = probe_image(s.image_path);
            sizes.emplace_back(info.width, info.height);
        }
    }
    return sizes;
}

namespace {

// Whether a sample labels a pixel its evaluation counts: one of its dense mask (the confusion
// matrix, the dense loss) or of its training labels (the loss).
bool labels_a_pixel(const SampleData& s) {
    auto any = [](const LabelMap& m) {
        return std::any_of(m.labels.begin(), m.labels.end(),
                           [](std::uint8_t v) { return v != kUnlabelled; });
    };
    return any(s.dense) || any(s.train_labels);
}

}  // namespace

EvalResult evaluate_split(Backend& backend, UNet& net, const Dataset& ds,
                          const std::vector<std::size_t>& indices, const MaskDir* labels,
                          const ChannelStats& stats, const FocalLossParams& loss, int clutter_class,
                          const SplitEvalOptions& opts) {
    const std::vector<std::pair<int, int>> sizes = sample_sizes(ds, indices);
    EvalOptions eo = opts.eval;
    eo.in_windows = evaluates_in_windows(sizes, eo);
    std::vector<std::int64_t> bytes, units;
    for (const auto& [w, h] : sizes) {
        bytes.push_back(decoded_sample_bytes(w, h, stats.channels));
        units.push_back(eval_progress_units(w, h, eo.in_windows, eo));
    }
    const std::int64_t all_units = std::accumulate(units.begin(), units.end(), std::int64_t{0});
    const auto parts = plan_eval_parts(bytes, opts.part_bytes);
    log_debug("eval: ", indices.size(), indices.size() == 1 ? " image, " : " images, ",
              format_bytes(static_cast<double>(
                  std::accumulate(bytes.begin(), bytes.end(), std::int64_t{0}))),
              " decoded, read in ", parts.size(), parts.size() == 1 ? " part" : " parts", ", ",
              eo.in_windows ? "in sliding windows" : "in batches");
    auto read = [&ds, &indices, labels, &stats,
                 threads = openmp_threads()](std::pair<std::size_t, std::size_t> part) {
        use_openmp_threads(threads);  // on the reader's thread too (core/parallel.hpp)
        const std::vector<std::size_t> these(
            indices.begin() + static_cast<std::ptrdiff_t>(part.first),
            indices.begin() + static_cast<std::ptrdiff_t>(part.second));
        std::vector<SampleData> samples = load_samples(ds, these, labels, /*scored=*/true);
        fill_no_data(samples, stats);  // as predict sees them
        return samples;
    };

    const int C = net.config().num_classes;
    EvalResult total;
    total.confusion.assign(static_cast<std::size_t>(C) * C, 0);
    if (eo.per_image) total.image_confusion.assign(indices.size(), total.confusion);
    // Declared before the buffers, so that the buffers' batch loader (whose threads read these
    // samples) goes first when an exception leaves this function.
    std::vector<SampleData> samples;
    EvalBuffers buffers;  // device tensors kept from one part to the next
    std::future<std::vector<SampleData>> next;
    std::int64_t units_before = 0, last_done = 0;
    for (std::size_t p = 0; p < parts.size(); ++p) {
        samples = p == 0 ? read(parts[0]) : next.get();
#ifdef __GLIBC__
        // The previous part's pixels, freed by that assignment, go back to the system. glibc
        // keeps freed blocks in its heaps for reuse, and the reader's threads allocate in heaps of
        // their own: on 40 images of 3000x3000 the peak was 2.0 GB without this, 1.6 GB with it.
        if (p > 0) malloc_trim(0);
#endif
        // Before the next part's reading starts: a stop asked there (eval's Ctrl-C) would wait
        // for that whole part to be read.
        if (opts.on_read) opts.on_read(samples);
        if (p + 1 < parts.size()) next = std::async(std::launch::async, read, parts[p + 1]);
        // A sample that labels no pixel adds nothing to the confusion matrix or the losses: it
        // is counted as scored but not run through the network. A split whose masks label
        // nothing is then refused after its reading alone (40 tiles of 3000x3000: 13 s of
        // reading, where their windows took 137 s in all).
        std::size_t kept = 0;
        std::int64_t units_skipped = 0, units_kept = 0;
        std::vector<std::size_t> kept_positions;  // in `indices`
        for (std::size_t k = 0; k < samples.size(); ++k) {
            if (labels_a_pixel(samples[k])) {
                if (kept != k) samples[kept] = std::move(samples[k]);
                ++kept;
                kept_positions.push_back(parts[p].first + k);
                units_kept += units[parts[p].first + k];
            } else {
                units_skipped += units[parts[p].first + k];
                ++total.images;
                ++total.images_unlabelled;
            }
        }
        samples.resize(kept);
        units_before += units_skipped;
        if (!samples.empty()) {
            if (opts.eval.progress)
                eo.progress = [&](std::int64_t done, std::int64_t, const char* unit) {
                    last_done = units_before + done;
                    opts.eval.progress(last_done, all_units, unit);
                };
            EvalResult part =
                evaluate(backend, net, samples, stats, loss, clutter_class, eo, buffers);
            for (std::size_t j = 0; j < part.image_confusion.size(); ++j)
                total.image_confusion[kept_positions[j]] = std::move(part.image_confusion[j]);
            merge_into(total, part, clutter_class);
            buffers.loader.reset();  // it refers to `samples`, replaced by the next part
        }
        units_before += units_kept;
    }
    // Its metrics even where no part ran (every sample skipped), and its progress to the end
    // where the last samples were skipped.
    merge_into(total, EvalResult{}, clutter_class);
    if (opts.eval.progress && last_done < all_units)
        opts.eval.progress(all_units, all_units, eo.in_windows ? "windows" : "img");
    return total;
}

}  // namespace pfce
