// Evaluation of a model over a list of samples: the loss on the training label kind, the loss on
// the dense masks, and the confusion matrix on the DENSE masks (DESIGN §2) with the metrics derived
// from it. Used for per-epoch validation and by `pfce eval`.
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

EvalResult evaluate(Backend& backend, UNet& net, const std::vector<SampleData>& samples,
                    const ChannelStats& stats, int batch_size, const FocalLossParams& loss,
                    int clutter_class, int prefetch = 2);

}  // namespace pfce
