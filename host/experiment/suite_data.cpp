// Reading a suite's data: dataset, split, and every sample in use in memory, in parallel.
#include "host/experiment/suite_data.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/stopwatch.hpp"
#include "data/data_fingerprint.hpp"
#include "host/train/train_data.hpp"

namespace pfce {
namespace fs = std::filesystem;

std::string synthetic_data_dir(const DataSettings& d, const RunOptions& opts,
                               const std::string& out_dir) {
    if (!opts.data_path.empty()) return opts.data_path;
    return (fs::path(out_dir) / "data" /
            ("synthetic-" + std::to_string(d.synthetic_count) + "x" +
             std::to_string(d.synthetic_size) + "-s" + std::to_string(d.synthetic_seed)))
        .string();
}

DataSettings suite_data_settings(const Suite& suite, const RunOptions& opts,
                                 const std::string& out_dir) {
    DataSettings d = suite.data;
    if (d.source == "synthetic") {
        d.root = synthetic_data_dir(d, opts, out_dir);
    } else {
        if (!opts.data_path.empty()) d.root = opts.data_path;
        if (d.root.empty())
            PFCE_THROW(InputError, suite.file,
                       ": this suite reads a dataset: give its root with --data PATH (or "
                       "root = \"...\" in [data])");
    }
    return d;
}

nlohmann::json suite_data_identity(const DataSettings& d) {
    if (d.source == "synthetic") return nullptr;
    try {
        return data_identity(Dataset::open(d.root, dataset_options(d)));
    } catch (const InputError&) {
        return nullptr;
    }
}

LoadedData load_suite_data(const Suite& suite, const DataSettings& d, bool force) {
    const Stopwatch t0;
    LoadedData L;
    L.root = d.root;
    L.ds = std::make_unique<Dataset>(open_run_dataset(d, force));
    if (d.source != "synthetic") L.identity = data_identity(*L.ds);
    const Split split = run_split(*L.ds, d);
    for (const auto* part : {&split.train, &split.val, &split.test})
        L.indices.insert(L.indices.end(), part->begin(), part->end());
    std::sort(L.indices.begin(), L.indices.end());
    auto positions = [&](const std::vector<std::size_t>& part) {
        std::vector<std::size_t> out;
        for (std::size_t i : part)
            out.push_back(static_cast<std::size_t>(
                std::lower_bound(L.indices.begin(), L.indices.end(), i) - L.indices.begin()));
        return out;
    };
    L.split = {positions(split.train), positions(split.val), positions(split.test)};
    if (L.split.train.empty() || L.split.test.empty())
        PFCE_THROW(InputError, suite.file, ": ", L.indices.size(), " samples give ",
                   L.split.train.size(), " train / ", L.split.val.size(), " val / ",
                   L.split.test.size(), " test: too few for a run");
    std::vector<SampleData> all = load_samples(*L.ds, L.indices, "");
    for (std::size_t k = 0; k < L.indices.size(); ++k) {
        L.ids.push_back(L.ds->sample(L.indices[k]).id);
        L.images.push_back(std::move(all[k].image));
        L.dense.push_back(std::move(all[k].dense));
    }
    char buf[512];
    const int w = L.images[0].width, h = L.images[0].height;
    std::snprintf(
        buf, sizeof buf, "%s, %zu images of %dx%d at %s; split %zu/%zu/%zu (train/val/test, %s)",
        d.source == "synthetic"
            ? ("synthetic (seed " + std::to_string(d.synthetic_seed) + ")").c_str()
            : ("dataset (" + std::string(kDatasetKinds.name(L.ds->kind())) + ")").c_str(),
        L.indices.size(), w, h, L.root.c_str(), L.split.train.size(), L.split.val.size(),
        L.split.test.size(),
        d.train_list.empty() ? ("seed " + std::to_string(d.split_seed)).c_str() : "from lists");
    L.summary = buf;
    log_info("data: read ", L.indices.size(), " samples in ", t0.seconds(), " s: ", L.summary);
    return L;
}

}  // namespace pfce
