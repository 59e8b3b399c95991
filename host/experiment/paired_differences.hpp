// Which differences between a suite's experiments the test set can tell from chance: for every
// two experiments tested on the same images, the difference of their test mIoUs with a paired
// bootstrap interval (image_scores.hpp). Two intervals side by side overlap far more often than
// a paired one holds 0: the images both models find hard are drawn for both at once.
#pragma once

#include <cstddef>
#include <vector>

#include "host/experiment/results.hpp"
#include "host/train/image_scores.hpp"

namespace pfce {

struct PairedDifference {
    std::size_t a = 0, b = 0;  // indices into the results; d is mIoU(a) - mIoU(b)
    MiouDifference d;
};

// Whether r finished and recorded its test units with matrices of its classes (older pfce: none).
bool pairable(const ExperimentResult& r);
// r's test units' confusion matrices, in order.
UnitConfusions test_confusions(const ExperimentResult& r);

// Whether x and y were tested on the same units (ids, in order) with the same truth (each unit's
// pixels of each class) of the same classes: ids alone would pair a split scored on eroded tile
// labels with one on full ones, or two versions of a dataset of the same names.
bool same_test_units(const ExperimentResult& x, const ExperimentResult& y);

// Every pair a < b of finished results that recorded the same test units (ids, in order, each
// with the same truth: its pixels of each class) of the same classes, and (runs of a suite with
// seeds) the same seed; pairs that cannot be drawn (fewer than 2 units labelling a pixel) are
// left out.
std::vector<PairedDifference> paired_differences(const std::vector<ExperimentResult>& results,
                                                 int clutter_class, int resamples = 1000);

}  // namespace pfce
