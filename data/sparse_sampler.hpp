// Sparse point labels from dense masks (DESIGN §2): for every class c present in an image, keep
// exactly min(N_c, n_c) of its pixels, drawn uniformly without replacement; everything else is 255.
// The draw depends only on (seed, sample id, class): never on thread count or image order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/image.hpp"

namespace pfce {

struct SamplerOptions {
    // One value for every class, or one value per class (index = class id). Each must be >= 1.
    std::vector<int> points{500};
    // Scale N by H*W / (300*300) (rounded to nearest, at least 1): the report's counts are for
    // 300x300 Kaggle patches, so other sizes keep the same label density.
    bool scale_by_area = false;  // the library's literal N; pfce sample and training scale (true)
    std::uint64_t seed = 0;
};

// Stable 32-bit stream id of a sample id string (FNV-1a), so a sample's draw follows its name, not
// its position in a listing.
std::uint32_t sample_stream_id(const std::string& sample_id);

// Points kept for class `cls` in an image of width x height (before min with n_c).
int points_for_class(const SamplerOptions& opts, int cls, int width, int height);

// points_for_class of every class of opts.points at width x height, as "a/b/c" (logs and warnings
// say what an image of that size keeps).
std::string points_per_class_text(const SamplerOptions& opts, int width, int height);

// Throws InputError when `opts` is unusable (empty list, N < 1).
void validate_sampler_options(const SamplerOptions& opts);

// One image. Labels must be classes 0..31 or 255; with per-class N, a class beyond the list is an
// InputError naming `sample_id`.
LabelMap sample_sparse(const LabelMap& dense, const SamplerOptions& opts,
                       const std::string& sample_id);

// Many images in parallel (OpenMP); ids[i] names dense[i]. Output is identical for any thread
// count.
std::vector<LabelMap> sample_sparse_all(const std::vector<LabelMap>& dense,
                                        const std::vector<std::string>& ids,
                                        const SamplerOptions& opts);

}  // namespace pfce
