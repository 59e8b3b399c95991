// Trainer: one TrainingRun holds the pieces of a run (model, optimizer, loader, schedule, loop
// state); its methods are the stages: claim the output directory, resume, train an epoch, validate
// and checkpoint. train_unet strings them together.
#include "host/train/trainer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string_view>
#include <tuple>
#include <utility>

#include "core/dir_lock.hpp"
#include "core/file_io.hpp"
#include "core/hash.hpp"
#include "core/log.hpp"
#include "core/op_variants.hpp"
#include "core/output_dir.hpp"
#include "core/source_version.hpp"
#include "core/stop_signal.hpp"
#include "core/stopwatch.hpp"
#include "core/text.hpp"
#include "data/data_fingerprint.hpp"
#include "data/mask_dir.hpp"
#include "host/train/checkpoint.hpp"
#include "host/train/class_weights.hpp"
#include "host/train/json_number.hpp"
#include "host/train/lr_schedule.hpp"
#include "host/train/optimizer.hpp"
#include "host/train/progress.hpp"
#include "host/train/trained_model.hpp"

namespace pfce {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// "nothing to resume in OUT: ..." saying whether OUT itself is missing (a mistyped --out) or holds
// no last.ckpt.
[[noreturn]] void refuse_nothing_to_resume(const std::string& out_dir) {
    std::error_code ec;
    if (!fs::is_directory(out_dir, ec))
        PFCE_THROW(InputError, "nothing to resume in ", out_dir, ": it ",
                   fs::exists(out_dir, ec) ? "is not a directory" : missing_reason(out_dir),
                   " (--resume continues the run in --out)");
    PFCE_THROW(InputError, "nothing to resume in ", out_dir, ": it holds no last.ckpt");
}

json json_number(double x) {
    return std::isfinite(x) ? json(x) : json();
}

// The class of `key` = "val_iou:CLASS" (run.best_metric, schedule.plateau_metric) among the
// dataset's classes; an InputError naming them (and the nearest to a typo) where it is none of
// them.
int class_of_iou_metric(const char* key, const std::string& best,
                        const std::vector<std::string>& class_names) {
    const std::string name = best.substr(std::string_view(kBestIouPrefix).size());
    for (std::size_t c = 0; c < class_names.size(); ++c)
        if (class_names[c] == name) return static_cast<int>(c);
    std::string names;
    for (const std::string& n : class_names) names += (names.empty() ? "" : ", ") + n;
    const std::string near = nearest_name(name, class_names);
    PFCE_THROW(InputError, key, " = \"", best, "\": the dataset has no class \"", name,
               "\" (expected val_iou: and one of its classes: ", names,
               near.empty() ? std::string() : "; did you mean val_iou:" + near + "?", ")");
}
double number_from_json(const json& j) {
    return j.is_number() ? j.get<double>() : std::numeric_limits<double>::quiet_NaN();
}

// Appends one line and makes it durable (metrics survive a crash right after an epoch).
void append_line(const std::string& path, const std::string& line) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        PFCE_THROW(SystemError, "cannot open ", path, " for appending: ", std::strerror(errno));
    const std::string s = line + "\n";
    const ssize_t wrote = ::write(fd, s.data(), s.size());
    // The reason, as a checkpoint's failure says it ("No space left on device"); a short write
    // sets no errno.
    const int err = wrote < 0 ? errno : 0;
    const bool synced = wrote == static_cast<ssize_t>(s.size()) && ::fsync(fd) == 0;
    const int sync_err = synced ? 0 : errno;
    ::close(fd);
    if (wrote != static_cast<ssize_t>(s.size()))
        PFCE_THROW(SystemError, "cannot append to ", path, ": ",
                   wrote < 0 ? std::strerror(err) : "the disk took only part of the line");
    if (!synced) PFCE_THROW(SystemError, "cannot append to ", path, ": ", std::strerror(sync_err));
}

// Whether any sample's training labels (what the validation loss is computed on) label a pixel. A
// validation split without one has a loss of 0 and no mIoU: it cannot choose best.ckpt or drive
// the plateau schedule, so those follow the training loss as when there is no split at all.
bool any_labelled_pixel(const std::vector<SampleData>& samples) {
    for (const SampleData& s : samples)
        for (const std::uint8_t v : s.train_labels.labels)
            if (v != kUnlabelled) return true;
    return false;
}

// Whether a dense mask of `samples` labels a pixel: else their mIoU is undefined (images without
// masks, trained on their points), and val_miou can pick no checkpoint nor drive a schedule.
bool any_dense_pixel(const std::vector<SampleData>& samples) {
    for (const SampleData& s : samples)
        for (const std::uint8_t v : s.dense.labels)
            if (v != kUnlabelled) return true;
    return false;
}

// Whether a dense mask of `samples` labels a pixel `c`.
bool any_dense_pixel_of(const std::vector<SampleData>& samples, int c) {
    for (const SampleData& s : samples)
        for (const std::uint8_t v : s.dense.labels)
            if (v == c) return true;
    return false;
}

// A validation metric a run follows (best.ckpt's, the plateau schedule's), after the fallbacks:
// with no validation split, or one without a labelled pixel, the training loss whatever was
// asked; val_miou or val_iou:CLASS without a dense mask to score (images trained on their
// points), the validation loss on their labels; val_iou:CLASS of a class no validation mask holds
// (its IoU is 0 or none whatever the model learns), the validation loss too. Each fallback is said
// at the start.
struct FollowedMetric {
    std::string name;                // train_loss, val_loss, val_miou or val_iou:CLASS
    int cls = -1;                    // val_iou:CLASS followed: the class
    bool max = false;                // higher is better
    bool class_not_in_val = false;   // val_iou:CLASS asked, no validation mask holds CLASS
    bool no_dense_to_score = false;  // val_miou or val_iou:CLASS asked, no dense pixel to score
    // Its value in an epoch: NaN where a class has no IoU (no pixel of it scored).
    double of(const EvalResult& val, double monitored_loss) const {
        return name == "val_miou" ? val.metrics.miou
               : cls >= 0         ? val.metrics.iou[static_cast<std::size_t>(cls)]
                                  : monitored_loss;
    }
};
FollowedMetric followed_metric(const char* key, const std::string& asked, bool val_on,
                               bool val_miou_on, const TrainInputs& in) {
    FollowedMetric f;
    const bool one_class = asked.rfind(kBestIouPrefix, 0) == 0;
    const int cls = one_class ? class_of_iou_metric(key, asked, in.class_names) : -1;
    f.no_dense_to_score = val_on && (asked == "val_miou" || one_class) && !val_miou_on;
    f.class_not_in_val = one_class && val_on && val_miou_on && !any_dense_pixel_of(in.val, cls);
    f.name = !val_on                                     ? std::string("train_loss")
             : f.no_dense_to_score || f.class_not_in_val ? std::string("val_loss")
                                                         : asked;
    f.cls = f.name == asked ? cls : -1;
    f.max = f.name == "val_miou" || f.cls >= 0;
    return f;
}

// The schedule of `cfg`, its plateau watching what `watched` (followed_metric) names.
ScheduleConfig monitored_schedule(const Config& cfg, std::int64_t batches_per_epoch,
                                  bool higher_is_better) {
    ScheduleConfig s = schedule_config(cfg, batches_per_epoch);
    s.plateau_max = higher_is_better;
    return s;
}

// A line of metrics.jsonl as shown in a message: long ones are cut.
std::string shown_line(const std::string& line) {
    return line.size() > 120 ? line.substr(0, 120) + "..." : line;
}

// The files that hold a run's state: its checkpoints and metrics (what --resume reads, and what
// --force replaces).
constexpr const char* kRunStateFiles[] = {"last.ckpt", "best.ckpt", "metrics.jsonl"};
bool is_run_state_file_name(const std::string& name) {
    return std::find(std::begin(kRunStateFiles), std::end(kRunStateFiles), name) !=
           std::end(kRunStateFiles);
}

// A file a run writes into its directory (each through a temporary): its state, curves,
// config.toml and the copies a resume keeps of an edited one, and the write check's probe. Only
// these names' temporaries are a run's to remove.
bool is_run_file_name(const std::string& name) {
    return is_run_state_file_name(name) || name == kRunCurvesFile || name == "write-check" ||
           name.rfind(kRunConfigFile, 0) == 0;  // config.toml, config.toml.edited(.N)
}

// What a malformed metrics.jsonl line (number `n`) says: how to go on from it.
[[noreturn]] void bad_metrics_line(const std::string& path, std::size_t n, const std::string& what,
                                   const std::string& line) {
    PFCE_THROW(InputError, path, ": line ", n, " ", what, ": ", shown_line(line),
               "\nonly a last line cut short (a kill or a full disk during its write) is dropped "
               "by itself; remove or repair that line and --resume again, or start the run over "
               "with --force");
}

// metrics.jsonl, one JSON object per epoch. The file is appended to a line at a time
// (append_line), never rewritten through a temporary while training, so a kill or a full disk in
// the middle of an append leaves its last line cut short: an unparsable last line is such a
// write, left out of `lines` and kept in `torn`. A malformed line anywhere else is an error.
struct MetricLines {
    std::vector<json> lines;
    std::vector<std::string> raw;     // each line's own text
    std::vector<std::size_t> number;  // ... and its line number in the file
    std::string torn;                 // the unfinished last line, if any
    std::string text;                 // the whole file
};

MetricLines read_metric_lines(const std::string& path) {
    MetricLines out;
    std::error_code ec;
    if (!fs::exists(path, ec)) return out;
    out.text = read_whole_file(path);
    const std::string& text = out.text;
    std::size_t pos = 0, number = 0;
    while (pos < text.size()) {
        const std::size_t nl = text.find('\n', pos);
        const std::string line =
            text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? text.size() : nl + 1;
        ++number;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        try {
            out.lines.push_back(json::parse(line));
            out.raw.push_back(line);
            out.number.push_back(number);
        } catch (const json::exception&) {
            const bool last = text.find_first_not_of(" \t\r\n", pos) == std::string::npos;
            // An append writes its newline last: a line that has one was written whole.
            if (!last || nl != std::string::npos)
                bad_metrics_line(path, number, "is malformed", line);
            out.torn = line;
        }
    }
    return out;
}

// On resume: keep only the lines of epochs the checkpoint has completed (a crash between the
// metrics line and the checkpoint would otherwise leave a line for an epoch that is run again),
// and drop a last line whose write never finished (read_metric_lines), saying so. The file is
// rewritten atomically, and only when that changes it: a last line without its newline gets one,
// so the next epoch's line starts a line of its own.
void trim_metrics(const std::string& path, int completed_epochs) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        if (completed_epochs > 0)
            log_warn(path, ": missing, though the checkpoint has completed ", completed_epochs,
                     " epochs; the run continues, and its curves and report lack them");
        return;
    }
    const MetricLines m = read_metric_lines(path);
    if (!m.torn.empty())
        log_warn(path,
                 ": dropped its last line, a write that never finished (a kill or a full "
                 "disk during it): ",
                 shown_line(m.torn));
    std::string kept;
    int last = 0, n_kept = 0;
    std::vector<int> dropped;
    for (std::size_t i = 0; i < m.lines.size(); ++i) {
        const json& j = m.lines[i];
        int epoch = 0;
        if (!j.is_object() || !j.contains("epoch") || !j["epoch"].is_number_integer() ||
            j["epoch"].get<std::int64_t>() < 1 || j["epoch"].get<std::int64_t>() > kMaxEpochs)
            bad_metrics_line(path, m.number[i], "has no epoch number (1, 2, ...)", m.raw[i]);
        epoch = j["epoch"].get<int>();
        // Epochs are appended in order, once each: a line out of order or repeated is an edited
        // or concatenated file, whose curves would go back in time. The lines past the checkpoint
        // too: those a stop leaves are the last ones (an epoch 99 between 4 and 6 was dropped as
        // "run again", and the record of epoch 5 it replaced lost without a word).
        if (epoch <= last)
            bad_metrics_line(path, m.number[i],
                             "repeats or goes back to epoch " + std::to_string(epoch) +
                                 " after epoch " + std::to_string(last),
                             m.raw[i]);
        last = epoch;
        if (epoch > completed_epochs) {
            // Written after the checkpoint (a stop between the line and the checkpoint): that
            // epoch is run again. Said once, below.
            dropped.push_back(epoch);
            continue;
        }
        ++n_kept;
        kept += m.raw[i] + "\n";
    }
    // A kill leaves one line past the checkpoint at most: more is a checkpoint older than the
    // metrics (an earlier last.ckpt put back), whose epochs since are trained again (a probe saw
    // a finished 20-epoch run rewound to epoch 0 in twenty info lines).
    if (dropped.size() == 1)
        log_info(path, ": dropped the line of epoch ", dropped[0], ", past the checkpoint's ",
                 completed_epochs, " (it runs again)");
    else if (dropped.size() > 1)
        log_warn(path, ": dropped the lines of epochs ", dropped.front(), "..", dropped.back(),
                 ", past the checkpoint's ", completed_epochs,
                 ": a stop leaves one such line at most, so this last.ckpt is older than the run's "
                 "metrics (an earlier one put back?); the run goes on from epoch ",
                 completed_epochs + 1, " and trains those epochs again");
    if (n_kept < completed_epochs)
        log_warn(path, ": holds ", n_kept, " of the ", completed_epochs,
                 " epochs the checkpoint has completed (lines removed or the file replaced); the "
                 "run continues, and its curves and report lack the missing epochs");
    // Also rewritten where the file is shared, so the epochs appended from here on stay out of the
    // copies: a snapshot made with hard links (cp -al, rsync --link-dest) or a symlink to another
    // run's file would gain lines for epochs its checkpoints never reached. A new file, as
    // checkpoints are written.
    struct stat st {};
    const bool shared = fs::is_symlink(fs::symlink_status(path, ec)) ||
                        (::stat(path.c_str(), &st) == 0 && st.st_nlink > 1);
    if (kept != m.text || shared)
        write_file_atomically(path, kept);  // the old history stays whole if this fails
}

struct LoopState {
    int epoch = 0;                 // 0-based epoch in progress (or next to run)
    std::int64_t batch = 0;        // batches of `epoch` already done
    std::int64_t global_step = 0;  // optimizer steps over the run
    float epoch_loss_sum = 0;      // device sum of batch losses of `epoch` so far
    float epoch_crf_sum = 0;       // ... and of the CRF term's, when it is on
    // Batches of `epoch` so far without a labelled pixel: their focal loss is 0 by definition, so
    // they lower the epoch's mean (small crops of sparse points), which is said beside it.
    std::int64_t epoch_unlabelled_batches = 0;
    double epoch_images = 0;
    double epoch_seconds = 0;
    int best_epoch = 0;  // 1-based
    double best_value = 0;
    bool best_lost = false;  // a resume found the best epoch's checkpoint gone (and said so)
};

json state_to_json(const LoopState& s, const LrSchedule& sched) {
    return {{"epoch", s.epoch},
            {"batch", s.batch},
            {"global_step", s.global_step},
            {"epoch_loss_sum", s.epoch_loss_sum},
            {"epoch_crf_sum", s.epoch_crf_sum},
            {"epoch_unlabelled_batches", s.epoch_unlabelled_batches},
            {"epoch_images", s.epoch_images},
            {"epoch_seconds", s.epoch_seconds},
            {"best_epoch", s.best_epoch},
            {"best_value", json_number(s.best_value)},
            {"best_lost", s.best_lost},
            {"schedule", sched.state()}};
}

LoopState state_from_json(const json& j, LrSchedule& sched) {
    LoopState s;
    s.epoch = j.at("epoch").get<int>();
    s.batch = j.at("batch").get<std::int64_t>();
    s.global_step = j.at("global_step").get<std::int64_t>();
    s.epoch_loss_sum = j.at("epoch_loss_sum").get<float>();
    s.epoch_crf_sum = j.value("epoch_crf_sum", 0.0f);  // absent in checkpoints of older pfce
    s.epoch_unlabelled_batches = j.value("epoch_unlabelled_batches", std::int64_t{0});  // ditto
    s.epoch_images = j.at("epoch_images").get<double>();
    s.epoch_seconds = j.at("epoch_seconds").get<double>();
    s.best_epoch = j.at("best_epoch").get<int>();
    s.best_value = j.at("best_value").is_null() ? 0.0 : j.at("best_value").get<double>();
    s.best_lost = j.value("best_lost", false);  // absent in checkpoints of older pfce
    sched.load_state(j.at("schedule"));
    return s;
}

UNetConfig unet_config(const Config& cfg, int classes, int channels) {
    UNetConfig uc;
    uc.in_channels = channels;  // the bands data.bands picks, three unless it picks more
    uc.num_classes = classes;
    uc.depth = cfg.model.depth;
    uc.base_width = cfg.model.width;
    return uc;
}

// The crops an epoch draws: each training image data.crops_per_image times (crops only).
std::size_t crops_per_epoch(const Config& cfg, std::size_t samples) {
    return samples *
           static_cast<std::size_t>(cfg.data.crop_size > 0 ? cfg.data.crops_per_image : 1);
}

LoaderOptions train_loader_options(const Config& cfg, std::size_t samples) {
    LoaderOptions lo;
    lo.batch_size = cfg.run.batch_size;
    lo.shuffle = true;
    lo.augment = cfg.data.augment;
    lo.crops_per_image = cfg.data.crop_size > 0 ? cfg.data.crops_per_image : 1;
    // Full batches only (fixed shapes, so a step never reallocates), unless the split is smaller.
    lo.drop_last = crops_per_epoch(cfg, samples) >= static_cast<std::size_t>(cfg.run.batch_size);
    lo.seed = cfg.run.seed;
    lo.prefetch = cfg.run.prefetch;
    lo.crop_size = cfg.data.crop_size;
    lo.keep_rgb = cfg.loss.crf_weight > 0;  // the CRF term's kernel reads the raw colours
    return lo;
}

// The focal loss's parameters with loss.alpha = "auto" resolved from the training labels.
FocalLossParams resolved_focal_params(const Config& cfg, const TrainInputs& in) {
    if (!cfg.loss.alpha_auto) return focal_params(cfg);
    Config resolved = cfg;
    resolved.loss.alpha = inverse_sqrt_frequency_weights(
        training_label_counts(in.train, static_cast<int>(in.class_names.size())));
    return focal_params(resolved);
}

std::size_t checked_classes(const TrainInputs& in) {
    const std::size_t C = in.class_names.size();
    if (C < 1 || C > static_cast<std::size_t>(kMaxClasses))
        PFCE_THROW(InputError, "dataset has ", C, " classes, expected 1..", kMaxClasses);
    if (in.train.empty()) PFCE_THROW(InputError, "no training samples");
    return C;
}

// The run's backend settings, before its model is built and its first op runs: determinism and
// precision (cuDNN's algorithms are chosen and cached at their first use) and the kernel variants
// of run.kernels (the model takes its activations' layout from them). Returns the variants
// selected.
std::vector<KernelChoice> configure_backend(Backend& backend, const Config& cfg) {
    backend.set_deterministic(cfg.run.deterministic);
    backend.set_precision(parse_precision(cfg.run.precision, backend.device() == DeviceKind::cuda));
    return select_kernels(backend, cfg.run.kernels, true);
}

class TrainingRun {
  public:
    TrainingRun(Backend& backend, const Config& cfg, const TrainInputs& in,
                const TrainOptions& opts)
        : backend_(backend),
          cfg_(cfg),
          in_(in),
          opts_(opts),
          kernels_(configure_backend(backend, cfg)),
          net_(backend, unet_config(cfg, static_cast<int>(checked_classes(in)), in.stats.channels),
               cfg.run.seed),
          params_(net_.parameters()),
          opt_(backend, params_, optimizer_config(cfg)),
          loss_params_(resolved_focal_params(cfg, in)),
          crf_on_(cfg.loss.crf_weight > 0),
          crf_params_(crf_params(cfg)),
          val_on_(any_labelled_pixel(in.val)),
          val_miou_on_(val_on_ && any_dense_pixel(in.val)),
          loader_(backend, in.train, in.stats, train_loader_options(cfg, in.train.size())),
          bpe_(static_cast<std::int64_t>(loader_.batches_per_epoch())),
          // Another schedule ignores plateau_metric (config_unused says so): its class is not
          // looked for.
          plateau_(cfg.schedule.name == "plateau"
                       ? followed_metric("schedule.plateau_metric", cfg.schedule.plateau_metric,
                                         val_on_, val_miou_on_, in)
                       : FollowedMetric{}),
          sched_(monitored_schedule(cfg, std::max<std::int64_t>(bpe_, 1), plateau_.max)),
          // Unset (auto): on for CUDA, off on the CPU, which records no graphs. Asked for there,
          // that is said here, before training, so its try (from the second step) says nothing
          // more.
          step_graph_(backend, cfg.run.step_graph.value_or(backend.device() == DeviceKind::cuda),
                      /*failure_said=*/backend.device() == DeviceKind::cpu) {
        // Its layers keep their outputs for backward: a validation before the first step (a
        // resume whose epoch had only validation left) writes there too, rather than into pool
        // blocks the run would keep beside them.
        net_.will_train();
        if (cfg.run.step_graph == true && backend.device() == DeviceKind::cpu)
            log_warn(
                "run.step_graph = true has no effect on the CPU backend (it records the step "
                "as a CUDA graph); every step runs op by op");
        if (bpe_ == 0)
            PFCE_THROW(InputError, "no training batch (", in.train.size(), " samples, batch ",
                       cfg.run.batch_size, ")");
        if (!loss_params_.alpha.empty() && loss_params_.alpha.size() != in.class_names.size())
            PFCE_THROW(InputError, "loss.alpha has ", loss_params_.alpha.size(),
                       " weights but the dataset has ", in.class_names.size(), " classes (",
                       join_names(), "): give one weight per class");
        // val_iou:CLASS follows that class's IoU, as val_miou the mean (and falls back as it).
        best_ = followed_metric("run.best_metric", cfg.run.best_metric, val_on_, val_miou_on_, in);
        const fs::path out(cfg.run.out);
        result_.last_checkpoint = (out / "last.ckpt").string();
        result_.best_checkpoint = (out / "best.ckpt").string();
        result_.metrics_path = (out / "metrics.jsonl").string();
        result_.best_metric = best_.name;
        meta_ = {{"format", "pfce-unet"},
                 {"pfce", pfce_version_text()},  // the build that wrote it (the last session's)
                 {"config", to_json(cfg)},
                 {"model",
                  {{"in_channels", in.stats.channels},
                   {"num_classes", static_cast<int>(in.class_names.size())},
                   {"depth", cfg.model.depth},
                   {"base_width", cfg.model.width}}},
                 {"stats", stats_to_json(in.stats)},
                 {"classes", in.class_names},
                 {"colours", in.class_colours},
                 {"unlabelled_colours", in.unlabelled_colours},
                 {"clutter_class", in.clutter_class},
                 {"label_kind", in.label_kind},
                 {"split", {{"train", in.train_ids}, {"val", in.val_ids}, {"test", in.test_ids}}},
                 {"data", in.data_meta}};
        // loss.alpha = "auto" stays "auto" in the config; the weights it resolved to are here.
        if (cfg.loss.alpha_auto) meta_["loss_alpha"] = loss_params_.alpha;
        if (!in.mask_values.empty()) meta_["mask_values"] = in.mask_values;
        st_.best_value = worst_value();
        d_loss_ = backend.zeros({1}, DType::f32);
        loss_sum_ = backend.zeros({1}, DType::f32);
        d_crf_ = backend.zeros({1}, DType::f32);
        crf_sum_ = backend.zeros({1}, DType::f32);
        norm_ = backend.zeros({1}, DType::f32);
        scale_ = backend.zeros({1}, DType::f32);
        backend.fill(scale_, 1.0f);  // stays 1 without clipping
        for (Parameter* p : params_) grads_.push_back(&p->grad);
    }

    // Checks OUT (check_run_dir), creates it and clears what a killed run left: temporaries, and
    // with --force the earlier run's files.
    void claim_output_dir() {
        check_run_dir(cfg_, opts_);
        std::error_code ec;
        fs::create_directories(cfg_.run.out, ec);
        if (!fs::is_directory(cfg_.run.out))
            PFCE_THROW(InputError, opts_.out_name, " ", cfg_.run.out, ": ",
                       cannot_create_dir_reason(cfg_.run.out, ec));
        out_lock_ = lock_output_dir(cfg_.run.out);  // a second train --force would delete its files
        // A checkpoint's or metrics' of a killed run: only a run file's (a user's own was removed).
        remove_stale_temps_if(cfg_.run.out, is_run_file_name);
        if (opts_.resume) return;
        for (const std::string& f :
             {result_.last_checkpoint, result_.best_checkpoint, result_.metrics_path}) {
            fs::remove(f, ec);
            if (ec) PFCE_THROW(SystemError, "cannot remove ", f, ": ", ec.message());
        }
        const std::string curves = (fs::path(cfg_.run.out) / kRunCurvesFile).string();
        if (is_run_curves(curves)) fs::remove(curves, ec);  // the earlier run's picture
        metrics_changed();
    }

    // OUT/config.toml, the settings this run goes on with (a resume's may differ from its start's:
    // more epochs); a file of that name pfce did not write is left as it is, and said.
    void write_run_config() const {
        const std::string path = (fs::path(cfg_.run.out) / kRunConfigFile).string();
        std::error_code ec;
        if (const fs::file_status st = fs::symlink_status(path, ec);
            fs::exists(st) && !is_run_config(path)) {
            // Said as what it is: a directory or a link has no first line.
            const std::string what =
                fs::is_directory(st) ? " is a directory, not pfce's settings file"
                : fs::is_symlink(st) ? " is a symbolic link, not pfce's settings file"
                : fs::is_regular_file(st)
                    ? std::string(" is not pfce's (its first line is not \"") + kRunConfigMarker +
                          "\")"
                    : " is not a regular file";
            log_warn(path, what,
                     ": left as it is, so this run's settings are not written there; "
                     "pfce train --print-config --resume --out ",
                     shell_word(cfg_.run.out), " prints them");
            return;
        }
        try {
            // Edited by hand (a hostile probe's lr and note were replaced without a word): the
            // edits set nothing (the checkpoints hold the settings), but they are the user's
            // text, kept beside it under a name of its own.
            // One without its checksum line (cut short, or an older pfce's) that is not what this
            // run writes is kept likewise: whether it was edited cannot be told (a probe's config
            // cut in half was replaced without a word).
            const std::string text = run_config_text(cfg_);
            const bool edited = opts_.resume && run_config_edited(path);
            const bool unsummed = opts_.resume && !edited && fs::exists(path, ec) &&
                                  !run_config_has_checksum(path) && read_whole_file(path) != text;
            if (edited || unsummed) {
                std::string kept = path + ".edited";
                for (int n = 2; fs::exists(fs::symlink_status(kept, ec)); ++n)
                    kept = path + ".edited." + std::to_string(n);
                write_file_atomically(kept, read_whole_file(path));
                log_warn(path,
                         edited ? " was edited by hand"
                                : " has no checksum line (cut short, or written by an older "
                                  "pfce), so whether it was edited cannot be told",
                         ": a resume takes its settings from the run's checkpoints, so its "
                         "settings set nothing. It is kept in ",
                         kept, " (pfce train --config ", shell_word(kept),
                         " --out NEW_DIR starts a run with it), and ", kRunConfigFile,
                         " holds the settings this run goes on with");
            }
            write_file_atomically(path, text);
        } catch (const std::exception& e) {  // a full disk: the checkpoints hold them anyway
            log_warn("the run's settings were not written to ", path, ": ", e.what());
        }
    }

    // opts_.on_metrics, whose failure (a full disk for a picture) does not stop the training.
    void metrics_changed() const {
        if (!opts_.on_metrics) return;
        try {
            opts_.on_metrics();
        } catch (const std::exception& e) {
            log_warn("the run's curves were not drawn: ", e.what());
        }
    }

    // The run's split by sample id against the split given now: another split would train on
    // other images and test on images the run trained on, so resuming is refused. Files of the
    // same names that changed (the data identity's fingerprints) are said, not refused: a touch
    // or a copy moves them too.
    // A run resumed with another data.root: "same" where the data there is the run's, moved or
    // copied (the same sample ids: a copy that did not keep the files' times is then warned about
    // by check_same_data, as a touch in place is); else what differs. "" where the root did not
    // change.
    std::string root_moved(const Config& stored, const json& meta) const {
        if (resolved_path(stored.data.root) == resolved_path(cfg_.data.root)) return {};
        // Synthetic data is what its settings (compared as keys) make, wherever it was written:
        // a suite's run directory copied with its data resumes (check_same_data still says a
        // change of its files).
        if (stored.data.source == "synthetic" && cfg_.data.source == "synthetic") return "same";
        const json was = recorded_data_identity(meta),
                   now = in_.data_meta.value("identity", json());
        if (!was.is_object() || !now.is_object())
            return "the checkpoint records no identity of its data to compare";
        if (was.value("samples", json()) != now.value("samples", json()) ||
            was.value("ids", json()) != now.value("ids", json()))
            return data_identity_change(was, now);
        // The same ids in other files: a copy that did not keep the files' times, or another
        // dataset named alike (tile_0, tile_1, ...). Only the first can be where the run's data is
        // gone; while it is still there, the new place is another dataset.
        std::error_code ec;
        // Compared key by key (data_identity_change): a checkpoint of an older pfce records fewer.
        const std::string change = data_identity_change(was, now);
        if (!change.empty() && fs::exists(stored.data.root, ec))
            return change + ", while the run's data is still at " + stored.data.root;
        // (Files that differ under the same ids are said by check_same_data.)
        log_info("resuming ", cfg_.run.out, " on ", cfg_.data.root, ": the run's dataset (",
                 change.empty() ? "the same samples"
                                : "the same sample ids, its files changed or touched",
                 "), moved from ", stored.data.root);
        return "same";
    }

    void check_same_data(const json& meta) const {
        const json split = meta.contains("split") ? meta["split"] : json();
        const std::string root = in_.data_meta.value("root", cfg_.data.root);
        if (split.is_object()) {
            auto ids = [&](const char* part) {
                return split.value(part, std::vector<std::string>{});
            };
            const std::vector<std::string> train = ids("train"), val = ids("val"),
                                           test = ids("test");
            if (train != in_.train_ids || val != in_.val_ids || test != in_.test_ids) {
                std::size_t new_train = 0;
                for (const std::string& id : in_.train_ids)
                    new_train += std::find(train.begin(), train.end(), id) == train.end();
                const bool lists = !cfg_.data.train_list.empty() || !cfg_.data.val_list.empty() ||
                                   !cfg_.data.test_list.empty();
                PFCE_THROW(
                    InputError, "cannot resume ", cfg_.run.out, ": the data of ", root,
                    lists ? " or its split lists (data.train_list, val_list, test_list)" : "",
                    " changed since the run began: its split is now ", in_.train_ids.size(), "/",
                    in_.val_ids.size(), "/", in_.test_ids.size(), " (train/val/test; ", new_train,
                    " training samples the run did not train on), the run's ", train.size(), "/",
                    val.size(), "/", test.size(),
                    ". Resuming would train on other images and test on images it trained "
                    "on; restore the data",
                    lists ? " or the lists" : "", ", or start over with --force");
            }
        }
        const json was = recorded_data_identity(meta),
                   now = in_.data_meta.value("identity", json());
        // Masks read with other colours or values are other classes: the run's labels so far
        // would contradict its labels from here on.
        if (was.is_object() && now.is_object()) {
            const std::string recoded = class_encoding_change(was.value("class_encodings", json()),
                                                              now.value("class_encodings", json()));
            if (!recoded.empty())
                PFCE_THROW(InputError, "cannot resume ", cfg_.run.out, ": the masks of ", root,
                           " encode the classes otherwise than when the run began (", recoded,
                           "): the labels it trained on would mean other classes from here on; "
                           "restore the dataset's description (dataset.toml), or start over "
                           "with --force");
        }
        const std::string change = data_identity_change(was, now);
        if (!change.empty())
            log_warn("resuming ", cfg_.run.out, " on ", root, " as it is now; since the run began ",
                     change, " (the record holds file sizes and times, not pixels)");
        // The labels at the same path with other pixels (masks edited, or drawn again from dense
        // masks that changed): said, as a change of the data is.
        const json was_counts = meta.value("data", json::object()).value("label_counts", json());
        const json now_counts = in_.data_meta.value("label_counts", json());
        if (was_counts.is_object() && was_counts != now_counts)
            log_warn("resuming ", cfg_.run.out, " on labels that changed since the run began: ",
                     "labelled pixels per class, training ",
                     was_counts.value("train", json()).dump(), " then, ",
                     now_counts.value("train", json()).dump(), " now; validation ",
                     was_counts.value("val", json()).dump(), " then, ",
                     now_counts.value("val", json()).dump(), " now");
    }

    // last.ckpt at the start of a new run (epoch 0), before metrics.jsonl is begun.
    // model.init_from: the weights (and batch-norm statistics) of a checkpoint of the same U-Net
    // and classes, before the first step; the optimizer and schedule start anew. Checked before
    // OUT is claimed, so a checkpoint that does not fit leaves nothing behind.
    void init_weights() {
        const std::string& from = cfg_.model.init_from;
        if (from.empty()) return;
        Checkpoint ck;
        try {
            ck = read_checkpoint(from);
        } catch (const InputError& e) {
            PFCE_THROW(InputError, "model.init_from (--init-from): ", e.what());
        }
        const json model = ck.meta.value("model", json::object());
        const json classes = ck.meta.value("classes", json());
        const UNetConfig& uc = net_.config();
        const auto get = [&](const char* k) { return model.value(k, -1); };
        if (get("in_channels") != uc.in_channels)
            PFCE_THROW(InputError, "model.init_from ", from, ": its U-Net sees ",
                       get("in_channels"), " input channels, this run's ", uc.in_channels,
                       " (the bands data.bands picks, three without it): give data.bands as "
                       "many bands as it was trained on");
        if (get("depth") != uc.depth || get("base_width") != uc.base_width ||
            get("num_classes") != uc.num_classes)
            PFCE_THROW(InputError, "model.init_from ", from, ": its U-Net is width ",
                       get("base_width"), ", depth ", get("depth"), " for ", get("num_classes"),
                       " classes; this run's is width ", uc.base_width, ", depth ", uc.depth,
                       " for ", uc.num_classes,
                       " classes: give its --width and --depth, on data of its classes");
        if (classes != json(in_.class_names))
            PFCE_THROW(InputError, "model.init_from ", from, ": it was trained on the classes ",
                       classes.dump(), ", this run's data has ", json(in_.class_names).dump(),
                       ": its outputs would mean other classes; give data of its classes (in its "
                       "order)");
        // The same number of bands read otherwise (IR-R-G after R-G-B, another range): every
        // first-layer weight then meets another band than it learnt (a walkthrough's [image]
        // edited between the runs trained on with no word).
        const json was_data = ck.meta.value("config", json::object()).value("data", json::object());
        const json was_bands = was_data.value("bands", json::array()),
                   was_range = was_data.value("value_range", json::array());
        if (was_bands != json(cfg_.data.bands) || was_range != json(cfg_.data.value_range))
            log_warn("model.init_from ", from, ": it was trained on images read with data.bands ",
                     was_bands.dump(), " and data.value_range ", was_range.dump(),
                     ", this run reads them with ", json(cfg_.data.bands).dump(), " and ",
                     json(cfg_.data.value_range).dump(),
                     ": its first layer's weights meet other bands or values than they learnt "
                     "(give the run its reading where it is the same data)");
        check_finite_weights(ck, from);
        load_model_state(ck, backend_, net_, from);
        const TrainingProgress p = training_progress(ck.meta);
        log_info("model: the weights of ", from,
                 p.known ? " (epoch " + std::to_string(p.epoch) + ", step " +
                               std::to_string(p.global_step) + ")"
                         : std::string(),
                 "; a new optimizer and learning-rate schedule, and this run's input "
                 "normalization (its training images' channel means)");
    }

    void save_start() { save(st_, false); }

    // Loads OUT/last.ckpt. False when the run has already done all its epochs (result filled from
    // its metrics).
    bool resume() {
        if (!fs::exists(result_.last_checkpoint)) refuse_nothing_to_resume(cfg_.run.out);
        Checkpoint ck = read_checkpoint(result_.last_checkpoint);
        const Config stored = config_from_json(ck.meta.value("config", json::object()),
                                               result_.last_checkpoint + " (config)");
        const json was_counts = ck.meta.value("data", json::object()).value("label_counts", json());
        const bool same_counts =
            was_counts.is_object() && was_counts == in_.data_meta.value("label_counts", json());
        refuse_changed_settings(stored, cfg_, /*labels_too=*/true,
                                backend_.device() == DeviceKind::cuda, root_moved(stored, ck.meta),
                                same_counts,
                                /*not_tiles=*/!in_.data_meta.contains("tile_labels_read"));
        check_same_data(ck.meta);
        load_model_state(ck, backend_, net_, result_.last_checkpoint);
        for (const StateRef& s : opt_.state())
            ck.load_into(backend_, s.name, *s.value, result_.last_checkpoint);
        st_ = state_from_json(ck.meta.at("state"), sched_);
        if (st_.best_epoch == 0) st_.best_value = worst_value();
        refuse_checkpoint_of_another_run(ck.meta.at("state"));
        // The best so far is a value of the metric the checkpoint followed: one of another (the
        // validation labels gained or lost the class val_iou:CLASS follows, or any dense pixel)
        // is no value of this one to compare with, so the best starts over, said.
        if (const std::string was = ck.meta.at("state").value("best_metric", std::string());
            !was.empty() && was != best_.name && st_.best_epoch > 0) {
            log_warn(result_.best_checkpoint, " followed ", was, " up to epoch ", st_.epoch,
                     " (its best, epoch ", st_.best_epoch, "); from this resume on it follows ",
                     best_.name, ", and the first epoch now run starts its best over");
            st_.best_epoch = 0;
            st_.best_value = worst_value();
        }
        // The plateau's best too: its patience counts epochs that failed to beat it.
        if (const std::string was = ck.meta.at("state").value("plateau_metric", std::string());
            !was.empty() && !plateau_.name.empty() && was != plateau_.name) {
            log_warn("the plateau schedule watched ", was, " up to epoch ", st_.epoch,
                     "; from this resume on it watches ", plateau_.name,
                     ": its best and patience start over (the lr stays ", sched_.lr(0, 0), ")");
            sched_.restart_watch();
        }
        reconcile_best_checkpoint(ck);
        opt_.set_steps_taken(st_.global_step);
        trim_metrics(result_.metrics_path, st_.epoch);
        if (st_.epoch >= cfg_.run.epochs) {
            fill_from_last_metrics();
            return false;
        }
        if (cfg_.run.epochs > stored.run.epochs) say_longer_schedule(stored.run.epochs);
        if (stored.run.deterministic != cfg_.run.deterministic &&
            backend_.device() == DeviceKind::cuda)
            log_warn("run.deterministic is ", cfg_.run.deterministic ? "true" : "false",
                     " from this resume on, ", stored.run.deterministic ? "true" : "false",
                     " before: the run as a whole is not reproducible bit for bit");
        log_info("resuming ", cfg_.run.out, " at epoch ", st_.epoch + 1, ", batch ", st_.batch,
                 " (step ", st_.global_step, ")");
        return true;
    }

    // A longer schedule than the run began with: a cosine schedule (or a warm-up) is laid over the
    // new epoch count, so its lr may rise again from where the run ended, which is neither a
    // continuation nor what a run of that length from the start gives: said with both values.
    void say_longer_schedule(int stored_epochs) const {
        double last_lr = std::numeric_limits<double>::quiet_NaN();
        if (fs::exists(result_.metrics_path)) {
            const MetricLines m = read_metric_lines(result_.metrics_path);
            if (!m.lines.empty() && m.lines.back().value("lr", json()).is_number())
                last_lr = m.lines.back()["lr"].get<double>();
        }
        const double next_lr = sched_.lr(st_.global_step, st_.epoch);
        auto g = [](double v) {
            char b[32];
            std::snprintf(b, sizeof b, "%.3g", v);
            return std::string(b);
        };
        if (std::isfinite(last_lr) && next_lr > last_lr * (1 + 1e-9)) {
            log_warn("resuming with a longer schedule (", stored_epochs, " -> ", cfg_.run.epochs,
                     " epochs): the ", cfg_.schedule.name, " schedule now spans ", cfg_.run.epochs,
                     " epochs, so the lr rises from ", g(last_lr), " (epoch ", st_.epoch, ") to ",
                     g(next_lr), " (epoch ", st_.epoch + 1,
                     "); the results are neither this run's continued nor those of a ",
                     cfg_.run.epochs, "-epoch run from the start");
            return;
        }
        log_info("resuming with a longer schedule: ", stored_epochs, " -> ", cfg_.run.epochs,
                 " epochs");
    }

    // last.ckpt records its best epoch's value of the metric best.ckpt follows, which that epoch's
    // metrics line holds too. Another run's last.ckpt copied into OUT (same settings, so nothing
    // else tells) records another value: resuming it would continue that run under this one's
    // curves and replace this run's best.ckpt.
    // Checked only where the checkpoint says which metric its value is of, and it is the one this
    // run follows (validation labels gained or lost change it; a checkpoint of an older pfce does
    // not say).
    void refuse_checkpoint_of_another_run(const json& state) const {
        if (st_.best_epoch == 0 || !fs::exists(result_.metrics_path)) return;
        const MetricLines m = read_metric_lines(result_.metrics_path);
        // A kill leaves metrics.jsonl at most the checkpoint's last epoch behind. A file that
        // ends before the checkpoint's best epoch, and an epoch earlier still, belongs to a run
        // that never reached it: the checkpoint is another run's, whose resume removed this run's
        // best.ckpt (a probe copied a 20-epoch run's last.ckpt into a 10-epoch one). An emptied
        // file says nothing of whose it is, and is continued as before.
        int last_line = 0;
        for (const json& line : m.lines)
            if (line.is_object() && line.value("epoch", json()).is_number_integer())
                last_line = std::max(last_line, line["epoch"].get<int>());
        if (last_line > 0 && last_line < st_.best_epoch - 1)
            PFCE_THROW(InputError, "cannot resume ", cfg_.run.out, ": its last.ckpt has ",
                       st_.epoch, " epochs done and its best at epoch ", st_.best_epoch,
                       ", but its metrics.jsonl ends at epoch ", last_line,
                       " (a kill leaves it one epoch behind at most): the checkpoint is another "
                       "run's (copied in?), or the metrics lost lines; put back this run's own "
                       "last.ckpt (or its metrics.jsonl), or start over with --force");
        if (state.value("best_metric", std::string()) != best_.name) return;
        for (const json& line : m.lines) {
            if (!line.is_object() || line.value("epoch", json()) != json(st_.best_epoch)) continue;
            const json v = best_of_line(line);
            if (!v.is_number() || v.get<double>() == st_.best_value) return;
            PFCE_THROW(InputError, "cannot resume ", cfg_.run.out, ": its last.ckpt records ",
                       best_.name, " ", json(st_.best_value).dump(), " at its best epoch ",
                       st_.best_epoch, ", but its metrics.jsonl has ", v.dump(),
                       " there: the checkpoint is another run's (copied in?); put back this "
                       "run's own last.ckpt, or start over with --force");
        }
    }

    // save() writes last.ckpt, then best.ckpt: a kill or a failed write between the two leaves a
    // best.ckpt of an earlier epoch (or none) while last.ckpt records the newer best. When
    // last.ckpt holds the end of that best epoch it is the best checkpoint, and is copied;
    // otherwise the best epoch's weights are gone, and best.ckpt is chosen anew from here on
    // rather than naming an epoch whose weights it does not hold.
    void reconcile_best_checkpoint(Checkpoint& last) {
        if (st_.best_epoch == 0) return;
        const std::string& path = result_.best_checkpoint;
        std::string found = "no " + path;
        bool unreadable = false;
        if (fs::exists(path)) {
            json s;
            try {
                s = read_checkpoint(path).meta.at("state");
                s.at("epoch").get<int>();
                s.at("batch").get<std::int64_t>();
            } catch (const std::exception& e) {
                found = path + " is unreadable (" + e.what() + ")";
                unreadable = true;
            }
            if (!unreadable) {
                const int epoch = s["epoch"].get<int>();
                // The best epoch's checkpoint records itself as the best so far: another run's
                // best.ckpt of the same epoch number (copied in) records its own run's value.
                const json v = s.value("best_value", json());
                if (epoch == st_.best_epoch && s["batch"].get<std::int64_t>() == 0 &&
                    s.value("best_epoch", json()) == json(st_.best_epoch) && v.is_number() &&
                    v.get<double>() != st_.best_value)
                    PFCE_THROW(InputError, "cannot resume ", cfg_.run.out, ": its ", path,
                               " holds epoch ", epoch, " with ", best_.name, " ", v.dump(),
                               ", but this run's best epoch ", st_.best_epoch, " had ",
                               json(st_.best_value).dump(),
                               " (its last.ckpt): it is another run's best checkpoint (copied "
                               "in?); put back this run's own, or move it away");
                if (epoch == st_.best_epoch && s["batch"].get<std::int64_t>() == 0) return;
                found = path + " holds epoch " + std::to_string(epoch);
            }
        }
        if (st_.epoch == st_.best_epoch && st_.batch == 0) {
            write_checkpoint(path, last);
            log_info(found, " but the best epoch is ", st_.best_epoch,
                     " (the run stopped while saving it): copied it from ",
                     result_.last_checkpoint);
            return;
        }
        // A best.ckpt of another epoch would be taken for the best one (eval, predict): it goes.
        // One that does not read is refused by them, and is left as it is (it may be mended).
        std::error_code ec;
        const bool removed = !unreadable && fs::remove(path, ec);
        const std::string what = found + " but the best epoch was " +
                                 std::to_string(st_.best_epoch) + ", whose weights are lost" +
                                 (removed ? " (removed " + path + ")" : std::string());
        if (done())
            log_warn(what, ": ", result_.last_checkpoint, " (epoch ", st_.epoch,
                     ") is the run's checkpoint");
        else
            log_warn(what, ": ", path, " is chosen again from epoch ", st_.epoch + 1, " on");
        st_.best_epoch = 0;
        st_.best_value = worst_value();
        st_.best_lost = true;
        // Recorded at once, so a later --resume neither says it again nor takes the run for one
        // whose epochs all had a non-finite metric.
        last.meta["state"] = state_to_json(st_, sched_);
        write_checkpoint(result_.last_checkpoint, last);
    }

    // SGD moves the weights by lr times the gradient, which clipping bounds by optimizer.clip: a
    // step's gradient part moves them by at most lr * clip (momentum adds up to 1 / (1 - momentum)
    // of that; weight decay, added after clipping, only shrinks them). Where the whole run's bound
    // is a hundredth of the weights' own norm the model cannot learn from the data, and a run at
    // --clip 1e-6 trained as lr 1e-10 would, without a word. (Adam's step does not scale with the
    // gradient, so its clip bounds nothing of the kind.)
    void warn_if_sgd_cannot_move_the_weights() const {
        const OptimizerSettings& o = cfg_.optimizer;
        if (o.name != "sgd" || o.clip <= 0) return;
        const double steps = static_cast<double>(cfg_.run.epochs) * static_cast<double>(bpe_);
        const double reach = o.lr * o.clip * steps / (1 - o.momentum);
        double sum = 0;
        for (const Parameter* p : params_) {
            const Tensor h = host_copy(backend_, p->value);
            if (h.dtype() != DType::f32) return;  // master weights are f32; anything else: unsure
            const float* v = h.data<float>();
            for (std::int64_t i = 0; i < h.numel(); ++i) sum += double{v[i]} * v[i];
        }
        const double norm = std::sqrt(sum);
        if (!(reach < 0.01 * norm)) return;
        log_warn("optimizer.clip ", o.clip, " with sgd at lr ", o.lr, " and momentum ", o.momentum,
                 ": the gradient moves the weights by at most lr * clip / (1 - momentum) = ",
                 o.lr * o.clip / (1 - o.momentum), ", the run's ", steps, " steps by at most ",
                 reach, ", ", 100 * reach / norm, "% of the weights' norm (", norm,
                 "): the model can hardly learn; raise optimizer.clip (usual: 0.5..10) or "
                 "optimizer.lr");
    }

    void log_start() const {
        const OptimizerSettings& o = cfg_.optimizer;
        const std::size_t draws = crops_per_epoch(cfg_, in_.train.size());
        log_info(
            "training U-Net (depth ", cfg_.model.depth, ", width ", cfg_.model.width, ", ",
            net_.parameter_count(), " parameters) on ", backend_.name(), ": ", in_.train.size(),
            " train / ", in_.val.size(), " val samples, ", bpe_,
            bpe_ == 1 ? " batch of " : " batches of ",
            std::min<std::size_t>(static_cast<std::size_t>(cfg_.run.batch_size), draws),
            " per epoch",
            cfg_.data.crop_size > 0
                ? ", crops of " + std::to_string(cfg_.data.crop_size) +
                      (cfg_.data.crops_per_image > 1
                           ? detail::concat(" (", cfg_.data.crops_per_image, " an image)")
                           : std::string())
                : std::string(),
            ", ", o.name, " lr ", o.lr, ", schedule ", cfg_.schedule.name,
            o.clip > 0 ? detail::concat(", clip ", o.clip) : std::string());  // 1, not 1.000000
        warn_if_sgd_cannot_move_the_weights();
        // Full batches only (train_loader_options): the remainder sits out each epoch, drawn
        // anew by each epoch's shuffle. Said, since a small split loses a large share.
        const std::size_t batch = static_cast<std::size_t>(cfg_.run.batch_size);
        const char* what = draws > in_.train.size() ? " training crops " : " training samples ";
        if (batch <= draws && draws % batch != 0)
            log_info("full batches only: ", draws % batch, " of the ", draws, what,
                     draws % batch == 1 ? "sits" : "sit",
                     " out each epoch (others each time, as each epoch shuffles); a batch size "
                     "that divides ",
                     draws, " uses them all");
        if (batch > draws)
            log_warn("run.batch_size ", cfg_.run.batch_size, " is more than the ", draws, what,
                     "an epoch: every epoch is one batch of all ", draws,
                     " (one optimizer step per epoch)",
                     cfg_.data.crop_size > 0 && draws == in_.train.size()
                         ? "; data.crops_per_image draws more crops from each image"
                         : "");
        if (cfg_.loss.alpha_auto) {
            std::string w;
            for (std::size_t k = 0; k < loss_params_.alpha.size(); ++k) {
                char buf[32];
                std::snprintf(buf, sizeof buf, "%.3f", loss_params_.alpha[k]);
                w += (k ? ", " : "") + in_.class_names[k] + " " + buf;
            }
            log_info("loss.alpha = auto (inverse square-root label frequency): ", w);
        }
        if (crf_on_)
            log_info("CRF term: weight ", cfg_.loss.crf_weight,
                     cfg_.loss.crf_warmup > 0 ? detail::concat(" (ramped up over the first ",
                                                               cfg_.loss.crf_warmup, " epochs)")
                                              : std::string(),
                     ", radius ", crf_params_.radius, " cells of ", crf_params_.downsample,
                     " px, sigma_xy ", crf_params_.sigma_xy, " px, sigma_rgb ",
                     crf_params_.sigma_rgb);
        if (in_.val.empty())
            log_warn(
                "no validation samples: best.ckpt and the plateau schedule follow the "
                "training loss");
        else if (!val_on_)
            log_warn("the ", in_.val.size(), " validation sample(s)",
                     in_.val_ids.empty()
                         ? ""
                         : " (" + in_.val_ids.front() + (in_.val_ids.size() > 1 ? ", ...)" : ")"),
                     " have no labelled pixel: their loss would be 0 and their mIoU undefined, so "
                     "best.ckpt and the plateau schedule follow the training loss");
        else
            say_validation_fallbacks();
    }

    // Says, once a run for each of them, that the class `f` follows has no IoU this epoch.
    void say_class_undefined(const FollowedMetric& f, bool& told, const char* who) const {
        if (f.cls < 0 || std::exchange(told, true)) return;
        log_warn("epoch ", st_.epoch + 1, ": ", in_.class_names[static_cast<std::size_t>(f.cls)],
                 " has no validation IoU this epoch (no pixel of it scored): ", who, " ", f.name,
                 " only in epochs where it has one");
    }

    // Says what best.ckpt and a plateau schedule follow instead of the metric asked of them
    // (followed_metric), where validation cannot score it.
    void say_validation_fallbacks() const {
        const std::string& best = cfg_.run.best_metric;
        const std::string& plateau = cfg_.schedule.plateau_metric;
        const auto who = [](bool b, bool p) {
            return b && p ? "best.ckpt and the plateau schedule follow"
                   : b    ? "best.ckpt follows"
                          : "the plateau schedule follows";
        };
        const auto instead_of = [&](bool b, bool p) {
            return b && p && best != plateau ? best + " and " + plateau : b ? best : plateau;
        };
        if (const bool b = best_.no_dense_to_score, p = plateau_.no_dense_to_score; b || p)
            log_warn(
                "no validation image's dense mask labels a pixel (images without masks, "
                "trained on their points), so their mIoU is undefined: ",
                who(b, p), " the validation loss on their labels instead of ", instead_of(b, p));
        const bool b = best_.class_not_in_val, p = plateau_.class_not_in_val;
        // One line a class: both may follow one, or each its own.
        for (const auto& [asked, said_b, said_p] :
             {std::tuple{best, b, p && plateau == best},
              std::tuple{plateau, false, p && plateau != best}}) {
            if (!said_b && !said_p) continue;
            log_warn("no validation mask labels a pixel of ",
                     asked.substr(std::string_view(kBestIouPrefix).size()), " (", in_.val.size(),
                     " validation image(s)",
                     in_.val_ids.empty()
                         ? std::string()
                         : ", " + in_.val_ids.front() + (in_.val_ids.size() > 1 ? ", ..." : ""),
                     "), so its IoU is 0 or undefined whatever the model learns: ",
                     who(said_b, said_p), " the validation loss instead of ", asked,
                     " (validate on images that hold it: data.val_frac, or a val split list "
                     "naming them)");
        }
    }

    // Trains the rest of epoch st_.epoch. False when stopped (Ctrl-C, SIGTERM, stop_after_step),
    // after saving last.ckpt. Pipelined by one batch: right after step k's compute is enqueued,
    // batch k + 1 is fetched and its upload enqueued (send_next_batch), so on CUDA the transfer
    // overlaps step k; step k + 1 then takes it (prepare_step) before its compute (compute_step).
    // The batches, their order and everything computed are those of one step at a time.
    bool train_epoch() {
        loader_.start_epoch(st_.epoch);
        for (std::int64_t b = 0; b < st_.batch; ++b)  // resume mid-epoch: same order and batches
            if (!loader_.next(batch_))
                PFCE_THROW(InputError, "resume position ", st_.batch, " is past the epoch's end");
        backend_.fill(loss_sum_, st_.epoch_loss_sum);
        backend_.fill(crf_sum_, st_.epoch_crf_sum);
        char label[64];
        std::snprintf(label, sizeof label, "epoch %d/%d", st_.epoch + 1, cfg_.run.epochs);
        ProgressBar bar(label, bpe_, opts_.tty);
        const auto t0 = std::chrono::steady_clock::now();
        images_before_ = st_.epoch_images;
        seconds_before_ = st_.epoch_seconds;
        epoch_start_ = t0;
        // The rate of the step about to run; resumed after steps of this epoch, that of the last
        // of them, which the epoch's line records if no step is left (stopped in its validation).
        lr_ = sched_.lr(st_.batch > 0 ? st_.global_step - 1 : st_.global_step, st_.epoch);
        crf_params_.weight = static_cast<float>(crf_weight_at(cfg_.loss, st_.epoch));
        // A stop asked during the previous epoch's validation or save: before this epoch's first
        // step (it ran one more).
        if (stop_requested()) return stop_here(bar);
        bool next = send_next_batch();
        while (next) {
            step();
            // Before anything that waits for the device (the loss read below), so that the next
            // batch's upload runs while this step computes.
            next = send_next_batch();
            const bool stop = stop_requested() ||
                              (opts_.stop_after_step && opts_.stop_after_step(st_.global_step));
            if (st_.batch % cfg_.run.log_every == 0 || st_.batch == bpe_ || stop) {
                st_.epoch_loss_sum = read_scalar(backend_, loss_sum_);
                const double mean = st_.epoch_loss_sum / static_cast<double>(st_.batch);
                if (!std::isfinite(mean)) diverged("the training loss", mean);
                if (crf_on_) {
                    st_.epoch_crf_sum = read_scalar(backend_, crf_sum_);
                    if (!std::isfinite(st_.epoch_crf_sum))
                        diverged("the training loss's CRF term", st_.epoch_crf_sum);
                }
                bar.update(st_.batch, mean,
                           static_cast<std::int64_t>(st_.epoch_images - images_before_));
            }
            if (stop) return stop_here(bar);
        }
        // Ctrl-C during validation stops it (minutes of windows on large tiles): the epoch's
        // training is saved, and --resume validates it again.
        try {
            finish_epoch(bar);
        } catch (const StopRequested&) {
            return stop_here(bar);
        }
        return true;
    }

    // Saves last.ckpt where the run stands (within st_.epoch, after st_.batch steps) and says how
    // to go on. False, for train_epoch's caller.
    bool stop_here(ProgressBar& bar) {
        st_.epoch_seconds = epoch_seconds();
        save(st_, false);
        bar.finish("interrupted");
        log_info("interrupted: saved ", result_.last_checkpoint, " at epoch ", st_.epoch + 1,
                 st_.batch >= bpe_ ? ", its training done (its validation runs on --resume)"
                                   : ", batch " + std::to_string(st_.batch),
                 "; continue with --resume");
        result_.interrupted = true;
        result_.steps = st_.global_step;
        result_.epochs_completed = st_.epoch;
        record_step_graph();
        return false;
    }

    TrainResult finish() {
        if (st_.best_epoch == 0 && st_.epoch > 0 && !st_.best_lost)
            log_warn("no epoch had a finite ", best_.name, ": no ", result_.best_checkpoint,
                     " was written (", result_.last_checkpoint, " holds the last epoch)");
        result_.epochs_completed = st_.epoch;
        result_.steps = st_.global_step;
        result_.best_epoch = st_.best_epoch;
        result_.best_value = st_.best_value;
        record_step_graph();
        return std::move(result_);
    }

    bool done() const { return st_.epoch >= cfg_.run.epochs; }
    TrainResult& result() { return result_; }

  private:
    void record_step_graph() {
        result_.step_graph = step_graph_.counts();
        result_.step_graph_failure = step_graph_.failure();
    }

    // The value of best_.name in a metrics.jsonl line (val_iou:CLASS: its class's entry of
    // val_iou); null where it holds none.
    json best_of_line(const json& line) const {
        if (best_.cls < 0) return line.value(best_.name, json());
        const json iou = line.value("val_iou", json());
        const auto c = static_cast<std::size_t>(best_.cls);
        return iou.is_array() && iou.size() > c ? iou[c] : json();
    }

    double worst_value() const {
        return best_.max ? -std::numeric_limits<double>::infinity()
                         : std::numeric_limits<double>::infinity();
    }

    std::string join_names() const {
        std::string s;
        for (const auto& n : in_.class_names) s += (s.empty() ? "" : ", ") + n;
        return s;
    }

    double epoch_seconds() const {
        return seconds_before_ +
               std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start_)
                   .count();
    }

    // The epoch's next batch into batch_ (its buffers go back to the loader at the following
    // call) and its upload into the landing tensors enqueued; false when the epoch has no more
    // (st_.batch, the steps done, is its index). The upload waits only for the previous batch's
    // take (prepare_step), not for the compute enqueued since, so it overlaps that.
    bool send_next_batch() {
        if (st_.batch >= bpe_ || !loader_.next(batch_)) return false;
        sent_unlabelled_ = !batch_.any_train_label;  // the loader's worker scanned them
        ensure_tensor(backend_, x_landing_, batch_.images.shape(), DType::f32);
        ensure_tensor(backend_, labels_landing_, batch_.train_labels.shape(), DType::u8);
        backend_.upload_ahead(x_landing_, batch_.images);
        backend_.upload_ahead(labels_landing_, batch_.train_labels);
        if (crf_on_) {
            ensure_tensor(backend_, rgb_landing_, batch_.rgb.shape(), DType::u8);
            backend_.upload_ahead(rgb_landing_, batch_.rgb);
        }
        return true;
    }

    // One optimizer step on the batch send_next_batch sent: its host part (prepare_step), then
    // its device work (compute_step) run op by op or as a replayed graph (run.step_graph), then
    // the step's bookkeeping.
    void step() {
        prepare_step();
        // The CRF weight is a parameter of its op: a ramp records the step again each epoch.
        step_graph_.run(
            {x_.shape(), labels_.shape(), rgb_.shape()}, [this] { compute_step(); },
            std::bit_cast<std::uint32_t>(crf_params_.weight));
        ++st_.batch;
        ++st_.global_step;
        st_.epoch_images += static_cast<double>(x_.dim(0));
        if (log_level() <= LogLevel::debug) log_step();
    }

    // -v: each step's loss, learning rate and gradient norm, read back at once. The read waits
    // for the device every step (on a GPU, slower than training without -v), so the time said
    // is the step's own.
    void log_step() {
        const auto now = std::chrono::steady_clock::now();
        const double ms =
            last_step_logged_
                ? std::chrono::duration<double, std::milli>(now - *last_step_logged_).count()
                : -1;
        std::string said = "step " + std::to_string(st_.global_step) + " (epoch " +
                           std::to_string(st_.epoch + 1) + ", batch " + std::to_string(st_.batch) +
                           "/" + std::to_string(bpe_) + "): loss " +
                           format_fixed(read_scalar(backend_, d_loss_), 5);
        if (crf_on_) said += ", CRF term " + format_fixed(read_scalar(backend_, d_crf_), 5);
        said += ", lr " + detail::concat(lr_);
        if (cfg_.optimizer.clip > 0)
            said += ", gradient norm " + format_fixed(read_scalar(backend_, norm_), 4);
        if (ms >= 0) said += ", " + format_fixed(ms, 1) + " ms since the last";
        log_debug(said);
        last_step_logged_ = std::chrono::steady_clock::now();
    }

    // Everything that changes from step to step, written to device tensors the step's device work
    // reads: the batch, taken (on the compute stream, after its upload) into the fixed buffers x_,
    // labels_ and rgb_, and the learning rate and bias corrections (Optimizer::begin_step).
    void prepare_step() {
        ensure_tensor(backend_, x_, x_landing_.shape(), DType::f32);
        ensure_tensor(backend_, labels_, labels_landing_.shape(), DType::u8);
        backend_.take_upload(x_, x_landing_);
        backend_.take_upload(labels_, labels_landing_);
        if (crf_on_) {
            ensure_tensor(backend_, rgb_, rgb_landing_.shape(), DType::u8);
            backend_.take_upload(rgb_, rgb_landing_);
        }
        lr_ = sched_.lr(st_.global_step, st_.epoch);
        opt_.begin_step(static_cast<float>(lr_));
        st_.epoch_unlabelled_batches += sent_unlabelled_ ? 1 : 0;
    }

    // The step's device work on x_, labels_ (and rgb_): forward, loss, backward, clipping, the
    // optimizer's update. Only ops on buffers that stay from step to step and nothing else: no
    // host state changes here, since a replayed graph runs these ops without this code.
    void compute_step() {
        const Tensor& logits = net_.forward(x_, true);
        ensure_tensor(backend_, dlogits_, logits.shape(), DType::f32);
        backend_.focal_loss(logits, labels_, loss_params_, d_loss_, dlogits_);
        if (crf_on_) {  // the CRF term's gradient on top of the focal loss's
            ensure_tensor(backend_, dcrf_, logits.shape(), DType::f32);
            backend_.crf_loss(logits, rgb_, crf_params_, d_crf_, dcrf_);
            backend_.add_inplace(dlogits_, dcrf_);
            backend_.add_inplace(crf_sum_, d_crf_);
        }
        net_.backward(dlogits_);
        if (cfg_.optimizer.clip > 0) {
            backend_.global_grad_norm(grads_, norm_);
            backend_.clip_scale(norm_, static_cast<float>(cfg_.optimizer.clip), scale_);
        }
        opt_.apply(scale_);
        backend_.add_inplace(loss_sum_, d_loss_);
    }

    // Many batches without a labelled pixel (crops smaller than the gaps between sparse points)
    // train nothing and pull the mean training loss towards 0: said once, with what helps.
    void warn_of_unlabelled_batches() {
        if (warned_unlabelled_ || bpe_ == 0) return;
        const double share = static_cast<double>(st_.epoch_unlabelled_batches) / bpe_;
        if (share < 0.1) return;
        warned_unlabelled_ = true;
        log_warn(st_.epoch_unlabelled_batches, " of ", bpe_, " training batches of epoch ",
                 st_.epoch + 1, " (", format_fixed(100 * share, 0),
                 "%) hold no labelled pixel: they train ",
                 crf_on_ ? "only through the CRF term" : "nothing", ", and count ",
                 crf_on_ ? "only their CRF term" : "0",
                 " in the training loss (its mean over all batches). Larger crops (data.crop_size ",
                 cfg_.data.crop_size,
                 "), more points (labels.points) or a larger batch "
                 "(run.batch_size ",
                 cfg_.run.batch_size, ") put labels in more of them");
    }

    // Validation, the metrics line, best/last checkpoints.
    void finish_epoch(ProgressBar& bar) {
        st_.epoch_loss_sum = read_scalar(backend_, loss_sum_);
        const double train_loss = st_.epoch_loss_sum / static_cast<double>(bpe_);
        if (!std::isfinite(train_loss)) diverged("the training loss", train_loss);
        warn_if_blowing_up("training", train_loss, lowest_train_loss_);
        double train_crf = std::numeric_limits<double>::quiet_NaN();
        if (crf_on_) {
            st_.epoch_crf_sum = read_scalar(backend_, crf_sum_);
            train_crf = st_.epoch_crf_sum / static_cast<double>(bpe_);
            if (!std::isfinite(train_crf)) diverged("the training loss's CRF term", train_crf);
        }
        const double train_seconds = epoch_seconds();
        const double images_per_s = train_seconds > 0 ? st_.epoch_images / train_seconds : 0.0;

        // Validation of large tiles takes minutes on a CPU: said as it goes (past 2 s), and timed
        // apart from the training it follows.
        const Stopwatch val_clock;
        EvalResult val = [&] {
            LazyProgress progress("validation", 2.0, opts_.tty);
            EvalOptions eo = eval_options(cfg_);
            eo.progress = [&](std::int64_t done, std::int64_t total, const char* unit) {
                progress.update(done, total, unit);
                if (opts_.during_validation) opts_.during_validation();
                if (stop_requested()) throw StopRequested();  // train_epoch saves and stops
            };
            return evaluate(backend_, net_, in_.val, in_.stats, loss_params_, in_.clutter_class, eo,
                            eval_);
        }();
        const double val_seconds = val_clock.seconds();
        if (val_on_ && !std::isfinite(val.loss)) diverged("the validation loss", val.loss);
        if (val_on_) warn_if_blowing_up("validation", val.loss, lowest_val_loss_);
        const double monitored_loss = val_on_ ? val.loss : train_loss;
        const double candidate = best_.of(val, monitored_loss);
        if (!std::isfinite(candidate))
            say_class_undefined(best_, told_best_class_undefined_, "best.ckpt follows");
        const bool improved = std::isfinite(candidate) &&
                              (best_.max ? candidate > st_.best_value : candidate < st_.best_value);
        if (improved) {
            st_.best_value = candidate;
            st_.best_epoch = st_.epoch + 1;
        }
        // An epoch in which the watched class has no IoU neither improves nor counts against:
        // there is nothing to compare.
        if (const double watched = plateau_.of(val, monitored_loss); std::isfinite(watched))
            sched_.end_epoch(watched);
        else
            say_class_undefined(plateau_, told_plateau_class_undefined_,
                                "the plateau schedule watches");

        json line = {{"epoch", st_.epoch + 1},
                     {"lr", lr_},
                     {"train_loss", json_number(train_loss)},
                     // No labelled pixel: the loss is 0 by definition, not a measurement.
                     {"val_loss", json_number(val_on_ ? val.loss : std::nan(""))},
                     // Nor is a dense loss of no dense pixel (images without masks, no points).
                     {"val_loss_dense",
                      json_number(val.loss_dense_norm > 0 ? val.loss_dense : std::nan(""))},
                     {"val_miou", json_number(val.metrics.miou)},
                     {"val_miou_no_clutter", json_number(val.metrics.miou_no_clutter)},
                     {"val_oa", json_number(val.metrics.oa)},
                     {"val_mean_f1", json_number(val.metrics.mean_f1)},
                     {"val_iou", to_json(val.metrics)["iou"]},
                     {"time_s", train_seconds},
                     {"val_time_s", val_seconds},
                     {"images_per_s", images_per_s},
                     {"steps", st_.global_step},
                     {"best", improved}};
        // The CRF term (weighted, as added to the loss), beside the focal loss in train_loss.
        if (crf_on_) line["train_crf_loss"] = json_number(train_crf);
        line["train_unlabelled_batches"] = st_.epoch_unlabelled_batches;
        warn_of_unlabelled_batches();
        if (crf_on_ && cfg_.loss.crf_warmup > 0)
            line["crf_weight"] = crf_weight_at(cfg_.loss, st_.epoch);
        writing_state([&] { append_line(result_.metrics_path, line.dump()); });
        metrics_changed();
        char crf_part[48] = "";
        if (crf_on_) std::snprintf(crf_part, sizeof crf_part, " + crf %.4f", train_crf);
        char val_part[96] = "no validation split (best and plateau follow the training loss)";
        if (!in_.val.empty() && !val_on_)
            std::snprintf(val_part, sizeof val_part,
                          "validation has no labelled pixel (best and plateau follow the training "
                          "loss)");
        else if (val_on_ && std::isnan(val.metrics.oa))  // images without dense masks
            std::snprintf(val_part, sizeof val_part,
                          "val loss %.4f (no dense mask labels a pixel: no mIoU)", val.loss);
        else if (val_on_ && in_.data_meta.value("val_scored_on", "") == "labels")
            // Scored on the points (images without masks): no dense loss beside their own.
            std::snprintf(val_part, sizeof val_part, "val loss %.4f mIoU %.4f OA %.4f (points)",
                          val.loss, val.metrics.miou, val.metrics.oa);
        else if (val_on_)
            std::snprintf(val_part, sizeof val_part, "val loss %.4f (dense %.4f) mIoU %.4f OA %.4f",
                          val.loss, val.loss_dense, val.metrics.miou, val.metrics.oa);
        char unlabelled_part[80] = "";
        if (st_.epoch_unlabelled_batches > 0)
            std::snprintf(
                unlabelled_part, sizeof unlabelled_part, " (%lld of %lld batches unlabelled, at 0)",
                static_cast<long long>(st_.epoch_unlabelled_batches), static_cast<long long>(bpe_));
        char summary[400];
        std::snprintf(summary, sizeof summary, "train loss %.4f%s%s | %s | %.1f img/s, %s%s%s",
                      train_loss, unlabelled_part, crf_part, val_part, images_per_s,
                      format_duration(train_seconds).c_str(),
                      val_seconds >= 1 ? (" + val " + format_duration(val_seconds)).c_str() : "",
                      improved ? " | best" : "");
        bar.finish(summary);

        // The checkpoint describes the start of the next epoch.
        st_.batch = 0;
        st_.epoch_loss_sum = 0;
        st_.epoch_crf_sum = 0;
        st_.epoch_unlabelled_batches = 0;
        st_.epoch_images = 0;
        st_.epoch_seconds = 0;
        ++st_.epoch;
        save(st_, improved);
        result_.train_loss = train_loss;
        result_.val = std::move(val);
    }

    void save(const LoopState& state, bool also_best) {
        Checkpoint ck;
        ck.meta = meta_;
        ck.meta["state"] = state_to_json(state, sched_);
        // Which metric best_value is of (it follows the training loss without validation labels).
        ck.meta["state"]["best_metric"] = best_.name;
        if (!plateau_.name.empty()) ck.meta["state"]["plateau_metric"] = plateau_.name;
        ck.meta["backend"] = backend_.name();
        ck.meta["kernels"] = backend_.kernel_choices();  // e.g. cuDNN's algorithm per shape
        ck.meta["kernel_variants"] = kernel_choices_text(kernels_);  // every family, defaults too
        save_model_state(ck, backend_, net_);
        for (const StateRef& s : opt_.state()) ck.add(backend_, s.name, *s.value);
        // last.ckpt first: a full disk or a kill between the two leaves a run that --resume
        // continues, never a best.ckpt without the last.ckpt to go on from.
        writing_state([&] {
            write_checkpoint(result_.last_checkpoint, ck);
            if (also_best) write_checkpoint(result_.best_checkpoint, ck);
        });
    }

    // Runs a write of the run's state (checkpoints, metrics.jsonl). A failure (a full disk, a
    // file system gone read-only) says, with what failed and where, that last.ckpt holds the run so
    // far (each written through a temporary: a failed write keeps the one before) and what
    // continues it (a probe's full disk said only what failed). Writes only: a device's failure or
    // its memory running out asks for other settings, which --resume refuses.
    template <typename Write>
    void writing_state(Write&& write) {
        try {
            write();
        } catch (const SystemError& e) {
            std::error_code ec;
            if (!fs::is_regular_file(result_.last_checkpoint, ec)) throw;
            const std::string& where = e.where();
            const std::size_t colon = where.rfind(':');
            throw SystemError(
                std::string(e.what()) + "; the run so far is in " + result_.last_checkpoint +
                    ": once that is mended, " + opts_.continue_with + " continues it",
                where.substr(0, colon).c_str(),
                colon == std::string::npos ? 0 : std::atoi(where.c_str() + colon + 1));
        }
    }

    // A finite loss can still say that the run trains on nonsense: far above what an untrained
    // network scores (about ln C per labelled pixel, times the largest class weight), or above that
    // and orders of magnitude above its lowest epoch so far (in this process). The training loss
    // stays moderate while batch norm normalises each batch, so the validation loss (batch norm's
    // running statistics, as eval and predict run) is watched too: with Adam at lr 1 it reaches
    // 1e9 in one epoch. Said once a run, naming the lr to lower; a non-finite training or
    // validation loss stops the run instead (diverged).
    void warn_if_blowing_up(const char* name, double loss, double& lowest_so_far) {
        const double lowest = lowest_so_far;
        lowest_so_far = std::min(lowest_so_far, loss);
        if (warned_blow_up_) return;
        double alpha_max = 1;
        for (const float a : loss_params_.alpha) alpha_max = std::max(alpha_max, double{a});
        const double untrained =
            std::log(std::max<double>(2, static_cast<double>(in_.class_names.size()))) * alpha_max;
        char what[160] = "";
        if (loss > kBlowUpFactor * untrained)
            std::snprintf(what, sizeof what,
                          "is over %g times what an untrained network scores (about %.3g)",
                          kBlowUpFactor, untrained);
        else if (loss > untrained && loss > kBlowUpFactor * lowest)
            std::snprintf(what, sizeof what, "grew over %g-fold from its lowest, %.3g",
                          kBlowUpFactor, lowest);
        else
            return;
        warned_blow_up_ = true;
        log_warn("epoch ", st_.epoch + 1, ": the ", name, " loss ", loss, " ", what,
                 ": the steps throw the weights around; lower optimizer.lr (--lr, now ",
                 cfg_.optimizer.lr, ")");
    }

    [[noreturn]] void diverged(const char* what, double value) {
        std::ostringstream where;
        where << "training diverged: " << what << " is " << value << " at epoch " << st_.epoch + 1
              << ", batch " << st_.batch << " (step " << st_.global_step << "); stopping. ";
        if (st_.epoch > 0 && fs::exists(result_.last_checkpoint))
            where << "The last good checkpoint is " << result_.last_checkpoint << " (" << st_.epoch
                  << " epochs completed; eval and predict take it). To train on, start over "
                  << "with a lower lr (--lr) or clipping (--clip) and --force: a resumed run "
                  << "keeps its settings.";
        else
            where << "No epoch was completed; run again with a lower lr (--lr) or clipping "
                  << "(--clip).";
        PFCE_THROW(NumericError, where.str());
    }

    // A finished run resumed: report its last epoch instead of training (or zeros).
    void fill_from_last_metrics() {
        result_.already_finished = true;
        const std::vector<json> lines = read_metric_lines(result_.metrics_path).lines;
        // The line of the epoch the checkpoint ends with: a metrics.jsonl cut short or removed
        // once gave an older epoch's numbers, or zeros, as the run's last.
        const json* last = nullptr;
        for (const json& j : lines)
            if (j.value("epoch", 0) == st_.epoch) last = &j;
        if (!last) {
            result_.last_epoch_metrics_lost = true;
            log_warn(result_.metrics_path,
                     lines.empty()
                         ? std::string(" is missing or empty")
                         : " ends at epoch " + std::to_string(lines.back().value("epoch", 0)),
                     ": the numbers of epoch ", st_.epoch,
                     ", the run's last, are lost (its "
                     "checkpoints are whole: pfce eval measures the model again)");
            return;
        }
        const json& j = *last;
        result_.train_loss = number_from_json(j.value("train_loss", json()));
        result_.val.loss = number_from_json(j.value("val_loss", json()));
        result_.val.loss_dense = number_from_json(j.value("val_loss_dense", json()));
        result_.val.metrics.miou = number_from_json(j.value("val_miou", json()));
        result_.val.metrics.oa = number_from_json(j.value("val_oa", json()));
    }

    Backend& backend_;
    const Config& cfg_;
    const TrainInputs& in_;
    const TrainOptions& opts_;
    DirLock out_lock_;  // held from claim_output_dir on: one writer of OUT at a time
    // run.kernels as selected (configure_backend, before the model is built).
    std::vector<KernelChoice> kernels_;
    UNet net_;
    std::vector<Parameter*> params_;
    Optimizer opt_;
    FocalLossParams loss_params_;
    bool crf_on_;
    CrfLossParams crf_params_;
    bool val_on_;  // validation split with a labelled pixel: it picks best.ckpt, drives plateau
    bool val_miou_on_;                // ... and a dense mask labelling one: its mIoU is defined
    bool sent_unlabelled_ = false;    // the batch send_next_batch sent has no labelled pixel
    bool warned_unlabelled_ = false;  // warn_of_unlabelled_batches said it (once a run)
    BatchLoader loader_;
    std::int64_t bpe_;
    FollowedMetric plateau_;  // what a plateau schedule watches (plateau_metric after fallbacks)
    LrSchedule sched_;
    StepGraph step_graph_;  // run.step_graph: compute_step recorded once and replayed
    FollowedMetric best_;   // what best.ckpt follows (run.best_metric after its fallbacks)
    bool told_best_class_undefined_ = false;
    bool told_plateau_class_undefined_ = false;
    json meta_;
    LoopState st_;
    TrainResult result_;
    Tensor x_, labels_, dlogits_, d_loss_, loss_sum_, norm_, scale_;
    std::optional<std::chrono::steady_clock::time_point> last_step_logged_;  // -v (log_step)
    Tensor rgb_, dcrf_, d_crf_, crf_sum_;  // the CRF term: colours, gradient, loss, epoch sum
    // Where the next batch's upload lands while a step computes (Backend::upload_ahead), made once.
    Tensor x_landing_, labels_landing_, rgb_landing_;
    // The batch in hand (the one uploading), kept across epochs so its staging buffers go back to
    // the loader at the next epoch's first next() rather than being freed at an epoch's end.
    Batch batch_;
    EvalBuffers eval_;  // validation's buffers, kept across epochs
    std::vector<const Tensor*> grads_;
    double lr_ = 0, images_before_ = 0, seconds_before_ = 0;
    // warn_if_blowing_up: the lowest epoch's losses in this process, and whether it spoke.
    static constexpr double kBlowUpFactor = 100;
    double lowest_train_loss_ = std::numeric_limits<double>::infinity();
    double lowest_val_loss_ = std::numeric_limits<double>::infinity();
    bool warned_blow_up_ = false;
    std::chrono::steady_clock::time_point epoch_start_;
};

// Whether `dir` is a run's label cache (training_labels_dir: OUT/labels/sparse, .../linked).
bool is_label_cache(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return false;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        if (name != "sparse" && name != "linked" && !is_temp_name(name)) return false;
    }
    return !ec;
}

}  // namespace

// The directory a run would write into (OUT, or the nearest existing directory above it, where
// OUT is created) must take a new entry: else the run would fail at its first checkpoint or
// metrics line, after an epoch of training. Tried for real (a temporary directory, made and
// removed at once), since permission bits say nothing of a read-only mount, and nothing to root.
// Whether a file named as a run's is one pfce wrote: a checkpoint by its first bytes, metrics.jsonl
// by its first line (a JSON object with pfce's epoch, train_loss and time_s, or the start of one
// cut short; an empty file is a run's that had not finished an epoch).
static bool is_run_file(const fs::path& p) {
    if (p.filename() != "metrics.jsonl") return is_checkpoint_file(p.string());
    if (!special_file_kind(p.string()).empty()) return false;  // a FIFO would wait for a writer
    std::ifstream f(p);
    std::string line;
    if (!f) return false;
    while (std::getline(f, line))
        if (line.find_first_not_of(" \t\r") != std::string::npos) break;
    if (line.find_first_not_of(" \t\r") == std::string::npos) return true;  // empty
    try {
        // pfce's lines, not any tool's with an epoch: keys only its lines hold together.
        const json j = json::parse(line);
        return j.is_object() && j.contains("epoch") && j.contains("train_loss") &&
               j.contains("time_s");
    } catch (const json::exception&) {
        // A first line cut short by a kill (resume drops it): pfce's lines start with their
        // first key in sorted order.
        return line.rfind("{\"best\":", 0) == 0;
    }
}

static void refuse_unwritable_out(const std::string& out, const std::string& name) {
    std::error_code ec;
    // The run's files' paths, their temporaries' (".config.toml.edited.9.tmpPID_N", at most 64
    // bytes) included, must fit in PATH_MAX: past it a run failed only after the data was read, as
    // "cannot remove .../last.ckpt: File name too long" (a file that did not exist; robustness
    // probe).
    constexpr std::size_t kLongestRunFileName = 64;
    const std::size_t longest = fs::absolute(out, ec).string().size() + 1 + kLongestRunFileName;
    if (longest > PATH_MAX - 1)
        PFCE_THROW(InputError, name, " ", out, ": the paths of the run's files would be up to ",
                   longest, " bytes, past the ", PATH_MAX - 1,
                   " a path may have: expected a directory whose absolute path is at most ",
                   PATH_MAX - 2 - kLongestRunFileName, " bytes");
    fs::path dir = fs::absolute(out, ec);
    while (!dir.empty() && !fs::exists(dir, ec) && dir.has_relative_path()) dir = dir.parent_path();
    if (dir.empty() || !fs::is_directory(dir, ec)) return;  // said by the checks that follow
    // An existing OUT nothing may be renamed or removed in (chattr +a): every file of the run is
    // a temporary renamed into place (and the probe below could not be removed again).
    if (fs::is_directory(out, ec))
        if (const std::string attr = unreplaceable_attribute(out); !attr.empty())
            PFCE_THROW(InputError, name, " ", out, " is ", attr,
                       ": a run writes each file to a temporary renamed into place; clear the "
                       "attribute (chattr -i / -a, as root) or choose another directory");
    const std::string probe = temp_path_for((dir / "write-check").string());
    if (::mkdir(probe.c_str(), 0700) == 0) {
        ::rmdir(probe.c_str());
        return;
    }
    const int err = errno;
    PFCE_THROW(InputError, name, " ", out, ": cannot write into ", dir.string(), " (",
               std::strerror(err), "); choose a directory you can write");
}

// A resumed or forced run replaces its checkpoints after every epoch (and a forced one its
// metrics.jsonl at the start): one that cannot be replaced (chattr +i or +a) failed only then. A
// resume appends to metrics.jsonl, which +a allows. (config.toml and curves.svg only warn when they
// cannot be written.)
static void refuse_unreplaceable_run_files(const fs::path& dir, const std::string& flag,
                                           bool resume) {
    const auto refuse = [&](const std::string& what, const std::string& attr) {
        PFCE_THROW(InputError, flag, " ", dir.string(), ": ", what, " is ", attr,
                   ", and the run replaces its checkpoints after every epoch; clear the "
                   "attribute (chattr -i / -a, as root) or choose another directory");
    };
    for (const char* name : kRunStateFiles) {
        const std::string attr = unreplaceable_attribute((dir / name).string());
        if (attr.empty() ||
            (resume && std::string(name) == "metrics.jsonl" && attr == kAppendOnlyAttribute))
            continue;
        refuse(name, attr);
    }
}

void check_run_dir(const Config& cfg, const TrainOptions& opts) {
    const std::string& out = cfg.run.out;
    const std::string& flag = opts.out_name;
    if (out.empty()) PFCE_THROW(InputError, flag, " \"\": expected the run's directory");
    std::error_code ec;
    if (fs::is_symlink(fs::symlink_status(out, ec)) && !fs::exists(out, ec))  // before the data
        PFCE_THROW(InputError, flag, " ", out, ": ", cannot_create_dir_reason(out, {}));
    if (fs::exists(out, ec) && !fs::is_directory(out, ec))
        PFCE_THROW(InputError, flag, " ", out,
                   " is a file, not a directory (a run writes checkpoints and metrics into it)");
    if (!cfg.data.root.empty() && path_is_inside(out, cfg.data.root))
        PFCE_THROW(InputError, flag, " ", out, " is inside the dataset root ", cfg.data.root,
                   ": a run's checkpoints, metrics and labels would be mixed into the dataset; "
                   "choose a run directory outside it");
    if (!cfg.labels.dir.empty() && path_is_inside(out, cfg.labels.dir))
        PFCE_THROW(InputError, flag, " ", out, " is inside the labels directory ", cfg.labels.dir,
                   " (labels.dir): choose a run directory outside it");
    // A new run starting from weights in its own directory replaces them as it trains: the same
    // command again starts from other weights, and nothing can repeat it (a probe's --force
    // runs drifted one from the next). A resumed run does not read them again.
    if (const std::string& from = cfg.model.init_from;
        !opts.resume && !from.empty() && path_is_inside(from, out))
        PFCE_THROW(InputError, "model.init_from (--init-from) ", from, " lies in ", flag, " ", out,
                   ", whose checkpoints this run replaces: it would start from its own output, and "
                   "the same command again from other weights; copy the checkpoint out of it "
                   "first (e.g. cp ",
                   from, " ",
                   ((fs::path(out) / "").parent_path().parent_path() / "start.ckpt").string(),
                   ") and start from the copy, or choose another ", flag);
    refuse_output_below_mask_directory(out, flag + " " + out);
    refuse_unwritable_out(out, flag);
    if (!fs::is_directory(out, ec)) return;  // a new directory
    const fs::path o(out);
    std::string found, other;
    std::vector<std::string> impostors;
    bool metrics_ours = false;  // its metrics.jsonl holds pfce's lines
    std::size_t n_other = 0;
    for (const auto& e : fs::directory_iterator(o, ec)) {
        const std::string name = e.path().filename().string();
        const bool run_name = is_run_state_file_name(name);
        if (run_name && is_run_file(e.path())) {
            found += (found.empty() ? "" : ", ") + name;
            metrics_ours = metrics_ours || name == "metrics.jsonl";
        } else if (run_name)
            impostors.push_back(name);
        else if (!(is_temp_name(name) &&
                   is_run_file_name(fs::path(target_of_temp(name)).filename().string())) &&
                 !(name == "labels" && is_label_cache(e.path())) &&
                 !(name == kRunCurvesFile && is_run_curves(e.path().string())) &&
                 !((name == kRunConfigFile ||
                    name.rfind(std::string(kRunConfigFile) + ".edited", 0) == 0) &&
                   is_run_config(e.path().string())) &&
                 ++n_other <= 3)
            other += (other.empty() ? "" : ", ") + name;
    }
    if (ec) PFCE_THROW(InputError, "cannot list ", flag, " ", out, ": ", ec.message());
    // A checkpoint that does not read as one beside this run's own record (its metrics lines or
    // its config.toml: a checkpoint copied in beside a user's files is no such record) is the
    // run's, damaged (empty after a power cut, cut short by a full disk), not a user's file:
    // --force may start the run over (a probe's run with an empty last.ckpt could be neither
    // resumed nor started over).
    if (metrics_ours || is_run_config((o / kRunConfigFile).string())) {
        const auto damaged = [](const std::string& n) {
            return fs::path(n).extension() == ".ckpt";
        };
        for (const std::string& name : impostors)
            if (damaged(name) && !opts.force && !opts.resume)
                PFCE_THROW(InputError, "output directory ", out, " holds a run whose ", name,
                           " does not read as a checkpoint (",
                           fs::file_size(o / name, ec) == 0 ? std::string("empty") : "damaged",
                           "): --force starts the run over, or choose another --out");
        std::erase_if(impostors, damaged);
    }
    // A file of a run's name that is not what pfce writes is a user's: --force would replace it.
    std::sort(impostors.begin(), impostors.end());
    std::string named;
    for (const auto& n : impostors) named += (named.empty() ? "" : ", ") + n;
    if (!impostors.empty())
        PFCE_THROW(InputError, flag, " ", out, " holds ", named,
                   " that pfce did not write (not a pfce checkpoint, or not its metrics lines); a "
                   "run would replace them: choose another directory. --force does not change "
                   "this.");
    // A run is recognised by its files; a directory of anything else is not pfce's to fill.
    if (found.empty() && n_other > 0)
        PFCE_THROW(InputError, flag, " ", out, " already holds files that are not a run's (", other,
                   n_other > 3 ? ", ..." : "", "; ", n_other, n_other == 1 ? " entry" : " entries",
                   "). A run writes its checkpoints, metrics.jsonl and labels/ only into "
                   "a new or empty directory or one holding an earlier run (last.ckpt, best.ckpt, "
                   "metrics.jsonl); choose another directory. --force does not change this.");
    // Files of a run's names beside other files are a run only where they are one a run leaves:
    // every run writes last.ckpt first, and its metrics.jsonl from the first epoch on. A checkpoint
    // copied into a folder of one's own (best.ckpt beside a README) is not a run --force may
    // start over in: it would replace the copy. (--resume is refused without a last.ckpt below,
    // and continues one whose metrics.jsonl is gone, saying so.)
    const bool has_last = fs::exists(o / "last.ckpt", ec);
    const bool has_metrics = fs::exists(o / "metrics.jsonl", ec);
    const auto last_at_start = [&] {
        const json meta = peek_checkpoint_meta((o / "last.ckpt").string());
        const json state = meta.is_object() ? meta.value("state", json()) : json();
        return state.is_object() && state.value("epoch", -1) == 0;
    };
    if (!opts.resume && !found.empty() && n_other > 0 &&
        !(has_last && (has_metrics || last_at_start())))
        PFCE_THROW(InputError, flag, " ", out, " holds ", found,
                   " beside files that are not a run's (", other, n_other > 3 ? ", ..." : "", "; ",
                   n_other, n_other == 1 ? " entry" : " entries",
                   "), but not the run that writes them (",
                   has_last ? "no metrics.jsonl beside last.ckpt" : "no last.ckpt",
                   "): a run there would replace them. Choose another directory, or move "
                   "the other files out if it is a run of yours. --force does not change this.");
    if (opts.resume || opts.force) refuse_unreplaceable_run_files(o, flag, opts.resume);
    if (opts.resume || found.empty() || opts.force) return;
    // A run stopped (killed, failed, diverged) before its first step leaves only the last.ckpt of
    // its start: nothing of it is lost by starting over, so the same command, or a corrected one,
    // runs without --force.
    if (found == "last.ckpt") {
        const json meta = peek_checkpoint_meta((o / "last.ckpt").string());
        const json state = meta.is_object() ? meta.value("state", json()) : json();
        if (state.is_object() && state.value("epoch", -1) == 0 && state.value("batch", -1) == 0)
            return;
    }
    PFCE_THROW(InputError, "output directory ", out, " already holds a run (", found,
               "): --resume to continue it", has_last ? "" : " (not possible: no last.ckpt)",
               ", --force to start over, or choose another --out");
}

bool is_run_curves(const std::string& path) {
    // A FIFO of that name would block the read until a writer came: never pfce's picture.
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return false;
    std::ifstream f(path);
    std::string head(256, '\0');
    f.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(f.gcount()));
    return head.find(kRunCurvesMarker) != std::string::npos;
}

bool is_run_config(const std::string& path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return false;  // a FIFO would block the read
    std::ifstream f(path);
    std::string first;
    std::getline(f, first);
    return first.rfind(kRunConfigMarker, 0) == 0;
}

namespace {

constexpr const char* kRunConfigChecksum = "# checksum ";

// Whether `line` of a config's [labels] table sets a key a mask directory decides.
bool decided_by_mask_dir(const std::string& line) {
    return line.rfind("points = ", 0) == 0 || line.rfind("seed = ", 0) == 0 ||
           line.rfind("scale_by_area = ", 0) == 0;
}

// run_config_text without its last line, the checksum of what comes before it.
std::string run_config_body(const Config& given) {
    // Absolute paths, so the file starts the same run from any directory (a suite's runs hold
    // them as the suite gave them: relative, they named another dataset from elsewhere).
    Config cfg = given;
    make_paths_absolute(cfg);
    std::string o = kRunConfigMarker;
    o += ", what this run trains with; pfce " + pfce_version_text() +
         ".\n# Written at the run's start and at each resume. Editing it changes nothing: the "
         "run's\n# checkpoints hold its settings. Another run with them:\n#   pfce train "
         "--config " +
         shell_word((fs::path(cfg.run.out) / kRunConfigFile).string()) + " --out NEW_DIR\n\n";
    if (cfg.labels.dir.empty()) return o + to_toml_text(cfg);
    // With a mask directory its masks.json says how its points were made (or that a person drew
    // them: then a points, seed or scale_by_area in a file is refused as setting nothing), so
    // those keys are left to it, as comments.
    std::istringstream text(to_toml_text(cfg));
    std::string section;
    for (std::string line; std::getline(text, line);) {
        if (!line.empty() && line[0] == '[') section = line;
        const bool decided_by_dir = section == "[labels]" && decided_by_mask_dir(line);
        if (decided_by_dir && line.rfind("points = ", 0) == 0)
            o += "# points, seed and scale_by_area: as labels.dir's masks.json records them\n";
        o += (decided_by_dir ? "# " : "") + line + "\n";
    }
    return o;
}

}  // namespace

std::vector<std::string> run_config_labels_of_masks(const std::string& path) {
    std::vector<std::string> out;
    if (!is_run_config(path)) return out;
    std::istringstream text(read_whole_file(path));
    std::string section;
    for (std::string line; std::getline(text, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!line.empty() && line[0] == '[') section = line;
        if (section == "[labels]" && line.rfind("# ", 0) == 0 &&
            decided_by_mask_dir(line.substr(2)))
            out.push_back(line.substr(2));
    }
    return out;
}

std::vector<std::string> run_config_labels_of_masks(const Config& cfg) {
    std::vector<std::string> out;
    std::istringstream text(to_toml_text(cfg));
    std::string section;
    for (std::string line; std::getline(text, line);) {
        if (!line.empty() && line[0] == '[') section = line;
        if (section == "[labels]" && decided_by_mask_dir(line)) out.push_back(line);
    }
    return out;
}

std::string run_config_text(const Config& given) {
    const std::string body = run_config_body(given);
    return body + kRunConfigChecksum + hex64(fnv1a64(body.data(), body.size())) + "\n";
}

bool run_config_has_checksum(const std::string& path) {
    const std::string text = read_whole_file(path);
    const std::size_t at = text.rfind(kRunConfigChecksum);
    return at != std::string::npos && (at == 0 || text[at - 1] == '\n');
}

bool run_config_edited(const std::string& path) {
    if (!is_run_config(path)) return false;
    const std::string text = read_whole_file(path);
    const std::size_t at = text.rfind(kRunConfigChecksum);
    if (at == std::string::npos || (at > 0 && text[at - 1] != '\n'))
        return false;  // an older pfce's: no checksum to tell an edit by
    const std::string body = text.substr(0, at);
    std::string sum = text.substr(at + std::char_traits<char>::length(kRunConfigChecksum));
    while (!sum.empty() && (sum.back() == '\n' || sum.back() == '\r')) sum.pop_back();
    return sum != hex64(fnv1a64(body.data(), body.size()));
}

StoredRun stored_run(const std::string& out_dir) {
    const std::string path = (fs::path(out_dir) / "last.ckpt").string();
    if (!fs::exists(path)) refuse_nothing_to_resume(out_dir);
    // A last.ckpt that does not read beside the run's other files (a power cut on a file system
    // that lost its data, a disk that filled): the run cannot continue from it, and the way out is
    // said (before, only "truncated (0 bytes)", and --force refused it as a file not pfce's).
    const Checkpoint ck = [&] {
        try {
            return read_checkpoint(path);
        } catch (const InputError& e) {
            // Its best.ckpt may still read: the weights of its best epoch, from which a new run
            // can start (only --force was offered, which replaces it too).
            std::string best_hint;
            const std::string best = (fs::path(out_dir) / "best.ckpt").string();
            try {
                if (fs::exists(best)) {
                    const Checkpoint b = read_checkpoint(best);
                    const json state = b.meta.value("state", json::object());
                    best_hint = "; its best.ckpt (epoch " +
                                std::to_string(state.value("epoch", 0)) +
                                ") still reads: pfce train --config " +
                                shell_word((fs::path(out_dir) / kRunConfigFile).string()) +
                                " --init-from " + shell_word(best) +
                                " --out NEW_DIR starts a new run from its weights (the optimizer "
                                "and schedule anew)";
                }
            } catch (const std::exception&) {  // unreadable too: nothing to offer
            }
            PFCE_THROW(InputError, e.what(),
                       ". The run cannot continue from it: --force starts it over in ", out_dir,
                       " (replacing its checkpoints and metrics), or train into another --out",
                       best_hint);
        }
    }();
    if (!ck.meta.contains("config"))
        PFCE_THROW(InputError, "checkpoint ", path, " holds no training config");
    StoredRun r{config_from_json(ck.meta.at("config"), path + " (config)"),
                recorded_data_identity(ck.meta)};
    r.records_label_counts = ck.meta.contains("data") && ck.meta["data"].is_object() &&
                             ck.meta["data"].contains("label_counts") &&
                             ck.meta["data"]["label_counts"].is_object();
    r.config.run.out = out_dir;  // where it is now, wherever it was written
    // Older runs on masks linked at any negative step (off) recorded it: off is -1 now.
    if (r.config.labels.max_color_step < 0) r.config.labels.max_color_step = -1;
    return r;
}

namespace {
// Whether the `differing_result_keys` line `line` is of the path key `dotted`, given as another
// file at both times (a split list or a mask directory given, or dropped, changes the settings).
bool moved_file(const std::string& line, const char* dotted, const Config& stored,
                const Config& given) {
    const ConfigKey* k = find_config_key(dotted);
    return line.rfind(std::string(dotted) + ":", 0) == 0 &&
           !k->get(stored).get<std::string>().empty() && !k->get(given).get<std::string>().empty();
}
}  // namespace

void refuse_changed_settings(const Config& stored, const Config& given, bool labels_too,
                             bool on_cuda, const std::string& root_moved, bool same_label_counts,
                             bool not_tiles, const KeySources* where) {
    // Where a given value came from: a --config file's line looks like the run's own settings.
    auto set_by = [where](const std::string& key) -> std::string {
        const auto it = where ? where->find(key) : KeySources::const_iterator();
        if (!where || it == where->end()) return {};
        return it->second == "command line" ? " (typed on the command line)"
                                            : " (set by " + it->second + ")";
    };
    std::string list;
    bool all_from_masks = true;
    const std::vector<std::string> without_effect_stored = keys_without_effect(stored),
                                   without_effect_given = keys_without_effect(given);
    auto contains = [](const std::vector<std::string>& keys, const std::string& key) {
        return std::find(keys.begin(), keys.end(), key) != keys.end();
    };
    for (const auto& d : differing_result_keys(stored, given)) {
        if (!labels_too && d.rfind("labels.", 0) == 0) continue;
        // "auto" is a precision by device: the same one typed out changes nothing (a run begun
        // with auto on a CPU was refused a resume with --precision fp32).
        if (d.rfind("run.precision:", 0) == 0 && parse_precision(stored.run.precision, on_cuda) ==
                                                     parse_precision(given.run.precision, on_cuda))
            continue;
        // run.evaluate picks the checkpoint a suite tests: pfce train, which tests nothing, says
        // it has no effect there, so it does not block a resume either.
        if (d.rfind("run.evaluate", 0) == 0) continue;
        // run.deterministic picks among algorithms of the same arithmetic (cuDNN's; the CPU's are
        // all deterministic): how the run goes on, like run.device, not what it trains.
        if (d.rfind("run.deterministic", 0) == 0) continue;
        // Linking settings do nothing unless the labels are linked (a run on sparse masks that
        // recorded them before they were reset resumes).
        if (given.labels.kind != "linked" &&
            (d.rfind("labels.radius", 0) == 0 || d.rfind("labels.conflict", 0) == 0 ||
             d.rfind("labels.max_color_step", 0) == 0))
            continue;
        // A key that does nothing in the run and in the resume alike (sgd's momentum in an adam
        // run, plateau settings on a constant schedule): the same run, as the warning that it has
        // no effect says (a shared config file carrying them was refused as a change).
        const std::string key = d.substr(0, d.find(':'));
        if (contains(without_effect_stored, key) && contains(without_effect_given, key)) continue;
        // data.tile_* on a dataset that is not tiles (data.kind "auto" found another): judged by
        // the trainer, which knows what it found.
        if (not_tiles && key.rfind("data.tile_", 0) == 0) continue;
        // A split list or a mask directory at another path (moved, or moved with the dataset:
        // follow_the_moved_dataset) is the same run when what it holds is: the split's ids are
        // compared by check_same_data; the masks' settings by the labels.* keys and their pixels
        // by the labelled counts of every class in the training and validation samples.
        bool moved = false;
        for (const char* split_list : {"data.train_list", "data.val_list", "data.test_list"})
            moved = moved || moved_file(d, split_list, stored, given);
        if (moved) continue;
        if (labels_too && moved_file(d, "labels.dir", stored, given)) {
            if (same_label_counts) continue;
            all_from_masks = false;
            list += "\n  " + d +
                    " (not the run's masks: their labelled pixels differ, or the run "
                    "records none to compare)";
            continue;
        }
        if (d.rfind("data.root:", 0) == 0) {
            if (root_moved == "same") continue;  // the same files, elsewhere
            if (!root_moved.empty()) {
                all_from_masks = false;
                list += "\n  " + d + " (not the run's data moved: " + root_moved + ")";
                continue;
            }
        }
        // With a mask directory, the label settings are what its masks.json records
        // (adopt_labels_dir_settings): one that differs was not typed, the directory was made
        // again (pfce sample --force) since the run began.
        const bool from_masks = labels_too && !given.labels.dir.empty() &&
                                d.rfind("labels.", 0) == 0 && d.rfind("labels.dir:", 0) != 0;
        all_from_masks = all_from_masks && from_masks;
        list += "\n  " + d +
                (from_masks ? " (what " + given.labels.dir + "/masks.json records)" : set_by(key));
    }
    if (list.empty()) return;
    if (all_from_masks)
        PFCE_THROW(
            InputError, "cannot resume ", given.run.out, ": its mask directory ", given.labels.dir,
            " was made again since the run began, with other settings (stored -> now):", list,
            "\nits labels would change in the middle of the run: make the masks as they "
            "were (the stored settings), or start over with --force");
    PFCE_THROW(InputError, "cannot resume ", given.run.out,
               ": these settings differ from the run's own (stored -> given):", list,
               "\nresume with the run's settings (pfce train --resume --out ", given.run.out,
               ") or start over with --force");
}

Config config_of_run(const std::string& out_dir) {
    return stored_run(out_dir).config;
}

TrainResult train_unet(Backend& backend, const Config& cfg, const TrainInputs& inputs,
                       const TrainOptions& opts) {
    TrainingRun run(backend, cfg, inputs, opts);
    if (!opts.resume) run.init_weights();  // a resume takes its own weights from last.ckpt
    run.claim_output_dir();
    const bool more = !opts.resume || run.resume();
    // A run always has the last.ckpt --resume needs: killed (SIGKILL, power) in its first epoch,
    // after metrics.jsonl was begun, it held nothing to resume and refused to start over.
    if (!opts.resume) run.save_start();
    run.write_run_config();  // also where a resume finds nothing to do: an edited file is put back
    if (!more) return run.finish();
    run.log_start();
    while (!run.done())
        if (!run.train_epoch()) return std::move(run.result());
    return run.finish();
}

}  // namespace pfce
