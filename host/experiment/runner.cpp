// The suite runner: data preparation once per suite, then per experiment the stages
// labels -> train -> test -> picture, each logged with its time; failures are caught per
// experiment and recorded, the report is written from every finished experiment at the end.
#include "host/experiment/runner.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>

#include "core/log.hpp"
#include "data/batch_loader.hpp"
#include "data/dataset.hpp"
#include "data/image_io.hpp"
#include "data/linking.hpp"
#include "data/mask_dir.hpp"
#include "data/sparse_sampler.hpp"
#include "data/synth.hpp"
#include "host/backend/backend_factory.hpp"
#include "host/experiment/picture_grid.hpp"
#include "host/experiment/report.hpp"
#include "host/experiment/results.hpp"
#include "host/experiment/text_file.hpp"
#include "host/train/checkpoint.hpp"
#include "host/train/evaluate.hpp"
#include "host/train/train_data.hpp"
#include "host/train/trained_model.hpp"
#include "host/train/trainer.hpp"

namespace pfce {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

std::string hex64(std::uint64_t h) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

std::string settings_key(const json& settings) {
    const std::string s = settings.dump();
    return hex64(fnv1a64(s.data(), s.size())).substr(0, 12);
}

// The whole dataset in memory (images and dense masks), with its split: read once per suite.
struct LoadedData {
    std::string root;
    std::unique_ptr<Dataset> ds;
    std::vector<std::size_t> indices;  // dataset indices in use (max_samples)
    std::vector<std::string> ids;      // sample ids, parallel to `indices`
    std::vector<RgbImage> images;
    std::vector<LabelMap> dense;
    Split split;  // positions into `indices`
    std::string summary;
};

std::string prepare_synthetic(const DataSpec& d, const std::string& dir, bool force) {
    SynthOptions so;
    so.out_dir = dir;
    so.count = d.count;
    so.size = d.size;
    so.seed = d.seed;
    const auto t0 = Clock::now();
    int last_logged = 0;
    const bool reused = prepare_synthetic_dataset(so, force, [&](int done, int total) {
        if (done == 1)
            log_info("data: generating ", total, " synthetic images of ", d.size, "x", d.size,
                     " (seed ", d.seed, ") into ", dir);
        if (done == total || done - last_logged >= std::max(1, total / 4)) {
            last_logged = done;
            log_info("data: ", done, "/", total, " images");
        }
    });
    if (reused)
        log_info("data: reusing synthetic dataset ", dir, " (", d.count, " images of ", d.size, "x",
                 d.size, ", seed ", d.seed, ")");
    else
        log_info("data: generated in ", seconds_since(t0), " s");
    return dir;
}

LoadedData load_data(const Suite& suite, const RunOptions& opts, const std::string& out_dir) {
    const DataSpec& d = suite.data;
    LoadedData L;
    if (d.source == "synthetic") {
        const std::string dir = !opts.data_path.empty()
                                    ? opts.data_path
                                    : (fs::path(out_dir) / "data" /
                                       ("synthetic-" + std::to_string(d.count) + "x" +
                                        std::to_string(d.size) + "-s" + std::to_string(d.seed)))
                                          .string();
        L.root = prepare_synthetic(d, dir, opts.force);
    } else {
        L.root = !opts.data_path.empty() ? opts.data_path : d.path;
        if (L.root.empty())
            PFCE_THROW(InputError, suite.file,
                       ": this suite reads a dataset: give its root with --data PATH (or "
                       "path = \"...\" in [data])");
    }
    DatasetOptions dopt;
    dopt.kind = parse_dataset_kind(d.kind);
    dopt.tile_patch = d.tile_patch;
    dopt.tile_stride = d.tile_stride;
    L.ds = std::make_unique<Dataset>(Dataset::open(L.root, dopt));
    std::size_t n = L.ds->size();
    if (d.max_samples > 0) n = std::min(n, static_cast<std::size_t>(d.max_samples));
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < n; ++i) L.indices.push_back(i);
    std::vector<SampleData> all = load_samples(*L.ds, L.indices, "");
    for (std::size_t i = 0; i < n; ++i) {
        L.ids.push_back(L.ds->sample(i).id);
        L.images.push_back(std::move(all[i].image));
        L.dense.push_back(std::move(all[i].dense));
    }
    L.split = make_split(n, d.split_seed, d.train_frac, d.val_frac);
    if (L.split.train.empty() || L.split.test.empty())
        PFCE_THROW(InputError, suite.file, ": ", n, " samples give ", L.split.train.size(),
                   " train / ", L.split.val.size(), " val / ", L.split.test.size(),
                   " test: too few for a run");
    char buf[512];
    const int w = L.images.empty() ? 0 : L.images[0].width,
              h = L.images.empty() ? 0 : L.images[0].height;
    std::snprintf(buf, sizeof buf,
                  "%s, %zu images of %dx%d at %s; split %zu/%zu/%zu (train/val/test, seed %llu)",
                  d.source == "synthetic"
                      ? ("synthetic (seed " + std::to_string(d.seed) + ")").c_str()
                      : ("dataset (" + d.kind + ")").c_str(),
                  n, w, h, L.root.c_str(), L.split.train.size(), L.split.val.size(),
                  L.split.test.size(), static_cast<unsigned long long>(d.split_seed));
    L.summary = buf;
    log_info("data: read ", n, " samples in ", seconds_since(t0), " s: ", L.summary);
    return L;
}

// Labels for every image of the dataset as one experiment trains with them, with their statistics.
struct Labels {
    std::vector<LabelMap> sparse;  // empty for dense experiments
    std::vector<LabelMap> train;   // what the loss sees
    std::string dir;               // cache directory of `train` (empty for dense)
};

std::vector<LabelMap> read_mask_dir_all(const std::string& dir, const std::vector<std::string>& ids,
                                        const Palette& palette) {
    const MaskDir md = open_mask_dir(dir);
    std::vector<LabelMap> out(ids.size());
    std::string error;
#pragma omp parallel for schedule(dynamic, 8)
    for (std::size_t i = 0; i < ids.size(); ++i) {
        try {
            out[i] = read_mask_png(md, ids[i], palette);
        } catch (const std::exception& e) {
#pragma omp critical(pfce_runner_read)
            if (error.empty()) error = e.what();
        }
    }
    if (!error.empty()) throw InputError(error, __FILE__, __LINE__);
    return out;
}

// A cached mask directory is reused when its recorded settings match exactly.
bool cache_matches(const std::string& dir, const json& settings) {
    if (!file_exists((fs::path(dir) / "masks.json").string())) return false;
    try {
        const MaskDir md = open_mask_dir(dir);  // an older format is made again, not read
        return md.format == 2 && md.meta.value("settings", json()) == settings;
    } catch (const Error&) {
        return false;
    }
}

Labels make_labels(const ExperimentSpec& e, const LoadedData& L, Backend& backend,
                   const std::string& out_dir, ExperimentResult& r, const std::string& tag) {
    Labels lab;
    const LabelSpec& ls = e.labels;
    if (ls.kind == LabelKind::dense) {
        lab.train = L.dense;
        return lab;
    }
    const Palette& pal = L.ds->palette();
    const auto t0 = Clock::now();
    SamplerOptions so;
    so.points = ls.points;
    so.scale_by_area = ls.scale_by_area;
    so.seed = ls.seed;
    validate_sampler_options(so);
    const int w = L.images[0].width, h = L.images[0].height;
    std::string scaled;
    for (std::size_t c = 0; c < ls.points.size(); ++c)
        scaled += (c ? "/" : "") + std::to_string(points_for_class(so, static_cast<int>(c), w, h));
    const json sparse_settings = {{"root", fs::absolute(L.root).lexically_normal().string()},
                                  {"ids", L.ids.size()},
                                  {"points", ls.points},
                                  {"scale_by_area", ls.scale_by_area},
                                  {"seed", ls.seed}};
    const std::string sparse_dir =
        (fs::path(out_dir) / "cache" / ("sparse-" + settings_key(sparse_settings))).string();
    if (cache_matches(sparse_dir, sparse_settings)) {
        lab.sparse = read_mask_dir_all(sparse_dir, L.ids, pal);
        log_info(tag, "sparse masks: reused ", sparse_dir);
    } else {
        lab.sparse = sample_sparse_all(L.dense, L.ids, so);
        json meta = {{"kind", "sparse"},    {"source", L.root},
                     {"points", ls.points}, {"scale_by_area", ls.scale_by_area},
                     {"seed", ls.seed},     {"settings", sparse_settings}};
        write_mask_dir(sparse_dir, L.ids, lab.sparse, pal, meta);
        log_info(tag, "sampled ", scaled, " points/class at ", w, "x", h, " (", describe_labels(ls),
                 " at 300x300) in ", seconds_since(t0), " s -> ", sparse_dir);
    }
    r.stage_seconds["sample"] = seconds_since(t0);
    if (ls.kind == LabelKind::sparse) {
        lab.train = lab.sparse;
        lab.dir = sparse_dir;
        return lab;
    }
    const auto t1 = Clock::now();
    json link_settings = sparse_settings;
    link_settings["radius"] = ls.link.radius;
    link_settings["conflict"] = ls.link.conflict == LinkConflict::lowest ? "lowest" : "unlabelled";
    link_settings["max_color_step"] = ls.link.max_color_step;
    lab.dir = (fs::path(out_dir) / "cache" / ("linked-" + settings_key(link_settings))).string();
    if (cache_matches(lab.dir, link_settings)) {
        lab.train = read_mask_dir_all(lab.dir, L.ids, pal);
        log_info(tag, "linked masks: reused ", lab.dir);
    } else {
        std::vector<RgbImage> no_images;
        const LinkStats st =
            link_label_maps(backend, lab.sparse, ls.link.max_color_step >= 0 ? L.images : no_images,
                            ls.link, lab.train);
        json meta = {{"kind", "linked"},         {"source", L.root},
                     {"radius", ls.link.radius}, {"max_color_step", ls.link.max_color_step},
                     {"points", st.points},      {"pairs", st.pairs},
                     {"segments", st.segments},  {"settings", link_settings}};
        write_mask_dir(lab.dir, L.ids, lab.train, pal, meta);
        log_info(tag, "linked ", st.points, " points: ", st.pairs,
                 " pairs within D=", ls.link.radius, ", ", st.segments, " segments drawn, in ",
                 seconds_since(t1), " s -> ", lab.dir);
    }
    r.stage_seconds["link"] = seconds_since(t1);
    return lab;
}

void label_statistics(const LoadedData& L, const Labels& lab, const ExperimentSpec& e,
                      ExperimentResult& r, const std::string& tag) {
    std::int64_t pixels = 0, sparse_n = 0, train_n = 0;
    LinkQuality q;
    for (std::size_t k : L.split.train) {
        const LabelMap& t = lab.train[k];
        pixels += static_cast<std::int64_t>(t.labels.size());
        for (auto v : t.labels) train_n += v != kUnlabelled;
        if (!lab.sparse.empty())
            for (auto v : lab.sparse[k].labels) sparse_n += v != kUnlabelled;
        if (e.labels.kind == LabelKind::linked) measure_link(lab.sparse[k], t, &L.dense[k], q);
    }
    r.labelled_fraction =
        pixels ? static_cast<double>(train_n) / static_cast<double>(pixels) : kNaN;
    r.labelled_fraction_sparse = lab.sparse.empty()
                                     ? r.labelled_fraction
                                     : static_cast<double>(sparse_n) / static_cast<double>(pixels);
    r.link_purity = e.labels.kind == LabelKind::linked ? q.purity() : kNaN;
    char buf[256];
    if (e.labels.kind == LabelKind::linked)
        std::snprintf(
            buf, sizeof buf,
            "training split: %.3f%% labelled before linking, %.3f%% after (x%.1f), purity %.4f",
            100 * r.labelled_fraction_sparse, 100 * r.labelled_fraction,
            r.labelled_fraction / std::max(1e-12, r.labelled_fraction_sparse), r.link_purity);
    else
        std::snprintf(buf, sizeof buf, "training split: %.3f%% of pixels labelled",
                      100 * r.labelled_fraction);
    log_info(tag, buf);
}

std::vector<SampleData> samples_for(const LoadedData& L, const Labels& lab,
                                    const std::vector<std::size_t>& pos) {
    std::vector<SampleData> out(pos.size());
    for (std::size_t i = 0; i < pos.size(); ++i) {
        out[i].image = L.images[pos[i]];
        out[i].train_labels = lab.train[pos[i]];
        out[i].dense = L.dense[pos[i]];
    }
    return out;
}

std::vector<EpochRecord> read_epochs(const std::string& path) {
    std::vector<EpochRecord> epochs;
    std::ifstream in(path);
    if (!in) PFCE_THROW(InputError, path, ": cannot open the training metrics");
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        json j;
        try {
            j = json::parse(line);
        } catch (const json::exception& ex) {
            PFCE_THROW(InputError, path, ": bad line (", ex.what(), ")");
        }
        EpochRecord e;
        e.epoch = j.at("epoch").get<int>();
        e.train_loss = number_from_json(j.value("train_loss", json()));
        e.val_loss = number_from_json(j.value("val_loss", json()));
        e.val_loss_dense = number_from_json(j.value("val_loss_dense", json()));
        e.val_miou = number_from_json(j.value("val_miou", json()));
        e.lr = number_from_json(j.value("lr", json()));
        e.seconds = number_from_json(j.value("time_s", json()));
        epochs.push_back(e);
    }
    return epochs;
}

ExperimentResult run_experiment(const ExperimentSpec& e, const Suite& suite, const LoadedData& L,
                                Backend& backend, const std::string& out_dir,
                                const RunOptions& opts, const std::string& tag) {
    const auto t_start = Clock::now();
    ExperimentResult r;
    r.id = e.id;
    r.description = e.description;
    r.labels = describe_labels(e.labels);
    r.report_figure = e.report_figure;
    r.device = backend.name();
    const Palette& pal = L.ds->palette();
    for (const auto& c : pal.classes) r.class_names.push_back(c.name);
    const fs::path exp_dir = fs::path(out_dir) / e.id;
    fs::create_directories(exp_dir);

    // Labels.
    log_info(tag, "labels: ", r.labels);
    const Labels lab = make_labels(e, L, backend, out_dir, r, tag);
    label_statistics(L, lab, e, r, tag);

    // Training.
    TrainConfig cfg = e.train;
    cfg.data = L.root;
    cfg.labels = lab.dir;
    cfg.out = (exp_dir / "train").string();
    cfg.device = opts.device;
    cfg.train_frac = suite.data.train_frac;
    cfg.val_frac = suite.data.val_frac;
    cfg.split_seed = suite.data.split_seed;
    cfg.max_samples = suite.data.max_samples;
    TrainInputs in;
    in.train = samples_for(L, lab, L.split.train);
    in.val = samples_for(L, lab, L.split.val);
    std::vector<const RgbImage*> imgs;
    for (const auto& s : in.train) imgs.push_back(&s.image);
    in.stats = compute_channel_stats(imgs);
    for (const auto& c : pal.classes) {
        in.class_names.push_back(c.name);
        in.class_colours.push_back(c.colour);
    }
    in.clutter_class = find_clutter_class(pal);
    in.label_kind = label_kind_name(e.labels.kind);
    in.data_meta = {{"root", L.root},
                    {"labels", lab.dir},
                    {"experiment", e.id},
                    {"suite", suite.file},
                    {"train", L.split.train.size()},
                    {"val", L.split.val.size()},
                    {"test", L.split.test.size()}};
    log_info(tag, "training: ", cfg.epochs, " epochs, ", cfg.optimizer, " lr ", cfg.lr,
             ", weight decay ", cfg.weight_decay, ", schedule ", cfg.schedule, ", clip ", cfg.clip,
             ", batch ", cfg.batch_size, ", U-Net depth ", cfg.depth, " width ", cfg.width);
    const auto t_train = Clock::now();
    TrainOptions to;
    to.force = true;  // a rerun starts over (finished experiments were skipped before getting here)
    to.tty = opts.tty;
    const TrainResult tr = train_unet(backend, cfg, in, to);
    r.stage_seconds["train"] = seconds_since(t_train);
    if (tr.interrupted)
        PFCE_THROW(InputError, "training was interrupted after ", tr.epochs_completed, " epochs");
    r.epochs = read_epochs(tr.metrics_path);
    if (r.epochs.empty()) PFCE_THROW(InputError, tr.metrics_path, ": no epoch was recorded");
    r.final_train_loss = r.epochs.back().train_loss;

    // The evaluated checkpoint and the validation numbers at its epoch.
    const bool use_best =
        e.evaluate == "best" && tr.best_epoch > 0 && file_exists(tr.best_checkpoint);
    r.selected_epoch = use_best ? tr.best_epoch : r.epochs.back().epoch;
    for (const auto& ep : r.epochs)
        if (ep.epoch == r.selected_epoch) {
            r.val_loss = ep.val_loss;
            r.val_loss_dense = ep.val_loss_dense;
            r.val_miou = ep.val_miou;
        }
    const std::string ckpt = use_best ? tr.best_checkpoint : tr.last_checkpoint;
    log_info(tag, "testing ", use_best ? "the best-validation" : "the last", " checkpoint (epoch ",
             r.selected_epoch, ") on ", L.split.test.size(), " test images");
    const auto t_test = Clock::now();
    TrainedModel tm = load_trained_model(backend, ckpt);
    const std::vector<SampleData> test = samples_for(L, lab, L.split.test);
    const EvalResult ev = evaluate(backend, *tm.net, test, tm.stats, cfg.batch_size,
                                   focal_params(cfg), in.clutter_class, cfg.prefetch);
    r.test = ev.metrics;
    r.stage_seconds["test"] = seconds_since(t_test);
    char buf[256];
    std::snprintf(buf, sizeof buf, "test mIoU %.4f (w/o clutter %.4f), OA %.4f, mean F1 %.4f",
                  r.test.miou, r.test.miou_no_clutter, r.test.oa, r.test.mean_f1);
    log_info(tag, buf);

    // Picture grid of the first few test images.
    if (suite.grid_images > 0) {
        const auto t_grid = Clock::now();
        std::vector<GridRow> rows;
        const std::size_t k =
            std::min<std::size_t>(static_cast<std::size_t>(suite.grid_images), L.split.test.size());
        for (std::size_t i = 0; i < k; ++i) {
            const std::size_t p = L.split.test[i];
            GridRow row;
            row.image = L.images[p];
            row.dense = L.dense[p];
            row.sparse = lab.sparse.empty() ? L.dense[p] : lab.sparse[p];
            row.train = lab.train[p];
            row.prediction = predict_labels(backend, *tm.net, L.images[p], tm.stats);
            rows.push_back(std::move(row));
        }
        const std::string rel = e.id + "/grid.png";
        write_png((fs::path(out_dir) / rel).string(), compose_picture_grid(rows, pal));
        r.grid_png = rel;
        r.stage_seconds["grid"] = seconds_since(t_grid);
    }
    r.wall_seconds = seconds_since(t_start);
    return r;
}

std::string result_path(const std::string& out_dir, const std::string& id) {
    return (fs::path(out_dir) / id / "result.json").string();
}

}  // namespace

std::string default_out_dir(const Suite& suite) {
    return (fs::path("runs") / suite.name).string();
}

RunSummary run_suite(const Suite& suite, const RunOptions& opts) {
    RunSummary sum;
    sum.out_dir = opts.out_dir.empty() ? default_out_dir(suite) : opts.out_dir;
    fs::create_directories(sum.out_dir);
    for (const auto& id : opts.only) {
        bool known = false;
        for (const auto& e : suite.experiments) known = known || e.id == id;
        if (!known) {
            std::string ids;
            for (const auto& e : suite.experiments) ids += (ids.empty() ? "" : ", ") + e.id;
            PFCE_THROW(InputError, "--only ", id, ": no such experiment in ", suite.file,
                       " (it has ", ids, ")");
        }
    }
    DataSpec data = suite.data;
    if (data.source == "dataset" && !opts.data_path.empty()) data.path = opts.data_path;

    // Decide what runs: finished experiments with the same settings are skipped.
    struct Plan {
        const ExperimentSpec* spec;
        json fingerprint;
        bool run = false;
        std::optional<ExperimentResult> result;
    };
    std::vector<Plan> plans;
    int to_run = 0;
    for (const auto& e : suite.experiments) {
        Plan p{&e, experiment_fingerprint(e, data), false, std::nullopt};
        const bool selected = opts.only.empty() || std::find(opts.only.begin(), opts.only.end(),
                                                             e.id) != opts.only.end();
        const std::string rp = result_path(sum.out_dir, e.id);
        std::optional<ExperimentResult> old;
        if (file_exists(rp)) {
            try {
                old = read_result(rp);
            } catch (const Error& ex) {
                log_warn(e.id, ": ignoring unreadable ", rp, ": ", ex.what());
            }
        }
        const bool finished = old && old->status == "ok";
        if (selected && finished && !opts.force && old->config != p.fingerprint) {
            ExperimentResult stale = *old;
            stale.status = "failed";
            stale.error = "OUT holds results of this id made with other settings (" + rp +
                          "); rerun with --force to replace them, or use another --out";
            log_warn(e.id, ": ", stale.error);
            p.result = stale;
            ++sum.failed;
        } else if (selected && (!finished || opts.force)) {
            p.run = true;
            ++to_run;
        } else if (old) {
            if (selected) {
                log_info(e.id, ": finished earlier (", rp, "), skipped; --force reruns it");
                ++sum.skipped;
            }
            p.result = old;
        }
        plans.push_back(std::move(p));
    }

    std::optional<LoadedData> L;
    std::unique_ptr<Backend> backend;
    std::string device_name;
    if (to_run > 0) {
        backend = make_backend(opts.device);
        device_name = backend->name();
        log_info("suite ", suite.name, ": ", to_run, " of ", suite.experiments.size(),
                 " experiments to run on ", device_name, ", output in ", sum.out_dir);
        Suite s2 = suite;
        s2.data = data;
        L = load_data(s2, opts, sum.out_dir);
    }
    int k = 0;
    for (auto& p : plans) {
        if (!p.run) continue;
        ++k;
        const std::string tag =
            "[" + std::to_string(k) + "/" + std::to_string(to_run) + " " + p.spec->id + "] ";
        const auto t0 = Clock::now();
        ExperimentResult r;
        try {
            r = run_experiment(*p.spec, suite, *L, *backend, sum.out_dir, opts, tag);
            ++sum.ran;
            log_info(tag, "done in ", seconds_since(t0), " s");
        } catch (const std::exception& ex) {
            r = ExperimentResult{};
            r.id = p.spec->id;
            r.description = p.spec->description;
            r.labels = describe_labels(p.spec->labels);
            r.report_figure = p.spec->report_figure;
            r.status = "failed";
            r.error = ex.what();
            r.device = device_name;
            r.wall_seconds = seconds_since(t0);
            ++sum.failed;
            log_warn(tag, "FAILED: ", r.error, " (the other experiments still run)");
        }
        r.config = p.fingerprint;
        write_result(result_path(sum.out_dir, r.id), r);
        p.result = r;
    }

    // The report, from every experiment with a result (suite order).
    ReportInput in;
    in.title = suite.name;
    in.description = suite.description;
    in.suite_file = suite.file;
    in.device = device_name;
    in.generated_at = utc_now();
    in.data_summary = L ? L->summary : std::string();
    for (auto& p : plans) {
        if (!p.result) continue;
        if (in.device.empty()) in.device = p.result->device;
        in.results.push_back(*p.result);
    }
    if (in.data_summary.empty()) {
        // Nothing ran now: describe the data from the suite.
        in.data_summary = data.source == "synthetic"
                              ? "synthetic, " + std::to_string(data.count) + " images of " +
                                    std::to_string(data.size) + "x" + std::to_string(data.size) +
                                    " (seed " + std::to_string(data.seed) + ")"
                              : "dataset at " + data.path;
    }
    in.clutter_class = kPotsdamClutter;
    if (L) in.clutter_class = find_clutter_class(L->ds->palette());
    write_report(sum.out_dir, in);
    sum.report_md = (fs::path(sum.out_dir) / "report.md").string();
    sum.report_html = (fs::path(sum.out_dir) / "report.html").string();
    log_info("suite ", suite.name, ": ", sum.ran, " ran, ", sum.skipped, " skipped, ", sum.failed,
             " failed; report: ", sum.report_md, " and ", sum.report_html);
    return sum;
}

}  // namespace pfce
