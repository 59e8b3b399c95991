// What a training run reads: the dataset split into train/val (deterministic from the split seed),
// images and dense masks in memory, the training labels (dense, or a sparse/linked mask directory),
// the class names and the training split's channel statistics. `pfce train` builds this from a
// TrainConfig; experiments may build it themselves (their masks are already in memory).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/batch_loader.hpp"
#include "data/dataset.hpp"
#include "host/train/train_config.hpp"

namespace pfce {

struct TrainInputs {
    std::vector<SampleData> train, val;
    ChannelStats stats;  // of the training images
    std::vector<std::string> class_names;
    std::vector<std::array<std::uint8_t, 3>> class_colours;
    int clutter_class = -1;            // excluded from mIoU-without-clutter; -1 = none
    std::string label_kind = "dense";  // dense | sparse | linked (what the loss sees)
    nlohmann::json data_meta = nlohmann::json::object();  // recorded in checkpoints (for eval)
};

// Index of a class named "clutter" (any case), or -1.
int find_clutter_class(const Palette& palette);

// Reads samples `indices` of `ds`; train_labels from mask directory `labels_dir` (empty = dense).
std::vector<SampleData> load_samples(const Dataset& ds, const std::vector<std::size_t>& indices,
                                     const std::string& labels_dir);

// cfg.data, cfg.labels, split fractions and seed, max_samples -> TrainInputs.
TrainInputs load_train_inputs(const TrainConfig& cfg);

}  // namespace pfce
