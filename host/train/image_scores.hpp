// Each image's own scores in an evaluation (`pfce eval --per-image`): the split's metrics say how
// good a model is, these say where it fails (the tiles of a shadowed suburb, a mislabelled chip).
// An image's mIoU is over the classes in its truth or its prediction, as the split's is over the
// split's: a tile without water is not scored on water.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "host/train/metrics.hpp"

namespace pfce {

struct ImageScore {
    std::string id;
    SegMetrics metrics;  // of no pixel (an image its masks do not label): pixels 0, NaN means
};

// One score per image: `ids[i]` with confusion matrix `confusions[i]` (C*C, rows = truth).
std::vector<ImageScore> image_scores(const std::vector<std::string>& ids,
                                     const std::vector<std::vector<std::int64_t>>& confusions,
                                     int num_classes, int clutter_class);

// A CSV field (RFC 4180): quoted, with its quotes doubled, where it holds a separator, a quote, a
// line break, or spaces at its ends (which spreadsheets would drop).
std::string csv_field(const std::string& s);

// The scores as CSV, a row per image in order: id, pixels, oa, miou, miou_no_clutter (where
// clutter_class is one), mean_f1, then iou_<class> and f1_<class> for each class, then the pixel
// counts tp_<class>, fp_<class> and fn_<class> (any subset of the rows sums to its scores). An
// undefined value (a class absent from the image's truth and prediction, an unlabelled image) is an
// empty cell; ids and class names holding a comma, a quote or a line break are quoted (RFC 4180).
std::string image_scores_csv(const std::vector<ImageScore>& scores,
                             const std::vector<std::string>& class_names, int clutter_class);

// The positions of the `n` scored images of lowest mIoU, lowest first. Images of no labelled pixel
// are left out; ties keep the split's order.
std::vector<std::size_t> lowest_miou_order(const std::vector<ImageScore>& scores, std::size_t n);

// Those images as eval prints them under its table: "id 0.4213, id 0.5120", an id holding a
// comma or a quote quoted as in the CSV.
std::string lowest_miou(const std::vector<ImageScore>& scores, std::size_t n);

// A percentile bootstrap interval of the split's mIoU over its images: `resamples` draws of as many
// images as were scored, with replacement (a fixed seed: the same interval every time), the mIoU
// of each draw's summed confusion matrices, and the 2.5th and 97.5th percentiles of those. How far
// the score may move with another test set of the same kind. Images of no labelled pixel are left
// out (they add nothing to a draw).
struct MiouInterval {
    double lo = 0, hi = 0;
    std::size_t images = 0;  // the images drawn from
    int resamples = 0;
    // Each class's IoU from the same draws, its 2.5th and 97.5th percentiles over the draws that
    // define it (a class in the draw's truth or predictions); NaN where fewer than 95% do (a
    // class of one or two images only: no interval to speak of).
    std::vector<double> class_lo, class_hi;
};
// The confusion matrices of the windows of a tiles dataset summed by tile (data/dataset.hpp
// tile_of of their ids), in the order of the tiles' names: what a bootstrap draws there, since
// neighbouring windows of one tile are alike.
// `tile_ids`, where given, receives the tiles' names in that order.
std::vector<std::vector<std::int64_t>> confusions_by_tile(
    const std::vector<std::string>& ids, const std::vector<std::vector<std::int64_t>>& confusions,
    std::vector<std::string>* tile_ids = nullptr);

// Below this many images (tiles) an interval understates the uncertainty, however narrow it looks:
// n units give only (2n-1 choose n) distinct draws (10 for 3 images), the draws' spread is
// (n-1)/n of the units' and the percentiles of so few values are the extremes; a researcher's
// probe read [0.210, 0.244] over 3 test images as a precise score.
constexpr std::size_t kFewBootstrapUnits = 10;
// Below this many units no difference is called beyond chance, however its draws fall: a test
// that flips the sign of each unit's difference reaches a two-sided p below 0.05 only from 6 units
// on (2 / 2^6 = 0.031), while a bootstrap of 2 images whose differences share a sign puts every
// draw on that side (a walkthrough's report marked +0.020 *† from 2 test images).
constexpr std::size_t kMinUnitsForSignificance = 6;
// "drawn from only 3 images: a bootstrap of fewer than 10 understates how far the score moves
// ...", or "" from kFewBootstrapUnits units up.
std::string few_bootstrap_units_note(std::size_t units, const char* unit_name);

// InputError when fewer than 2 images label a pixel (no spread to draw from).
MiouInterval bootstrap_miou(const std::vector<std::vector<std::int64_t>>& confusions,
                            int num_classes, int clutter_class, int resamples,
                            bool without_clutter = false);

// Two models scored on the same units (images, or tiles), unit k of `a` and of `b` the same image:
// the difference of their split mIoUs, mIoU(a) - mIoU(b), and its 95% paired percentile bootstrap
// interval (each draw takes the same units for both, so what the images share cancels: a paired
// interval is far narrower than two intervals side by side suggest). Units neither labels a pixel
// of are left out. InputError when the lists differ in length or fewer than 2 units are left.
struct MiouDifference {
    double diff = 0, lo = 0, hi = 0;
    std::size_t units = 0;
    int resamples = 0;
    std::size_t seeds = 1;  // training seeds averaged (seeded_bootstrap_miou_difference)
    // Two-sided bootstrap p-value of "no difference": twice the smaller share of the draws on
    // either side of 0 (each count one more, so never 0), at most 1. lo > 0 or hi < 0 about when
    // p < 0.05; the smallest p a draw count can give is 2 / (resamples + 1). 1 from fewer than
    // kMinUnitsForSignificance units.
    double p = 1;
    // Set by the comparison of a family of differences (holm_rejections): the difference still
    // holds after Holm's correction over all of them.
    bool holm = false;
};
// Whether the difference is told from chance: its interval excludes 0, from at least
// kMinUnitsForSignificance units.
bool excludes_zero(const MiouDifference& d);
// `iou_class` >= 0: the difference of that class's IoU instead of the mIoU (eval --against
// --interval-class: a building-extraction model is judged by its buildings); draws whose units
// neither label nor predict the class define no IoU and are left out (`resamples` then counts
// those kept: a class in one image of n is in about 63% of them), and InputError where the scored
// units hold none of it.
MiouDifference paired_bootstrap_miou_difference(const std::vector<std::vector<std::int64_t>>& a,
                                                const std::vector<std::vector<std::int64_t>>& b,
                                                int num_classes, int clutter_class, int resamples,
                                                int iou_class = -1);

// Two experiments each trained once per seed, every run scored on the same units: a[s][k] is the
// confusion matrix of unit k under a's run of seed s, b[s] b's run of the same seed (one seed
// draws the same points for both). The mean over seeds of mIoU(a_s) - mIoU(b_s), and its 95%
// interval from a two-level bootstrap: each draw takes as many seeds as there are, with
// replacement, and as many units, with replacement (the same units for every seed), and averages
// the drawn seeds' differences on the drawn units. The interval holds both what another test set
// and what another training seed would change; a paired interval of one run holds only the
// first. With one seed it is paired_bootstrap_miou_difference. InputError as that, or when the
// runs differ in count or in units.
using UnitConfusions = std::vector<std::vector<std::int64_t>>;
MiouDifference seeded_bootstrap_miou_difference(const std::vector<UnitConfusions>& a,
                                                const std::vector<UnitConfusions>& b,
                                                int num_classes, int clutter_class, int resamples,
                                                int iou_class = -1);

// Holm's step-down correction over a family of tests with p-values `p`: which are rejected with
// family-wise error at most `alpha` (no false rejection among the true nulls, 19 times in 20 at
// 0.05), whatever their dependence. The smallest p is compared with alpha / m, the next with
// alpha / (m - 1), and so on, stopping at the first that is not smaller.
std::vector<bool> holm_rejections(const std::vector<double>& p, double alpha = 0.05);

}  // namespace pfce
