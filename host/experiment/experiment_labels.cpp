// Experiment labels through the sample and link stages, cached under OUT/cache.
#include "host/experiment/experiment_labels.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "core/log.hpp"
#include "core/parallel.hpp"
#include "core/stopwatch.hpp"
#include "data/linking.hpp"
#include "data/mask_dir.hpp"
#include "data/sparse_masks.hpp"
#include "host/train/checkpoint.hpp"
#include "host/train/progress.hpp"
#include "host/train/train_data.hpp"

namespace pfce {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string settings_key(const json& settings) {
    const std::string s = settings.dump();
    return hex64(fnv1a64(s.data(), s.size())).substr(0, 12);
}

std::vector<LabelMap> read_masks(const std::string& dir, const LoadedData& L) {
    const MaskDir md = open_mask_dir(dir);
    std::vector<LabelMap> out(L.ids.size());
    parallel_for(
        L.ids.size(), [&](std::size_t i) { out[i] = read_mask_png(md, L.ids[i], L.ds->palette()); },
        8);
    return out;
}

}  // namespace

ExperimentLabels make_experiment_labels(const ExperimentSpec& e, const LoadedData& L,
                                        Backend& backend, const std::string& out_dir,
                                        ExperimentResult& r, const std::string& tag) {
    ExperimentLabels lab;
    const LabelSettings& ls = e.config.labels;
    if (ls.kind == "dense") {
        lab.train = *L.dense;
        return lab;
    }
    const Stopwatch t0;
    SamplerOptions so;
    so.points = ls.points;
    so.scale_by_area = ls.scale_by_area;
    so.seed = ls.seed;
    const json sparse_settings = sparse_mask_settings(*L.ds, so);
    const std::string sparse_dir =
        (fs::path(out_dir) / "cache" / ("sparse-" + settings_key(sparse_settings))).string();
    const MaskStageResult s = make_sparse_masks(*L.ds, so, sparse_dir, /*force=*/true);
    lab.sparse = read_masks(sparse_dir, L);
    // The counts at the first image's size; images of other sizes get theirs (scaled by area).
    const std::string scaled = points_per_class_text(so, L.images[0].width, L.images[0].height);
    const bool one_size = std::all_of(L.images.begin(), L.images.end(), [&](const RgbImage& im) {
        return im.width == L.images[0].width && im.height == L.images[0].height;
    });
    log_info(tag, s.reused ? "sparse masks: reused " : "sampled ", scaled, " points/class at ",
             L.images[0].width, "x", L.images[0].height, " (", describe_labels(ls), " at 300x300",
             one_size || !so.scale_by_area ? "" : "; in proportion on other sizes", ") in ",
             format_seconds(t0.seconds()), " -> ", sparse_dir);
    r.stage_seconds["sample"] = t0.seconds();
    if (ls.kind == "sparse") {
        lab.train = lab.sparse;
        lab.dir = sparse_dir;
        return lab;
    }
    const Stopwatch t1;
    LinkDirOptions lo;
    lo.in_dir = sparse_dir;
    lo.data_root = L.root;
    lo.data_options = L.ds->options();
    lo.params = link_params(ls);
    lo.force = true;  // OUT's own cache
    json link_settings = link_settings_json(lo.params, sparse_dir, json::object());
    link_settings["sample"] = sparse_settings;
    lo.out_dir = (fs::path(out_dir) / "cache" / ("linked-" + settings_key(link_settings))).string();
    const LinkDirResult lr = link_mask_dir(backend, lo);
    lab.train = read_masks(lo.out_dir, L);
    lab.dir = lo.out_dir;
    log_info(tag, lr.reused ? "linked masks: reused " : "linked ", lr.stats.points,
             " points: ", lr.stats.pairs, " pairs within D=", ls.radius, ", ", lr.stats.segments,
             " segments drawn, in ", format_seconds(t1.seconds()), " -> ", lo.out_dir);
    r.stage_seconds["link"] = t1.seconds();
    return lab;
}

void label_statistics(const LoadedData& L, const ExperimentLabels& lab, const ExperimentSpec& e,
                      ExperimentResult& r, const std::string& tag) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const bool linked = e.config.labels.kind == "linked";
    std::int64_t pixels = 0, sparse_n = 0, train_n = 0, dense_n = 0;
    LinkQuality q;
    for (std::size_t k : L.split.train) {
        const LabelMap& t = lab.train[k];
        pixels += static_cast<std::int64_t>(t.labels.size());
        for (auto v : t.labels) train_n += v != 255;
        for (auto v : (*L.dense)[k].labels) dense_n += v != 255;
        if (!lab.sparse.empty())
            for (auto v : lab.sparse[k].labels) sparse_n += v != 255;
        if (linked) measure_link(lab.sparse[k], t, &(*L.dense)[k], q);
    }
    r.labelled_fraction = pixels ? static_cast<double>(train_n) / static_cast<double>(pixels) : nan;
    r.labelled_fraction_sparse = lab.sparse.empty()
                                     ? r.labelled_fraction
                                     : static_cast<double>(sparse_n) / static_cast<double>(pixels);
    r.link_purity = linked ? q.purity() : nan;
    char buf[256];
    if (linked)
        std::snprintf(
            buf, sizeof buf,
            "training split: %.3f%% labelled before linking, %.3f%% after (x%.1f), purity %.4f",
            100 * r.labelled_fraction_sparse, 100 * r.labelled_fraction,
            r.labelled_fraction / std::max(1e-12, r.labelled_fraction_sparse), r.link_purity);
    else
        std::snprintf(buf, sizeof buf, "training split: %.3f%% of pixels labelled",
                      100 * r.labelled_fraction);
    log_info(tag, buf);
    // Points that keep most of what the dense masks label are no sparse labels (as pfce train
    // says): the experiment compares a dense run under another name.
    if (e.config.labels.kind == "sparse")
        warn_if_points_are_dense(e.config.labels.points, train_n, dense_n, tag, "experiment");
}

}  // namespace pfce
