// Class weights that follow the labels: loss.alpha = "auto" is the inverse square-root frequency
// of the training split's labelled pixels, because rare classes (cars: 0.2% of Potsdam's pixels)
// decide mIoU. Computed by the trainer from the labels it trains on, so a resumed run gets the
// same weights; checkpoints record the result.
#pragma once

#include <cstdint>
#include <vector>

#include "data/batch_loader.hpp"

namespace pfce {

// Labelled pixels per class 0..classes-1 over the samples' training labels (255 and any value
// >= classes do not count).
std::vector<std::int64_t> training_label_counts(const std::vector<SampleData>& samples,
                                                int classes);

// w_c = 1 / sqrt(f_c), f_c the class's share of the labelled pixels, scaled so that the mean
// weight over the labelled pixels is 1 (sum_c f_c w_c = 1: the loss keeps its scale). A class
// without labelled pixels gets the largest weight of the others (it weighs nothing in training;
// the dense validation loss still counts it as the rarest). Every class unlabelled: all 1.
std::vector<double> inverse_sqrt_frequency_weights(const std::vector<std::int64_t>& counts);

}  // namespace pfce
