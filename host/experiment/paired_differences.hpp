// Which differences between a suite's experiments the test set can tell from chance: for every
// two experiments tested on the same images, the difference of their test mIoUs with a paired
// bootstrap interval (image_scores.hpp). Two intervals side by side overlap far more often than
// a paired one holds 0: the images both models find hard are drawn for both at once.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "core/error.hpp"
#include "core/parallel.hpp"
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
// left out. Each difference's `holm` says whether it holds after Holm's correction over all of
// them. resamples 0: family_resamples of the pairs.
std::vector<PairedDifference> paired_differences(const std::vector<ExperimentResult>& results,
                                                 int clutter_class, int resamples = 0);

// The bootstrap draws for a family of `pairs` differences: 1000, or more where Holm's correction
// asks for p-values below what 1000 draws can give (its strictest step is 0.05 / pairs, and the
// smallest p of n draws 2 / (n + 1)): 200 a pair, so a difference all of whose draws fall on one
// side passes that step with room; at most kMaxFamilyResamples, as the work grows with the square
// of the experiments (20 of them make 190 pairs a seed): up to 500 pairs (2 / 20001 is 0.05 / 500)
// the strictest step stays within reach, past them fewer † show.
inline constexpr std::size_t kMaxFamilyResamples = 20000;
int family_resamples(std::size_t pairs);

// Draws each candidate pair's difference (`draw`, which throws InputError where none can be
// drawn: left out), in parallel, then marks those that hold after Holm's correction over the ones
// drawn.
template <typename Pair, typename Draw>
std::vector<Pair> draw_family(std::vector<Pair> candidates, Draw&& draw) {
    std::vector<std::optional<MiouDifference>> drawn(candidates.size());
    parallel_for(candidates.size(), [&](std::size_t i) {
        try {
            drawn[i] = draw(candidates[i]);
        } catch (const InputError&) {
            // Fewer than 2 units that label a pixel: no interval to draw.
        }
    });
    std::vector<Pair> out;
    std::vector<double> p;
    for (std::size_t i = 0; i < candidates.size(); ++i)
        if (drawn[i]) {
            candidates[i].d = *drawn[i];
            out.push_back(candidates[i]);
            p.push_back(drawn[i]->p);
        }
    const std::vector<bool> holds = holm_rejections(p);
    for (std::size_t k = 0; k < out.size(); ++k) out[k].d.holm = holds[k];
    return out;
}

}  // namespace pfce
