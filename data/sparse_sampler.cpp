// Sparse sampling (DESIGN §2). One pass buckets pixel indices by class (a counting sort, so every
// bucket is in raster order), then a partial Fisher-Yates shuffle of each bucket draws min(N, n_c)
// positions with CounterRng(seed, stream(id), class): the draw is a pure function of those three.
#include "data/sparse_sampler.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "core/error.hpp"
#include "core/parallel.hpp"
#include "core/rng.hpp"

namespace pfce {
namespace {

constexpr int kMaxClasses = 32;
constexpr double kReferenceArea = 300.0 * 300.0;  // Kaggle patch: the report's counts are for it

}  // namespace

std::uint32_t sample_stream_id(const std::string& sample_id) {
    std::uint32_t h = 2166136261u;  // FNV-1a: stable across platforms and releases
    for (unsigned char c : sample_id) {
        h ^= c;
        h *= 16777619u;
    }
    return h;
}

void validate_sampler_options(const SamplerOptions& opts) {
    if (opts.points.empty()) PFCE_THROW(InputError, "sampler: no point count given");
    if (opts.points.size() > static_cast<std::size_t>(kMaxClasses))
        PFCE_THROW(InputError, "sampler: ", opts.points.size(),
                   " per-class point counts given; at most ", kMaxClasses,
                   " classes are supported");
    for (std::size_t c = 0; c < opts.points.size(); ++c)
        if (opts.points[c] < 1)
            PFCE_THROW(InputError, "sampler: point count ", opts.points[c],
                       (opts.points.size() > 1 ? " for class " + std::to_string(c) : std::string()),
                       " is invalid; expected at least 1");
}

int points_for_class(const SamplerOptions& opts, int cls, int width, int height) {
    const int n =
        opts.points.size() == 1 ? opts.points[0] : opts.points.at(static_cast<std::size_t>(cls));
    if (!opts.scale_by_area) return n;
    const double scaled = std::round(n * (static_cast<double>(width) * height / kReferenceArea));
    return scaled < 1.0 ? 1 : (scaled > 2e9 ? 2000000000 : static_cast<int>(scaled));
}

std::string points_per_class_text(const SamplerOptions& opts, int width, int height) {
    std::string text;
    for (std::size_t c = 0; c < opts.points.size(); ++c) {
        if (c) text += '/';  // appended apart: GCC 12 warns falsely on "/" + std::string&&
        text += std::to_string(points_for_class(opts, static_cast<int>(c), width, height));
    }
    return text;
}

LabelMap sample_sparse(const LabelMap& dense, const SamplerOptions& opts,
                       const std::string& sample_id) {
    validate_sampler_options(opts);
    const std::size_t n = static_cast<std::size_t>(dense.width) * dense.height;
    if (dense.labels.size() != n)
        PFCE_THROW(InputError, sample_id, ": label map holds ", dense.labels.size(), " values for ",
                   dense.width, "x", dense.height);

    // Count per class (255 and anything unlabelled is skipped; other labels >= 32 are errors).
    std::array<std::size_t, kMaxClasses + 1> offset{};
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t l = dense.labels[i];
        if (l < kMaxClasses) {
            ++offset[l + 1];
        } else if (l != 255) {
            PFCE_THROW(InputError, sample_id, ": label ", static_cast<int>(l),
                       " at pixel (x=", i % dense.width, ", y=", i / dense.width,
                       ") is not a class 0..", kMaxClasses - 1, " or 255 (unlabelled)");
        }
    }
    const bool per_class = opts.points.size() > 1;
    for (int c = 0; c < kMaxClasses; ++c) {
        if (per_class && offset[c + 1] > 0 && c >= static_cast<int>(opts.points.size()))
            PFCE_THROW(InputError, sample_id, ": class ", c, " occurs but only ",
                       opts.points.size(), " per-class point counts were given");
        offset[c + 1] += offset[c];
    }

    // Bucket pixel indices by class, each bucket in raster order. The buffer is per thread and
    // reused: a fresh one per image costs page faults that outweigh the sampling itself.
    thread_local std::vector<std::uint32_t> bucket;
    bucket.resize(offset[kMaxClasses]);
    std::array<std::size_t, kMaxClasses> fill{};
    for (int c = 0; c < kMaxClasses; ++c) fill[c] = offset[c];
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t l = dense.labels[i];
        if (l < kMaxClasses) bucket[fill[l]++] = static_cast<std::uint32_t>(i);
    }

    LabelMap out(dense.width, dense.height, 255);
    const std::uint32_t stream = sample_stream_id(sample_id);
    for (int c = 0; c < kMaxClasses; ++c) {
        const std::size_t begin = offset[c], nc = offset[c + 1] - offset[c];
        if (nc == 0) continue;
        const std::size_t k = std::min<std::size_t>(
            nc, static_cast<std::size_t>(points_for_class(opts, c, dense.width, dense.height)));
        std::uint32_t* list = bucket.data() + begin;
        if (k < nc) {
            // Partial Fisher-Yates: after step j, list[0..j] is a uniform draw without replacement.
            CounterRng rng(opts.seed, stream, static_cast<std::uint32_t>(c));
            for (std::size_t j = 0; j < k; ++j) {
                const std::size_t r = j + rng.below(static_cast<std::uint32_t>(nc - j));
                std::swap(list[j], list[r]);
            }
        }
        for (std::size_t j = 0; j < k; ++j) out.labels[list[j]] = static_cast<std::uint8_t>(c);
    }
    return out;
}

std::vector<LabelMap> sample_sparse_all(const std::vector<LabelMap>& dense,
                                        const std::vector<std::string>& ids,
                                        const SamplerOptions& opts) {
    if (dense.size() != ids.size())
        PFCE_THROW(InputError, "sampler: ", dense.size(), " masks but ", ids.size(), " ids");
    validate_sampler_options(opts);
    std::vector<LabelMap> out(dense.size());
    parallel_for(
        dense.size(), [&](std::size_t i) { out[i] = sample_sparse(dense[i], opts, ids[i]); }, 4);
    return out;
}

}  // namespace pfce
