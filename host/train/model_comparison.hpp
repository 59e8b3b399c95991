// `pfce eval --against OTHER.ckpt`: two trained models scored on the same images, and whether the
// test set can tell them apart: the difference of their mIoUs with a 95% paired bootstrap interval
// (image_scores.hpp), and each class's IoU side by side. Two runs trained on their own, outside a
// suite, compared as a suite's report compares its experiments.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "host/train/image_scores.hpp"
#include "host/train/metrics.hpp"
#include "host/train/trained_model.hpp"

namespace pfce {

// InputError unless `other` (at other_path) can be scored on the images `model` (at path) is
// scored on: the same classes, in order, and the same samples (the dataset kind; for Potsdam tiles
// the windows cut). Each model reads the images as it was trained (data.bands, data.value_range,
// data.tile_image): RGB against RGB + infrared compares on the same pixels.
void check_comparable(const TrainedModel& model, const std::string& path, const TrainedModel& other,
                      const std::string& other_path);
// How `other` reads the images otherwise than `model` ("data.bands [1, 2, 3] (this one: [1, 2,
// 3, 4])"), or "" where both read them alike.
std::string image_reading_difference(const TrainedModel& model, const TrainedModel& other);

// InputError when a unit scored (`scored`: image ids, or tile names for tiles) was trained or
// validated on by one model (`seen`: this one's units, `other_seen`: the other's) and not by the
// other: its score there would be flattered. `unit_name`: "images" or "tiles".
void check_fair_images(const std::vector<std::string>& scored, const std::set<std::string>& seen,
                       const std::set<std::string>& other_seen, const std::string& path,
                       const std::string& other_path, const char* unit_name);

struct ModelComparison {
    SegMetrics a, b;          // the model, and the one it is compared against
    MiouDifference d;         // mIoU(a) - mIoU(b) with its paired interval; units 0: none drawn
    std::string no_interval;  // why no interval was drawn (fewer than 2 units), else ""
    // eval --interval-class: that class's IoU(a) - IoU(b) with its paired interval (units 0: none
    // drawn, for class_no_interval's reason); class_index -1: not asked.
    int class_index = -1;
    MiouDifference class_d;
    std::string class_no_interval;
};

// a_units, b_units: the confusion matrices of the same units (images; tiles for tiles) under
// each model; a, b: the split's metrics under each. `interval_class` >= 0: that class's IoU
// difference gets a paired interval too.
ModelComparison compare_models(const SegMetrics& a, const SegMetrics& b,
                               const std::vector<std::vector<std::int64_t>>& a_units,
                               const std::vector<std::vector<std::int64_t>>& b_units,
                               int clutter_class, int resamples, int interval_class = -1);

// The comparison as eval prints it under its table: both mIoUs, the difference with its interval
// and whether chance alone could make it, then each class's IoU under both and their difference.
// `unit_name`: "images" or "tiles".
std::string format_comparison(const ModelComparison& c, const std::string& other_path,
                              const std::vector<std::string>& class_names, int clutter_class,
                              const char* unit_name);
// The same as eval --json's "against" object.
nlohmann::json comparison_json(const ModelComparison& c, const std::string& other_path,
                               const std::vector<std::string>& class_names, const char* unit_name);

}  // namespace pfce
