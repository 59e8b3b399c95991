// Evaluation of a model over a list of samples: the loss on the training label kind, the loss on
// the dense masks, and the confusion matrix on the DENSE masks (DESIGN §2) with the metrics derived
// from it. Used for per-epoch validation and by `pfce eval`. Images of any size: see EvalOptions.
#pragma once

#include <vector>

#include "data/batch_loader.hpp"
#include "host/train/metrics.hpp"
#include "models/unet.hpp"

namespace pfce {

struct EvalResult {
    double loss = 0;                      // focal loss on train_labels, mean over batches
    double loss_dense = 0;                // focal loss on dense masks, mean over batches
    std::vector<std::int64_t> confusion;  // C*C, rows = truth
    SegMetrics metrics;
    std::int64_t images = 0;
};

struct EvalOptions {
    int batch_size = 8;
    int prefetch = 2;
    // Samples that all share one size, no side above `window`, go through in batches; any other
    // set (mixed sizes, large tiles) is evaluated image by image in sliding windows of this side
    // (host/train/sliding_window), with the losses averaged over windows.
    int window = 512;
};

// A run's evaluation settings: its batch size and prefetch; windows of its crop size when it
// trains on crops (else 512).
struct Config;
EvalOptions eval_options(const Config& cfg);

EvalResult evaluate(Backend& backend, UNet& net, const std::vector<SampleData>& samples,
                    const ChannelStats& stats, const FocalLossParams& loss, int clutter_class,
                    const EvalOptions& opts);

}  // namespace pfce
