// A dataset split evaluated in parts of bounded memory. Decoded, a sample holds about 5 bytes a
// pixel (its RGB image, dense mask and training labels): the 38 Potsdam tiles are 7 GB, more than
// many machines have. `pfce eval` reads the split in consecutive parts of about kEvalPartBytes and
// holds two at a time, one evaluated while the next is read, and merges their results: the
// confusion matrix and the metrics are those of the whole split at once, and so are the losses
// (their sums and normalizers added; the order of the float additions aside).
#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "data/dataset.hpp"
#include "data/mask_dir.hpp"
#include "host/train/evaluate.hpp"

namespace pfce {

inline constexpr std::int64_t kEvalPartBytes = std::int64_t{512} << 20;

// Bytes a w x h sample holds decoded (SampleData: its image of `channels` bands, dense mask,
// training labels).
std::int64_t decoded_sample_bytes(int width, int height, int channels = 3);

// Consecutive parts [first, second) of samples of these decoded sizes, each within `budget` bytes
// unless one sample alone is larger (then a part of its own). The order is kept, so a tile's
// windows stay together (they share decoded rows while they are read).
std::vector<std::pair<std::size_t, std::size_t>> plan_eval_parts(
    const std::vector<std::int64_t>& bytes, std::int64_t budget);

// The (width, height) of samples `indices` of `ds`, known from the dataset's scan (a header read
// where it did not record them): sized before any pixel is read.
std::vector<std::pair<int, int>> sample_sizes(const Dataset& ds,
                                              const std::vector<std::size_t>& indices);

struct SplitEvalOptions {
    EvalOptions eval;  // its progress counts the whole split's windows or images
    std::int64_t part_bytes = kEvalPartBytes;
    // Called with each part's samples, in order, once they are read and before they are evaluated.
    std::function<void(const std::vector<SampleData>&)> on_read;
};

// evaluate() of samples `indices` of `ds` read as load_samples reads scored samples (`labels`:
// an opened and checked mask directory for the training labels; nullptr: the dense masks). Every
// part goes the way the whole split would (sliding windows or batches: the sizes of all decide).
EvalResult evaluate_split(Backend& backend, UNet& net, const Dataset& ds,
                          const std::vector<std::size_t>& indices, const MaskDir* labels,
                          const ChannelStats& stats, const FocalLossParams& loss, int clutter_class,
                          const SplitEvalOptions& opts);

}  // namespace pfce
