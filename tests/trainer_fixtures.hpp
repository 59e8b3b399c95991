// Helpers shared by test_trainer.cpp and test_trainer_slow.cpp: small synthetic training inputs,
// a small-U-Net config, metrics.jsonl reading, and the overfit check.
#pragma once

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "data/palette.hpp"
#include "data/sparse_sampler.hpp"
#include "data/synth.hpp"
#include "host/train/checkpoint.hpp"
#include "host/train/config.hpp"
#include "host/train/trained_model.hpp"
#include "host/train/trainer.hpp"
#include "tests/test_util.hpp"

namespace pfce::test {

namespace fs = std::filesystem;

inline TrainInputs synthetic_inputs(int count, int size, bool sparse, int val_count = 1) {
    TrainInputs in;
    auto make = [&](std::uint32_t idx) {
        SynthScene sc = synthesize_scene(size, 1234, idx);
        SampleData s;
        s.image = std::move(sc.image);
        s.dense = sc.labels;
        if (sparse) {
            SamplerOptions so;
            so.points = {20};
            so.seed = 5;
            s.train_labels = sample_sparse(sc.labels, so, "img" + std::to_string(idx));
        } else {
            s.train_labels = std::move(sc.labels);
        }
        return s;
    };
    for (int i = 0; i < count; ++i) in.train.push_back(make(static_cast<std::uint32_t>(i)));
    for (int i = 0; i < val_count; ++i)
        in.val.push_back(make(static_cast<std::uint32_t>(1000 + i)));
    std::vector<const RgbImage*> imgs;
    for (const auto& s : in.train) imgs.push_back(&s.image);
    in.stats = compute_channel_stats(imgs);
    for (const auto& c : potsdam_palette().classes) {
        in.class_names.push_back(c.name);
        in.class_colours.push_back(c.colour);
    }
    in.clutter_class = kPotsdamClutter;
    in.label_kind = sparse ? "sparse" : "dense";
    return in;
}

inline Config small_config(const std::string& out) {
    Config c;
    c.model.width = 8;
    c.model.depth = 2;
    c.run.batch_size = 2;
    c.run.epochs = 3;
    c.optimizer.lr = 1e-2;
    c.optimizer.name = "adam";
    c.run.device = "cpu";
    c.run.out = out;
    c.run.log_every = 1;
    c.run.prefetch = 1;
    return c;
}

inline std::vector<nlohmann::json> read_metrics(const std::string& path) {
    std::vector<nlohmann::json> out;
    std::ifstream f(path);
    std::string line;
    while (std::getline(f, line))
        if (!line.empty()) out.push_back(nlohmann::json::parse(line));
    return out;
}

// Every tensor of two checkpoints equal bit for bit (a resumed run against one never stopped).
inline void expect_same_tensors(const std::string& a, const std::string& b) {
    const Checkpoint ca = read_checkpoint(a), cb = read_checkpoint(b);
    ASSERT_EQ(ca.tensors.size(), cb.tensors.size());
    for (std::size_t i = 0; i < ca.tensors.size(); ++i)
        EXPECT_EQ(0, std::memcmp(ca.tensors[i].value.raw(), cb.tensors[i].value.raw(),
                                 ca.tensors[i].value.bytes()))
            << ca.tensors[i].name << " differs between " << a << " and " << b;
}

// Options for a run that prints no progress bar.
inline TrainOptions quiet_options() {
    TrainOptions o;
    o.tty = 0;
    return o;
}

// Trains `c` but stops after step `step`: expects an interrupted run of exactly that many steps.
inline void train_interrupted_after(Backend& b, const Config& c, const TrainInputs& in,
                                    const TrainOptions& o, std::int64_t step) {
    TrainOptions stop = o;
    stop.stop_after_step = [step](std::int64_t s) { return s == step; };
    const TrainResult part = train_unet(b, c, in, stop);
    EXPECT_TRUE(part.interrupted);
    EXPECT_EQ(part.steps, step);
}

// Resumes the run of `c` (in c.run.out) with options `o` plus resume: expects it to finish, `steps`
// steps in all.
inline TrainResult resume_training(Backend& b, const Config& c, const TrainInputs& in,
                                   const TrainOptions& o, std::int64_t steps) {
    TrainOptions resume = o;
    resume.resume = true;
    const TrainResult rest = train_unet(b, c, in, resume);
    EXPECT_FALSE(rest.interrupted);
    EXPECT_EQ(rest.steps, steps);
    return rest;
}

// Overfits one size x size synthetic image (dense labels) with `steps` Adam steps of batch 1 and
// checks pixel accuracy >= 0.95, through validation and through a reloaded best.ckpt.
inline void check_overfit(int size, int steps) {
    auto b = cpu_backend();
    TrainInputs in = synthetic_inputs(1, size, false, 0);
    // Validate on the training image itself: the metric is pixel accuracy on the image we overfit.
    in.val.push_back(SampleData{in.train[0].image, in.train[0].dense, in.train[0].dense, {}});
    // Ten copies per epoch: ten steps between validations (the copies are identical, augment off).
    for (int k = 0; k < 9; ++k)
        in.train.push_back(SampleData{in.train[0].image, in.train[0].dense, in.train[0].dense, {}});
    Config c = small_config(temp_dir("trainer") + "/run");
    c.run.batch_size = 1;
    c.data.augment = false;
    c.run.epochs = steps / 10;  // the fixed step budget
    c.run.log_every = 10;
    c.loss.gamma =
        0.0;  // cross-entropy converges fastest here; the focal path is covered elsewhere
    c.run.best_metric = "val_miou";
    const TrainOptions o = quiet_options();
    const TrainResult r = train_unet(*b, c, in, o);
    EXPECT_EQ(r.steps, steps);
    EXPECT_GE(r.val.metrics.oa, 0.95) << "train loss " << r.train_loss;
    // best.ckpt reloads into a model that predicts as well (the eval/predict path).
    TrainedModel m = load_trained_model(*b, r.best_checkpoint);
    const LabelMap pred = predict_labels(*b, *m.net, in.train[0].image, m.stats);
    std::int64_t right = 0;
    for (std::size_t i = 0; i < pred.labels.size(); ++i)
        right += pred.labels[i] == in.train[0].dense.labels[i];
    EXPECT_GE(static_cast<double>(right) / static_cast<double>(pred.labels.size()), 0.95);
    const auto lines = read_metrics(r.metrics_path);
    ASSERT_EQ(lines.size(), static_cast<std::size_t>(c.run.epochs));
    EXPECT_EQ(lines.back()["epoch"], c.run.epochs);
    EXPECT_EQ(lines.back()["val_iou"].size(), 6u);
}

}  // namespace pfce::test
