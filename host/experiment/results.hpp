// What one experiment produced, as the runner records it (OUT/<id>/result.json, which also marks
// the experiment finished) and as the report reads it back: label statistics, the per-epoch
// history, the final validation/test numbers on dense truth, timings, and the failure message if it
// failed.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "host/train/json_number.hpp"
#include "host/train/metrics.hpp"

namespace pfce {

// One epoch of training as the charts plot it. NaN = not measured (e.g. no validation split).
struct EpochRecord {
    int epoch = 0;          // 1-based
    double train_loss = 0;  // mean over the epoch's batches, on the training labels
    // The CRF term (weighted) of the loss, mean over the epoch's batches; NaN when it is off.
    double train_crf_loss = std::numeric_limits<double>::quiet_NaN();
    double val_loss = 0;  // validation split, on the training label kind (sparse/linked/dense)
    double val_loss_dense = 0;  // validation split, on dense masks
    double val_miou = 0;        // validation split, dense truth
    double lr = 0;
    double seconds = 0;
};

// One bootstrap unit of the test split (an image; a tile for tiles) and its C*C confusion counts
// (row-major, rows = truth): two experiments tested on the same units compare pairwise.
struct TestUnit {
    std::string id;
    std::vector<std::int64_t> confusion;
};

struct ExperimentResult {
    std::string id;
    // A suite with seeds (suite.hpp): the experiment this is one seed of, and that seed; "" / -1
    // where the suite runs each experiment once.
    std::string group;
    std::int64_t seed = -1;
    std::string description;
    std::string labels;  // human summary: "dense", "sparse 700/class", "linked 500/class D=20"
    std::string report_figure;  // the technical report's own figure for this experiment, or empty
    std::string status = "ok";  // "ok" | "failed"
    std::string error;          // the failure message when status == "failed"

    // Training split label statistics (fractions of all pixels). NaN where not applicable.
    double labelled_fraction_sparse = 0;  // before linking
    double labelled_fraction = 0;         // what the loss sees (after linking)
    double link_purity = 0;  // linked pixels agreeing with dense truth; NaN without linking

    std::vector<EpochRecord> epochs;
    int selected_epoch = 0;       // epoch whose weights were evaluated (best-val or last), 1-based
    double final_train_loss = 0;  // last epoch's training loss
    double val_loss = 0;          // at the selected epoch, training label kind
    double val_loss_dense = 0;    // at the selected epoch, dense masks
    double val_miou = 0;          // at the selected epoch
    SegMetrics test;              // test split, dense truth
    // The test mIoU's 95% bootstrap interval over the test images (by tile for tiles), {lo, hi};
    // empty where there is none (older pfce, or fewer than 2 test images that label a pixel).
    std::vector<double> test_miou_ci95;
    // The test images (tiles) that interval was drawn from; 0: not recorded (older pfce).
    int test_miou_ci95_units = 0;
    // Each class's test IoU interval from the same draws (image_scores.hpp MiouInterval): NaN for
    // a class of too few images; empty where not recorded (older pfce, or no interval).
    std::vector<double> test_iou_ci95_lo, test_iou_ci95_hi;
    // The test split's units, in order; empty where not recorded (older pfce, or failed).
    std::vector<TestUnit> test_units;
    std::vector<std::string> class_names;

    double wall_seconds = 0;  // whole experiment (sampling through evaluation), every session
    // pfce run sessions wall_seconds sums: an interrupted experiment continues in the next one.
    int sessions = 1;
    // Its training continued an earlier session's checkpoint. With sessions == 1 the earlier
    // sessions' time was not recorded (killed, or an older pfce): wall_seconds is the last one's.
    bool resumed = false;
    std::map<std::string, double> stage_seconds;  // "sample", "link", "train", "test", "grid"
    std::string device;                           // backend name it ran on
    // The pfce that made it, "0.1.0 (commit 1a2b3c4d5e6f)"; empty: not recorded (older pfce).
    std::string pfce;
    std::string grid_png;   // path relative to OUT, empty if none
    int grid_images = -1;   // test images (rows) in grid_png; -1: not recorded (older pfce)
    nlohmann::json config;  // experiment_fingerprint() it ran with (or null)
};

nlohmann::json to_json(const ExperimentResult& r);
// Throws InputError naming `source` when a field is missing or has the wrong type.
ExperimentResult result_from_json(const nlohmann::json& j, const std::string& source);

ExperimentResult read_result(const std::string& path);
void write_result(const std::string& path, const ExperimentResult& r);  // atomic

}  // namespace pfce
