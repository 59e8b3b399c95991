// `pfce eval`: metrics of a checkpoint on a dataset split, on DENSE masks (DESIGN §2); a table, or
// JSON with --json. The split is recomputed with the seed and fractions stored in the checkpoint.
#include <cstdio>
#include <numeric>
#include <string>

#include <nlohmann/json.hpp>

#include "data/dataset.hpp"
#include "host/backend/backend_factory.hpp"
#include "host/cli/command_registry.hpp"
#include "host/train/evaluate.hpp"
#include "host/train/train_data.hpp"
#include "host/train/trained_model.hpp"

namespace pfce::cli {
namespace {

struct EvalArgs {
    std::string checkpoint, data, split = "test", labels, device = "auto";
    int batch_size = 0;
    bool json = false;
};

void run_eval(const EvalArgs& a) {
    auto backend = make_backend(a.device);
    TrainedModel m = load_trained_model(*backend, a.checkpoint);
    const Dataset ds = Dataset::open(a.data);
    if (ds.palette().num_classes() != m.net->config().num_classes)
        PFCE_THROW(InputError, "dataset ", a.data, " has ", ds.palette().num_classes(),
                   " classes, checkpoint ", a.checkpoint, " was trained for ",
                   m.net->config().num_classes);
    std::vector<std::size_t> indices;
    if (a.split == "all") {
        indices.resize(ds.size());
        std::iota(indices.begin(), indices.end(), std::size_t{0});
    } else {
        std::size_t n = ds.size();
        if (m.config.max_samples > 0)
            n = std::min<std::size_t>(n, static_cast<std::size_t>(m.config.max_samples));
        const Split s = make_split(n, m.config.split_seed, m.config.train_frac, m.config.val_frac);
        if (a.split == "test")
            indices = s.test;
        else if (a.split == "val")
            indices = s.val;
        else if (a.split == "train")
            indices = s.train;
        else
            PFCE_THROW(InputError, "--split ", a.split, ": expected test, val, train or all");
    }
    if (indices.empty()) PFCE_THROW(InputError, "split \"", a.split, "\" of ", a.data, " is empty");
    const std::vector<SampleData> samples = load_samples(ds, indices, a.labels);
    const int batch = a.batch_size > 0 ? a.batch_size : m.config.batch_size;
    const EvalResult r = evaluate(*backend, *m.net, samples, m.stats, batch, focal_params(m.config),
                                  m.clutter_class);
    if (a.json) {
        nlohmann::json j = to_json(r.metrics, m.class_names);
        j["checkpoint"] = a.checkpoint;
        j["data"] = a.data;
        j["split"] = a.split;
        j["images"] = r.images;
        j["loss_dense"] = r.loss_dense;
        if (!a.labels.empty()) j["loss_labels"] = r.loss;
        std::printf("%s\n", j.dump(2).c_str());
        return;
    }
    std::printf("%s: %s split of %s, %lld images\n", a.checkpoint.c_str(), a.split.c_str(),
                a.data.c_str(), static_cast<long long>(r.images));
    std::printf("%s", format_metrics_table(r.metrics, m.class_names).c_str());
    std::printf("%-22s %8.4f\n", "loss (dense)", r.loss_dense);
    if (!a.labels.empty()) std::printf("%-22s %8.4f\n", "loss (--labels)", r.loss);
}

const bool registered = register_command(
    "eval", "metrics of a checkpoint on a dataset split (dense masks)", [](CLI::App& sub) {
        auto a = std::make_shared<EvalArgs>();
        sub.add_option("--checkpoint", a->checkpoint, "checkpoint file (best.ckpt / last.ckpt)")
            ->required();
        sub.add_option("--data", a->data, "dataset root")->required();
        sub.add_option("--split", a->split,
                       "test | val | train | all (split from the checkpoint's seed)")
            ->capture_default_str();
        sub.add_option("--labels", a->labels,
                       "also report the loss on this mask directory (sparse/linked)");
        sub.add_option("--batch-size", a->batch_size,
                       "images per batch (default: the training batch size)");
        sub.add_option("--device", a->device, "auto | cpu | cuda[:N]")->capture_default_str();
        sub.add_flag("--json", a->json, "print JSON instead of the table");
        sub.callback([a] { run_eval(*a); });
    });

}  // namespace
}  // namespace pfce::cli
