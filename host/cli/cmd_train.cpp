// `pfce train`: U-Net training with the partial focal loss, from a TOML [train] table and/or flags
// (flags win). --resume continues OUT/last.ckpt with the config stored in it; Ctrl-C saves and
// exits.
#include <cstdio>
#include <string>

#include "core/log.hpp"
#include "host/backend/backend_factory.hpp"
#include "host/cli/cli_checks.hpp"
#include "host/cli/command_registry.hpp"
#include "host/train/train_config.hpp"
#include "host/train/train_data.hpp"
#include "host/train/trainer.hpp"

namespace pfce::cli {
namespace {

struct TrainArgs {
    std::string config;
    TrainConfig flags;  // values of the flags given (only those with a count are applied)
    bool resume = false, force = false;
};

void run_train(CLI::App& sub, TrainArgs& a) {
    auto given = [&](const char* name) { return sub.get_option(name)->count() > 0; };
    TrainConfig cfg;
    if (!a.config.empty()) {
        cfg = load_train_config(a.config);
    } else if (a.resume) {
        cfg = config_of_run(given("--out") ? a.flags.out : cfg.out);
    }
    const TrainConfig& f = a.flags;
    if (given("--data")) cfg.data = f.data;
    if (given("--labels")) cfg.labels = f.labels;
    if (given("--epochs")) cfg.epochs = f.epochs;
    if (given("--batch-size")) cfg.batch_size = f.batch_size;
    if (given("--lr")) cfg.lr = f.lr;
    if (given("--optimizer")) cfg.optimizer = f.optimizer;
    if (given("--weight-decay")) cfg.weight_decay = f.weight_decay;
    if (given("--schedule")) cfg.schedule = f.schedule;
    if (given("--clip")) cfg.clip = f.clip;
    if (given("--width")) cfg.width = f.width;
    if (given("--depth")) cfg.depth = f.depth;
    if (given("--seed")) cfg.seed = f.seed;
    if (given("--device")) cfg.device = f.device;
    if (given("--out")) cfg.out = f.out;
    if (given("--max-samples")) cfg.max_samples = f.max_samples;
    if (given("--best")) cfg.best_metric = f.best_metric;
    validate(cfg, a.config.empty() ? std::string("command line") : a.config + " + command line");

    auto backend = make_backend(cfg.device);
    const TrainInputs inputs = load_train_inputs(cfg);
    TrainOptions opts;
    opts.resume = a.resume;
    opts.force = a.force;
    opts.handle_sigint = true;
    const TrainResult r = train_unet(*backend, cfg, inputs, opts);
    if (r.interrupted) {
        std::printf(
            "interrupted after %lld steps; checkpoint %s (continue: pfce train --resume --out "
            "%s)\n",
            static_cast<long long>(r.steps), r.last_checkpoint.c_str(), cfg.out.c_str());
        throw CLI::RuntimeError(130);
    }
    std::printf("trained %d epochs (%lld steps): train loss %.4f", r.epochs_completed,
                static_cast<long long>(r.steps), r.train_loss);
    if (inputs.val.empty())  // too few samples for a validation split: say so rather than print NaN
        std::printf(", no validation split (best checkpoint follows the training loss)\n");
    else
        std::printf(", val loss %.4f, val mIoU %.4f, OA %.4f\n", r.val.loss, r.val.metrics.miou,
                    r.val.metrics.oa);
    std::printf("best epoch %d (%s %.4f): %s\nlast: %s\nmetrics: %s\n", r.best_epoch,
                inputs.val.empty() ? "train_loss" : cfg.best_metric.c_str(), r.best_value,
                r.best_checkpoint.c_str(), r.last_checkpoint.c_str(), r.metrics_path.c_str());
}

const bool registered = register_command(
    "train", "train the U-Net with the partial focal loss (config file and/or flags)",
    [](CLI::App& sub) {
        auto a = std::make_shared<TrainArgs>();
        TrainConfig& f = a->flags;
        sub.add_option("--config", a->config, "TOML file with a [train] table (flags override it)");
        sub.add_option("--data", f.data, "dataset root (Kaggle patches, tiles or generic layout)");
        sub.add_option("--labels", f.labels,
                       "mask directory of training labels (sparse/linked); default: dense");
        sub.add_option("--epochs", f.epochs, "epochs")->capture_default_str();
        sub.add_option("--batch-size", f.batch_size, "images per batch")->capture_default_str();
        sub.add_option("--lr", f.lr, "base learning rate")->capture_default_str();
        sub.add_option("--optimizer", f.optimizer, "sgd | adam | adamw | adam_l2")
            ->capture_default_str();
        sub.add_option("--weight-decay", f.weight_decay, "weight decay (conv weights only)")
            ->capture_default_str();
        sub.add_option("--schedule", f.schedule, "constant | step | cosine | plateau")
            ->capture_default_str();
        sub.add_option("--clip", f.clip, "max global gradient norm (0 = off)")
            ->capture_default_str();
        sub.add_option("--width", f.width, "U-Net base width")->capture_default_str();
        sub.add_option("--depth", f.depth, "U-Net depth (down-sampling steps)")
            ->capture_default_str();
        sub.add_option("--seed", f.seed, "seed for weights, shuffling, augmentation")
            ->check(non_negative_integer())
            ->capture_default_str();
        sub.add_option("--device", f.device, "auto | cpu | cuda[:N]")->capture_default_str();
        sub.add_option("--out", f.out, "run directory (checkpoints, metrics.jsonl)")
            ->capture_default_str();
        sub.add_option("--max-samples", f.max_samples, "use only the first N samples (0 = all)")
            ->capture_default_str();
        sub.add_option("--best", f.best_metric, "best checkpoint by val_loss | val_miou")
            ->capture_default_str();
        sub.add_flag("--resume", a->resume, "continue the run in --out from last.ckpt");
        sub.add_flag("--force", a->force, "start over even if --out holds a run");
        sub.callback([&sub, a] { run_train(sub, *a); });
    });

}  // namespace
}  // namespace pfce::cli
