// Trainer: the epoch/batch loop, validation, checkpoints and metrics.jsonl, resume, stop paths.
#include "host/train/trainer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/file_io.hpp"
#include "core/log.hpp"
#include "host/train/checkpoint.hpp"
#include "host/train/lr_schedule.hpp"
#include "host/train/optimizer.hpp"
#include "host/train/progress.hpp"
#include "host/train/trained_model.hpp"

namespace pfce {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::atomic<bool> g_interrupted{false};

extern "C" void on_sigint(int) {
    g_interrupted.store(true);
    std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
}

// Installs the SIGINT flag handler for the lifetime of a run and restores the previous one.
class SigintGuard {
  public:
    explicit SigintGuard(bool active) : active_(active) {
        if (!active_) return;
        g_interrupted.store(false);
        previous_ = std::signal(SIGINT, on_sigint);
    }
    ~SigintGuard() {
        if (active_) std::signal(SIGINT, previous_);
    }

  private:
    bool active_;
    void (*previous_)(int) = SIG_DFL;
};

void ensure(Backend& b, Tensor& t, const Shape& s, DType d) {
    if (t.empty() || t.shape() != s || t.dtype() != d) t = b.zeros(s, d);
}

float read_scalar(Backend& b, const Tensor& t) {
    Tensor h = Tensor::host({1}, DType::f32);
    b.copy(h, t);
    return h.data<float>()[0];
}

json num(double x) {
    return std::isfinite(x) ? json(x) : json();
}

// Appends one line and makes it durable (metrics survive a crash right after an epoch).
void append_line(const std::string& path, const std::string& line) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) PFCE_THROW(SystemError, "cannot open ", path, " for appending");
    const std::string s = line + "\n";
    const bool ok =
        ::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) PFCE_THROW(SystemError, "cannot append to ", path);
}

// On resume: keep only the lines of epochs the checkpoint has completed (a crash between the
// metrics line and the checkpoint would otherwise leave a line for an epoch that is run again).
void trim_metrics(const std::string& path, int completed_epochs) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return;
    std::istringstream in(read_whole_file(path));
    std::string kept, line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        try {
            if (json::parse(line).at("epoch").get<int>() <= completed_epochs) kept += line + "\n";
        } catch (const json::exception&) {
            PFCE_THROW(InputError, path, ": malformed line: ", line);
        }
    }
    write_file_atomically(path, kept);  // the old history stays whole if this fails
}

struct LoopState {
    int epoch = 0;                 // 0-based epoch in progress (or next to run)
    std::int64_t batch = 0;        // batches of `epoch` already done
    std::int64_t global_step = 0;  // optimizer steps over the run
    float epoch_loss_sum = 0;      // device sum of batch losses of `epoch` so far
    double epoch_images = 0;
    double epoch_seconds = 0;
    int best_epoch = 0;  // 1-based
    double best_value = 0;
};

json state_to_json(const LoopState& s, const LrSchedule& sched) {
    return {{"epoch", s.epoch},
            {"batch", s.batch},
            {"global_step", s.global_step},
            {"epoch_loss_sum", s.epoch_loss_sum},
            {"epoch_images", s.epoch_images},
            {"epoch_seconds", s.epoch_seconds},
            {"best_epoch", s.best_epoch},
            {"best_value", num(s.best_value)},
            {"schedule", sched.state()}};
}

LoopState state_from_json(const json& j, LrSchedule& sched) {
    LoopState s;
    s.epoch = j.at("epoch").get<int>();
    s.batch = j.at("batch").get<std::int64_t>();
    s.global_step = j.at("global_step").get<std::int64_t>();
    s.epoch_loss_sum = j.at("epoch_loss_sum").get<float>();
    s.epoch_images = j.at("epoch_images").get<double>();
    s.epoch_seconds = j.at("epoch_seconds").get<double>();
    s.best_epoch = j.at("best_epoch").get<int>();
    s.best_value = j.at("best_value").is_null() ? 0.0 : j.at("best_value").get<double>();
    sched.load_state(j.at("schedule"));
    return s;
}

}  // namespace

TrainConfig config_of_run(const std::string& out_dir) {
    const std::string path = (fs::path(out_dir) / "last.ckpt").string();
    if (!fs::exists(path))
        PFCE_THROW(InputError, "nothing to resume in ", out_dir, ": it holds no last.ckpt");
    const Checkpoint ck = read_checkpoint(path);
    if (!ck.meta.contains("config"))
        PFCE_THROW(InputError, "checkpoint ", path, " holds no training config");
    return train_config_from_json(ck.meta.at("config"), path + " (config)");
}

TrainResult train_unet(Backend& backend, const TrainConfig& cfg, const TrainInputs& in,
                       const TrainOptions& opts) {
    validate(cfg, "training config");
    const fs::path out(cfg.out);
    fs::create_directories(out);
    TrainResult result;
    result.last_checkpoint = (out / "last.ckpt").string();
    result.best_checkpoint = (out / "best.ckpt").string();
    result.metrics_path = (out / "metrics.jsonl").string();
    if (opts.resume && !fs::exists(result.last_checkpoint))
        PFCE_THROW(InputError, "nothing to resume in ", cfg.out, ": it holds no last.ckpt");
    if (!opts.resume) {
        // Any file of an earlier run stops a new one unless --force: best.ckpt and metrics.jsonl
        // are results too, even where last.ckpt is gone.
        std::string found;
        for (const std::string& f :
             {result.last_checkpoint, result.best_checkpoint, result.metrics_path})
            if (fs::exists(f))
                found += (found.empty() ? "" : ", ") + fs::path(f).filename().string();
        if (!found.empty() && !opts.force)
            PFCE_THROW(InputError, "output directory ", cfg.out, " already holds a run (", found,
                       "): --resume to continue it",
                       fs::exists(result.last_checkpoint) ? "" : " (not possible: no last.ckpt)",
                       ", --force to start over, or choose another --out");
        for (const std::string& f :
             {result.last_checkpoint, result.best_checkpoint, result.metrics_path})
            fs::remove(f);
    }
    const int C = static_cast<int>(in.class_names.size());
    if (C < 1 || C > kMaxClasses)
        PFCE_THROW(InputError, "dataset has ", C, " classes, expected 1..", kMaxClasses);
    if (in.train.empty()) PFCE_THROW(InputError, "no training samples");

    UNetConfig uc;
    uc.in_channels = 3;
    uc.num_classes = C;
    uc.depth = cfg.depth;
    uc.base_width = cfg.width;
    UNet net(backend, uc, cfg.seed);
    std::vector<Parameter*> params = net.parameters();
    Optimizer opt(backend, params, optimizer_config(cfg));
    const FocalLossParams loss_params = focal_params(cfg);

    LoaderOptions lo;
    lo.batch_size = cfg.batch_size;
    lo.shuffle = true;
    lo.augment = cfg.augment;
    // Full batches only (fixed shapes, so a step never reallocates), unless the split is smaller.
    lo.drop_last = in.train.size() >= static_cast<std::size_t>(cfg.batch_size);
    lo.seed = cfg.seed;
    lo.prefetch = cfg.prefetch;
    BatchLoader loader(backend, in.train, in.stats, lo);
    const auto bpe = static_cast<std::int64_t>(loader.batches_per_epoch());
    if (bpe == 0)
        PFCE_THROW(InputError, "no training batch (", in.train.size(), " samples, batch ",
                   cfg.batch_size, ")");
    LrSchedule sched(schedule_config(cfg, bpe));
    const bool best_max = cfg.best_metric == "val_miou";

    json meta = {
        {"format", "pfce-unet"},
        {"config", to_json(cfg)},
        {"model",
         {{"in_channels", 3}, {"num_classes", C}, {"depth", cfg.depth}, {"base_width", cfg.width}}},
        {"stats", stats_to_json(in.stats)},
        {"classes", in.class_names},
        {"colours", in.class_colours},
        {"clutter_class", in.clutter_class},
        {"label_kind", in.label_kind},
        {"data", in.data_meta}};

    LoopState st;
    st.best_value = best_max ? -std::numeric_limits<double>::infinity()
                             : std::numeric_limits<double>::infinity();
    if (opts.resume) {
        const Checkpoint ck = read_checkpoint(result.last_checkpoint);
        if (ck.meta.value("config", json()) != to_json(cfg))
            PFCE_THROW(InputError, "checkpoint ", result.last_checkpoint,
                       " was written with a different training config; resume with its own config "
                       "(pfce train --resume --out DIR) or start over with --force");
        load_model_state(ck, backend, net, result.last_checkpoint);
        for (const StateRef& s : opt.state())
            ck.load_into(backend, s.name, *s.value, result.last_checkpoint);
        st = state_from_json(ck.meta.at("state"), sched);
        if (st.best_epoch == 0)
            st.best_value = best_max ? -std::numeric_limits<double>::infinity()
                                     : std::numeric_limits<double>::infinity();
        opt.set_steps_taken(st.global_step);
        trim_metrics(result.metrics_path, st.epoch);
        log_info("resuming ", cfg.out, " at epoch ", st.epoch + 1, ", batch ", st.batch, " (step ",
                 st.global_step, ")");
    }
    log_info("training U-Net (depth ", cfg.depth, ", width ", cfg.width, ", ",
             net.parameter_count(), " parameters) on ", backend.name(), ": ", in.train.size(),
             " train / ", in.val.size(), " val samples, ", bpe, " batches of ", cfg.batch_size,
             " per epoch, ", cfg.optimizer, " lr ", cfg.lr, ", schedule ", cfg.schedule,
             cfg.clip > 0 ? ", clip " : "",
             cfg.clip > 0 ? std::to_string(cfg.clip) : std::string());

    auto save = [&](const LoopState& state, bool also_best) {
        Checkpoint ck;
        ck.meta = meta;
        ck.meta["state"] = state_to_json(state, sched);
        ck.meta["backend"] = backend.name();
        save_model_state(ck, backend, net);
        for (const StateRef& s : opt.state()) ck.add(backend, s.name, *s.value);
        if (also_best) write_checkpoint(result.best_checkpoint, ck);
        write_checkpoint(result.last_checkpoint, ck);
    };
    auto diverged = [&](const char* what, double value) {
        std::ostringstream where;
        where << "training diverged: " << what << " is " << value << " at epoch " << st.epoch + 1
              << ", batch " << st.batch << " (step " << st.global_step << "); stopping. ";
        if (fs::exists(result.last_checkpoint))
            where << "The last good checkpoint is " << result.last_checkpoint << " (" << st.epoch
                  << " epochs completed); lower the lr or enable clipping (--clip) and resume or "
                     "start over.";
        else
            where << "No checkpoint was written yet; lower the lr or enable clipping (--clip).";
        PFCE_THROW(NumericError, where.str());
    };

    SigintGuard sigint(opts.handle_sigint);
    Tensor x, labels, dlogits;
    Tensor d_loss = backend.zeros({1}, DType::f32), loss_sum = backend.zeros({1}, DType::f32);
    Tensor norm = backend.zeros({1}, DType::f32), scale = backend.zeros({1}, DType::f32);
    backend.fill(scale, 1.0f);  // stays 1 without clipping
    std::vector<const Tensor*> grads;
    for (Parameter* p : params) grads.push_back(&p->grad);

    for (; st.epoch < cfg.epochs; ++st.epoch) {
        loader.start_epoch(st.epoch);
        Batch batch;
        for (std::int64_t b = 0; b < st.batch; ++b)  // resume mid-epoch: same order, same batches
            if (!loader.next(batch))
                PFCE_THROW(InputError, "resume position ", st.batch, " is past the epoch's end");
        backend.fill(loss_sum, st.epoch_loss_sum);
        char label[64];
        std::snprintf(label, sizeof label, "epoch %d/%d", st.epoch + 1, cfg.epochs);
        ProgressBar bar(label, bpe, opts.tty);
        const auto t0 = std::chrono::steady_clock::now();
        const double images_before = st.epoch_images, seconds_before = st.epoch_seconds;
        auto epoch_seconds = [&] {
            return seconds_before +
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        };
        double lr = sched.lr(st.global_step, st.epoch);
        while (st.batch < bpe && loader.next(batch)) {
            ensure(backend, x, batch.images.shape(), DType::f32);
            ensure(backend, labels, batch.train_labels.shape(), DType::u8);
            backend.copy(x, batch.images);
            backend.copy(labels, batch.train_labels);
            const Tensor& logits = net.forward(x, true);
            ensure(backend, dlogits, logits.shape(), DType::f32);
            backend.focal_loss(logits, labels, loss_params, d_loss, dlogits);
            net.backward(dlogits);
            if (cfg.clip > 0) {
                backend.global_grad_norm(grads, norm);
                backend.clip_scale(norm, static_cast<float>(cfg.clip), scale);
            }
            lr = sched.lr(st.global_step, st.epoch);
            opt.step(static_cast<float>(lr), scale);
            backend.add_inplace(loss_sum, d_loss);
            ++st.batch;
            ++st.global_step;
            st.epoch_images += static_cast<double>(batch.images.dim(0));

            const bool stop = g_interrupted.load() ||
                              (opts.stop_after_step && opts.stop_after_step(st.global_step));
            if (st.batch % cfg.log_every == 0 || st.batch == bpe || stop) {
                st.epoch_loss_sum = read_scalar(backend, loss_sum);
                const double mean = st.epoch_loss_sum / static_cast<double>(st.batch);
                if (!std::isfinite(mean)) diverged("the training loss", mean);
                bar.update(st.batch, mean,
                           static_cast<std::int64_t>(st.epoch_images - images_before));
            }
            if (stop) {
                st.epoch_seconds = epoch_seconds();
                save(st, false);
                bar.finish("interrupted");
                log_info("interrupted: saved ", result.last_checkpoint, " at epoch ", st.epoch + 1,
                         ", batch ", st.batch, "; continue with --resume");
                result.interrupted = true;
                result.steps = st.global_step;
                result.epochs_completed = st.epoch;
                return result;
            }
        }
        st.epoch_loss_sum = read_scalar(backend, loss_sum);
        const double train_loss = st.epoch_loss_sum / static_cast<double>(bpe);
        if (!std::isfinite(train_loss)) diverged("the training loss", train_loss);
        const double train_seconds = epoch_seconds();
        const double images_per_s = train_seconds > 0 ? st.epoch_images / train_seconds : 0.0;

        EvalResult val = evaluate(backend, net, in.val, in.stats, cfg.batch_size, loss_params,
                                  in.clutter_class, cfg.prefetch);
        if (!in.val.empty() && !std::isfinite(val.loss)) diverged("the validation loss", val.loss);
        // With no validation split, the training loss stands in (logged once).
        const double monitored_loss = in.val.empty() ? train_loss : val.loss;
        if (in.val.empty() && st.epoch == 0)
            log_warn("no validation samples: best/plateau follow the training loss");
        const double best_candidate = best_max ? val.metrics.miou : monitored_loss;
        const bool improved =
            std::isfinite(best_candidate) &&
            (best_max ? best_candidate > st.best_value : best_candidate < st.best_value);
        if (improved) {
            st.best_value = best_candidate;
            st.best_epoch = st.epoch + 1;
        }
        sched.end_epoch(cfg.plateau_metric == "val_miou" ? val.metrics.miou : monitored_loss);

        json line = {{"epoch", st.epoch + 1},
                     {"lr", lr},
                     {"train_loss", num(train_loss)},
                     {"val_loss", num(val.loss)},
                     {"val_loss_dense", num(val.loss_dense)},
                     {"val_miou", num(val.metrics.miou)},
                     {"val_miou_no_clutter", num(val.metrics.miou_no_clutter)},
                     {"val_oa", num(val.metrics.oa)},
                     {"val_mean_f1", num(val.metrics.mean_f1)},
                     {"val_iou", to_json(val.metrics)["iou"]},
                     {"time_s", train_seconds},
                     {"images_per_s", images_per_s},
                     {"steps", st.global_step},
                     {"best", improved}};
        append_line(result.metrics_path, line.dump());
        char summary[256];
        std::snprintf(
            summary, sizeof summary,
            "train loss %.4f | val loss %.4f (dense %.4f) mIoU %.4f OA %.4f | %.1f img/s, %s%s",
            train_loss, val.loss, val.loss_dense, val.metrics.miou, val.metrics.oa, images_per_s,
            format_duration(train_seconds).c_str(), improved ? " | best" : "");
        bar.finish(summary);

        // The checkpoint describes the start of the next epoch.
        st.batch = 0;
        st.epoch_loss_sum = 0;
        st.epoch_images = 0;
        st.epoch_seconds = 0;
        LoopState next = st;
        next.epoch = st.epoch + 1;
        save(next, improved);
        result.train_loss = train_loss;
        result.val = std::move(val);
        result.epochs_completed = st.epoch + 1;
    }
    result.epochs_completed = st.epoch;
    result.steps = st.global_step;
    result.best_epoch = st.best_epoch;
    result.best_value = st.best_value;
    return result;
}

}  // namespace pfce
