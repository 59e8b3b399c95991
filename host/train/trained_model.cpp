// Model state in checkpoints, model reconstruction, single-image prediction.
#include "host/train/trained_model.hpp"

#include "core/log.hpp"
#include "core/op_variants.hpp"
#include "core/text.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string_view>

namespace pfce {

void save_model_state(Checkpoint& ck, Backend& backend, UNet& net) {
    for (Parameter* p : net.parameters()) ck.add(backend, "param." + p->name, p->value);
    for (Buffer* b : net.buffers()) ck.add(backend, "buffer." + b->name, b->value);
}

void load_model_state(const Checkpoint& ck, Backend& backend, UNet& net,
                      const std::string& source) {
    for (Parameter* p : net.parameters())
        ck.load_into(backend, "param." + p->name, p->value, source);
    for (Buffer* b : net.buffers()) ck.load_into(backend, "buffer." + b->name, b->value, source);
}

// Weights that are not numbers predict one class everywhere without a word (a probe's edited
// checkpoint scored "100% building"); training never saves them (it stops at a non-finite loss
// and keeps the last good checkpoint), so such a file was damaged or edited.
void check_finite_weights(const Checkpoint& ck, const std::string& path) {
    for (const auto& t : ck.tensors) {
        if (t.value.dtype() != DType::f32) continue;
        const float* v = t.value.data<float>();
        const std::int64_t n = t.value.numel();
        const std::int64_t bad = std::count_if(v, v + n, [](float x) { return !std::isfinite(x); });
        if (bad > 0)
            PFCE_THROW(InputError, "checkpoint ", path, ": its tensor ", t.name, " holds ", bad,
                       " of ", n,
                       " values that are not finite (NaN or infinity): a model of them cannot "
                       "predict; use another checkpoint (the run's best.ckpt or last.ckpt)");
    }
}

namespace {

// What only an edit makes (training never writes it), each of which would compute NaN or a
// class that does not exist: a batch norm's running variance below 0 (its square root), a
// channel's deviation of 0 or less or a statistic that is no number (the input's scaling), class
// names or colours of another count than the network's classes, a clutter class out of range.
void check_model_description(const Checkpoint& ck, const TrainedModel& m, const std::string& path) {
    for (const auto& t : ck.tensors) {
        const std::string_view suffix = ".running_var";
        if (t.value.dtype() != DType::f32 || t.name.size() < suffix.size() ||
            t.name.compare(t.name.size() - suffix.size(), suffix.size(), suffix) != 0)
            continue;
        const float* v = t.value.data<float>();
        const std::int64_t n = t.value.numel();
        if (const float* bad = std::find_if(v, v + n, [](float x) { return x < 0; }); bad != v + n)
            PFCE_THROW(InputError, "checkpoint ", path, ": its tensor ", t.name, " holds ",
                       format_shortest(*bad), " at channel ", bad - v,
                       ", a batch norm's running variance below 0 (expected >= 0; training never "
                       "writes one): use another checkpoint (the run's best.ckpt or last.ckpt)");
    }
    // Training writes sqrt(variance) above 0.001, and 1 for a channel of one value (BatchLoader):
    // a deviation below that scales the input by more than a float holds.
    for (int c = 0; c < m.stats.channels; ++c)
        if (!std::isfinite(m.stats.mean[c]) || !std::isfinite(m.stats.std[c]) ||
            !(m.stats.std[c] >= 1e-3f))
            PFCE_THROW(InputError, "checkpoint ", path, ": channel ", c + 1,
                       " of its input statistics has mean ", format_shortest(m.stats.mean[c]),
                       " and deviation ", format_shortest(m.stats.std[c]),
                       " (expected finite numbers, the deviation at least 0.001)");
    const int classes = m.net->config().num_classes;
    // Training takes 2..32 classes (check_class_count, kMaxClasses): a softmax over one
    // is 1 everywhere, and a mask's pixel holds no class past 255.
    if (classes < 2 || classes > 32)
        PFCE_THROW(InputError, "checkpoint ", path, ": a network of ", classes,
                   " classes (expected 2..32, as training makes them)");
    if (m.class_names.size() != static_cast<std::size_t>(classes) ||
        m.class_colours.size() != static_cast<std::size_t>(classes))
        PFCE_THROW(InputError, "checkpoint ", path, ": ", m.class_names.size(), " class names and ",
                   m.class_colours.size(), " colours for a network of ", classes,
                   " classes (expected one name and one colour a class)");
    if (m.clutter_class < -1 || m.clutter_class >= classes)
        PFCE_THROW(InputError, "checkpoint ", path, ": clutter class ", m.clutter_class,
                   " (expected -1 for none, or a class of 0..", classes - 1, ")");
    if (m.net->config().in_channels != m.stats.channels)
        PFCE_THROW(InputError, "checkpoint ", path, ": input statistics of ", m.stats.channels,
                   " channels for a network of ", m.net->config().in_channels,
                   " input channels (expected one mean and deviation a channel)");
}

// The training data's record (meta.data), which predict, eval and export read key by key: an
// object, and its ground pixel size null or {"x", "y" (positive numbers), "epsg" (an integer)}.
// An edited one failed as "[json.exception.type_error.302] type must be number" naming no file.
void check_data_description(const nlohmann::json& meta, const std::string& path) {
    if (!meta.is_object() || !meta.contains("data")) return;
    const nlohmann::json& data = meta.at("data");
    if (!data.is_object())
        PFCE_THROW(InputError, "checkpoint ", path, ": its data record is ", data.type_name(),
                   " (expected an object of the training images' properties)");
    if (!data.contains("ground_pixel_size") || data.at("ground_pixel_size").is_null()) return;
    const nlohmann::json& px = data.at("ground_pixel_size");
    const auto positive = [&](const char* key) {
        return px.contains(key) && px.at(key).is_number() && px.at(key).get<double>() > 0 &&
               std::isfinite(px.at(key).get<double>());
    };
    if (!px.is_object() || !positive("x") || !positive("y") || !px.contains("epsg") ||
        !px.at("epsg").is_number_integer())
        PFCE_THROW(InputError, "checkpoint ", path, ": its training images' ground pixel size is ",
                   px.dump(),
                   " (expected {\"x\": size, \"y\": size, \"epsg\": code} with sizes above 0, "
                   "or null)");
}

}  // namespace

nlohmann::json stats_to_json(const ChannelStats& s) {
    const auto n = static_cast<std::size_t>(s.channels);
    return {{"mean", std::vector<float>(s.mean, s.mean + n)},
            {"std", std::vector<float>(s.std, s.std + n)}};
}

ChannelStats stats_from_json(const nlohmann::json& j) {
    const auto mean = j.at("mean").get<std::vector<float>>();
    const auto std = j.at("std").get<std::vector<float>>();
    if (mean.size() != std.size() || mean.size() < 3 || mean.size() > kMaxImageChannels)
        PFCE_THROW(InputError, "channel statistics of ", mean.size(), " means and ", std.size(),
                   " deviations (expected one of each a channel, 3..", kMaxImageChannels, ")");
    ChannelStats s;
    s.channels = static_cast<int>(mean.size());
    std::copy(mean.begin(), mean.end(), s.mean);
    std::copy(std.begin(), std.end(), s.std);
    return s;
}

TrainedModel load_trained_model(Backend& backend, const std::string& path) {
    return load_trained_model(backend, read_checkpoint(path), path);
}

TrainedModel load_trained_model(Backend& backend, const Checkpoint& ck, const std::string& path) {
    check_data_description(ck.meta, path);
    TrainedModel m;
    m.meta = ck.meta;
    try {
        m.config = config_from_json(ck.meta.at("config"), path + " (config)");
        // loss.alpha = "auto": the weights the run resolved from its training labels.
        if (m.config.loss.alpha_auto && ck.meta.contains("loss_alpha"))
            m.config.loss.alpha = ck.meta.at("loss_alpha").get<std::vector<double>>();
        const auto& mj = ck.meta.at("model");
        UNetConfig uc;
        uc.in_channels = mj.at("in_channels").get<int>();
        uc.num_classes = mj.at("num_classes").get<int>();
        uc.depth = mj.at("depth").get<int>();
        uc.base_width = mj.at("base_width").get<int>();
        m.stats = stats_from_json(ck.meta.at("stats"));
        m.class_names = ck.meta.at("classes").get<std::vector<std::string>>();
        m.class_colours = ck.meta.at("colours").get<std::vector<std::array<std::uint8_t, 3>>>();
        if (ck.meta.contains("unlabelled_colours"))
            m.unlabelled_colours =
                ck.meta.at("unlabelled_colours").get<std::vector<std::array<std::uint8_t, 3>>>();
        m.clutter_class = ck.meta.at("clutter_class").get<int>();
        if (ck.meta.contains("mask_values")) {
            m.mask_values = ck.meta.at("mask_values").get<std::vector<int>>();
            if (m.mask_values.size() != m.class_names.size())
                PFCE_THROW(InputError, "checkpoint ", path, ": mask_values has ",
                           m.mask_values.size(), " values for ", m.class_names.size(), " classes");
            for (const int v : m.mask_values)
                if (v < 0 || v > 255)
                    PFCE_THROW(InputError, "checkpoint ", path, ": mask value ", v,
                               " is not a pixel value (expected 0..255)");
        }
        const nlohmann::json split = ck.meta.value("split", nlohmann::json::object());
        for (const char* part : {"train", "val", "test"})
            if (split.contains(part))
                m.split_ids[part] = split.at(part).get<std::vector<std::string>>();
        // The model runs with the kernels (its activations' layout among them: before it is
        // built) and at the precision it was trained and validated with (pfce eval, predict, the
        // suite's test): a bf16 run's checkpoint is not judged at tf32.
        backend.set_precision(
            parse_precision(m.config.run.precision, backend.device() == DeviceKind::cuda));
        select_kernels(backend, m.config.run.kernels, false);
        m.net = std::make_unique<UNet>(backend, uc, 0);
    } catch (const nlohmann::json::exception& e) {
        PFCE_THROW(InputError, "checkpoint ", path,
                   ": metadata does not describe a pfce U-Net: ", e.what());
    }
    check_finite_weights(ck, path);
    check_model_description(ck, m, path);
    load_model_state(ck, backend, *m.net, path);
    // A run's last.ckpt is written at its start, before the first step: a run killed then leaves
    // weights that never trained, whose predictions and metrics mean nothing (hostile-user probe:
    // used without a word).
    if (const TrainingProgress p = training_progress(m.meta); p.known && p.global_step == 0)
        log_warn("checkpoint ", path,
                 " holds untrained weights (epoch 0, optimizer step 0: written at the start of a "
                 "run that stopped before its first step); its results are those of a random "
                 "model. Resume the run (pfce train --resume) or use a checkpoint of a later "
                 "epoch");
    // Ctrl-C saves last.ckpt where the run stands, within an epoch: weights that trained, but
    // not an epoch's end (no validation chose them), said rather than used without a word.
    else if (p.known && p.batch > 0)
        log_info("checkpoint ", path, " was saved by a run interrupted within epoch ", p.epoch + 1,
                 " (after ", p.batch, " of its batches, optimizer step ", p.global_step,
                 "): the weights of that moment, not of an epoch's end; pfce train "
                 "--resume goes on from it");
    return m;
}

TrainingProgress training_progress(const nlohmann::json& meta) {
    TrainingProgress p;
    const nlohmann::json state =
        meta.is_object() ? meta.value("state", nlohmann::json()) : nlohmann::json();
    if (!state.is_object()) return p;
    const nlohmann::json epoch = state.value("epoch", nlohmann::json()),
                         step = state.value("global_step", nlohmann::json());
    if (!epoch.is_number_integer() || !step.is_number_integer()) return p;
    p.known = true;
    p.epoch = epoch.get<std::int64_t>();
    p.global_step = step.get<std::int64_t>();
    if (const nlohmann::json batch = state.value("batch", nlohmann::json());
        batch.is_number_integer())
        p.batch = batch.get<std::int64_t>();
    return p;
}

Tensor normalize_image(const RgbImage& img, const ChannelStats& stats) {
    check_channels_match(img, stats);
    Tensor t = Tensor::host({1, img.channels, img.height, img.width}, DType::f32);
    float* p = t.data<float>();
    const std::size_t plane = static_cast<std::size_t>(img.width) * img.height;
    const auto nc = static_cast<std::size_t>(img.channels);
    for (std::size_t c = 0; c < nc; ++c) {
        const float mean = stats.mean[c], inv = 1.0f / stats.std[c];
        for (std::size_t i = 0; i < plane; ++i)
            p[c * plane + i] = (static_cast<float>(img.pixels[i * nc + c]) - mean) * inv;
    }
    return t;
}

LabelMap predict_labels(Backend& backend, UNet& net, const RgbImage& img,
                        const ChannelStats& stats) {
    Tensor host = normalize_image(img, stats);
    Tensor x = backend.zeros(host.shape(), DType::f32);
    backend.copy(x, host);
    const Tensor& logits = net.forward(x, false);
    Tensor pred = backend.zeros({1, img.height, img.width}, DType::u8);
    backend.argmax_channels(logits, pred);
    LabelMap out(img.width, img.height, 0);
    Tensor hp = Tensor::host(pred.shape(), DType::u8);
    backend.copy(hp, pred);
    std::memcpy(out.labels.data(), hp.raw(), hp.bytes());
    return out;
}

}  // namespace pfce
