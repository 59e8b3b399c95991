// The training settings: one struct read from the [train] table of a TOML file (pfce train
// --config, and the experiment files, which reuse this reader), overridable by command-line flags,
// and stored as JSON in every checkpoint. Unknown keys and wrong types are InputErrors naming the
// file and the key; names (optimizer, schedule, ...) are resolved and checked when read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <toml++/toml.h>
#include <nlohmann/json.hpp>

#include "core/op_params.hpp"
#include "host/train/lr_schedule.hpp"
#include "host/train/optimizer.hpp"

namespace pfce {

struct TrainConfig {
    // data
    std::string data;    // dataset root (any layout data/dataset.hpp reads)
    std::string labels;  // mask directory of training labels (sparse/linked); empty = dense
    double train_frac = 0.8, val_frac = 0.1;
    std::uint64_t split_seed = 0;
    int max_samples = 0;  // use only the first N samples of the dataset (0 = all)
    bool augment = true;  // random flips and 90-degree rotations
    // model
    int width = 32, depth = 4;
    // loss
    double focal_gamma = 2.0;
    std::vector<double> focal_alpha;          // per class, empty = 1 everywhere
    std::string loss_normalize = "labelled";  // labelled | alpha
    // optimization
    int epochs = 10;
    int batch_size = 8;
    double lr = 1e-3;
    std::string optimizer = "adam";  // sgd | adam | adamw | adam_l2
    double weight_decay = 0.0, momentum = 0.9, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    std::string schedule = "constant";  // constant | step | cosine | plateau
    int step_size = 10;
    double step_gamma = 0.1;
    double warmup_epochs = 0.0;  // cosine
    double min_lr = 0.0;         // cosine floor, plateau floor
    double plateau_factor = 0.1;
    int plateau_patience = 10;
    double plateau_threshold = 1e-4;
    int plateau_cooldown = 0;
    std::string plateau_metric = "val_loss";  // val_loss (mode min) | val_miou (mode max)
    double clip = 0.0;                        // max global grad norm; 0 = off
    // run
    std::string best_metric = "val_loss";  // val_loss (min) | val_miou (max)
    std::uint64_t seed = 0;                // weights, shuffling, augmentation
    std::string device = "auto";
    std::string out = "runs/train";
    int log_every = 10;  // batches between loss read-backs (the only host sync of a step)
    int prefetch = 2;
};

// Reads a [train]-style table. `source` names it in errors ("exp.toml [train]").
TrainConfig train_config_from_toml(const toml::table& table, const std::string& source,
                                   TrainConfig base = {});
// Reads FILE's [train] table (and rejects unknown top-level tables).
TrainConfig load_train_config(const std::string& path);

nlohmann::json to_json(const TrainConfig& c);
TrainConfig train_config_from_json(const nlohmann::json& j, const std::string& source);

// Range and name checks (epochs >= 1, lr > 0, known optimizer, ...); InputError naming `source`.
void validate(const TrainConfig& c, const std::string& source);

// Resolved pieces.
OptimizerConfig optimizer_config(const TrainConfig& c);
FocalLossParams focal_params(const TrainConfig& c);
ScheduleConfig schedule_config(const TrainConfig& c, std::int64_t batches_per_epoch);

}  // namespace pfce
