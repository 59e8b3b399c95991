// A trained U-Net as eval and predict use it: rebuilt from a checkpoint (model shape, weights,
// batch-norm statistics, the training split's channel statistics, class names and colours), plus
// the model-state halves of checkpointing shared with the trainer, and single-image prediction.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/batch_loader.hpp"
#include "host/train/checkpoint.hpp"
#include "host/train/config.hpp"
#include "models/unet.hpp"

namespace pfce {

// "param.<name>" for every parameter, "buffer.<name>" for every buffer (host copies).
void save_model_state(Checkpoint& ck, Backend& backend, UNet& net);
void load_model_state(const Checkpoint& ck, Backend& backend, UNet& net, const std::string& source);
// InputError naming `path` and the tensor when a f32 tensor of `ck` holds a NaN or an infinity:
// a model of them predicts one class everywhere.
void check_finite_weights(const Checkpoint& ck, const std::string& path);

nlohmann::json stats_to_json(const ChannelStats& s);
ChannelStats stats_from_json(const nlohmann::json& j);

struct TrainedModel {
    std::unique_ptr<UNet> net;
    Config config;
    ChannelStats stats;
    std::vector<std::string> class_names;
    std::vector<std::array<std::uint8_t, 3>> class_colours;
    // The training dataset's ignore colours (TrainInputs::unlabelled_colours); empty for
    // checkpoints of older pfce, which did not record them.
    std::vector<std::array<std::uint8_t, 3>> unlabelled_colours;
    int clutter_class = -1;
    // Each class's pixel value in the training dataset's masks, where it is not the class index
    // (TrainInputs::mask_values); empty otherwise.
    std::vector<int> mask_values;
    // The run's split by sample id ("train", "val", "test"); empty for checkpoints of older pfce.
    std::map<std::string, std::vector<std::string>> split_ids;
    nlohmann::json meta;  // the checkpoint's metadata
};

// Sets `backend` to the run's convolution precision (run.precision), as it was trained and
// validated. InputError naming `path` for an unreadable checkpoint or one that does not describe a
// U-Net.
TrainedModel load_trained_model(Backend& backend, const std::string& path);
// The same from a checkpoint read already (`path` names it in the messages): what reads its
// tensors again (pfce export) reads the file once.
TrainedModel load_trained_model(Backend& backend, const Checkpoint& ck, const std::string& path);

// How far the run had trained when it wrote a checkpoint (its meta.state): the epochs done and the
// optimizer steps taken. known = false for a checkpoint that does not record them.
struct TrainingProgress {
    bool known = false;
    // Epochs completed, optimizer steps taken, and batches of the next epoch trained (> 0: a run
    // interrupted within an epoch saved it).
    std::int64_t epoch = 0, global_step = 0, batch = 0;
};
TrainingProgress training_progress(const nlohmann::json& meta);

// (1,C,H,W) f32 host tensor: (pixel - mean) / std per channel, as the batch loader does.
Tensor normalize_image(const RgbImage& img, const ChannelStats& stats);
// Argmax class per pixel (inference-mode batch norm).
LabelMap predict_labels(Backend& backend, UNet& net, const RgbImage& img,
                        const ChannelStats& stats);

}  // namespace pfce
