// Segmentation metrics of DESIGN §2 from a C x C confusion matrix (rows = dense truth, columns =
// prediction) accumulated over a whole split: per-class IoU and F1, mIoU, mIoU without clutter
// (the ISPRS convention), overall accuracy, mean F1.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pfce {

// A class that appears neither in the truth nor in the predictions has no IoU/F1 (0/0): its entry
// is NaN, written as null in JSON, and it is left out of the means (it cannot be right or wrong).
struct SegMetrics {
    int num_classes = 0;
    std::int64_t pixels = 0;
    std::vector<double> iou, f1;
    double miou = 0, miou_no_clutter = 0, oa = 0, mean_f1 = 0;
    // The C*C counts they come from (row-major, rows = truth); empty in results of older pfce.
    std::vector<std::int64_t> confusion;
};

// confusion: row-major C*C counts. clutter_class: index excluded from miou_no_clutter, or -1
// (then miou_no_clutter is NaN, null in JSON: the mIoU again would read as a second measurement).
SegMetrics metrics_from_confusion(const std::vector<std::int64_t>& confusion, int num_classes,
                                  int clutter_class = -1);

// The metrics, with the confusion matrix as C rows of C counts ("confusion", rows = truth).
nlohmann::json to_json(const SegMetrics& m, const std::vector<std::string>& class_names = {});
nlohmann::json confusion_rows(const std::vector<std::int64_t>& confusion, int num_classes);
// A human-readable table: one row per class (IoU, F1) and the summary values.
// The per-class IoU/F1 table and the means; "mIoU w/o <clutter>" only where clutter_class is one.
std::string format_metrics_table(const SegMetrics& m, const std::vector<std::string>& class_names,
                                 int clutter_class);

}  // namespace pfce
