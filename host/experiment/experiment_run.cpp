// run_experiment: labels -> train (or resume) -> test -> picture grid.
#include "host/experiment/experiment_run.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "core/file_io.hpp"
#include "core/log.hpp"
#include "core/source_version.hpp"
#include "core/stop_signal.hpp"
#include "core/stopwatch.hpp"
#include "data/data_fingerprint.hpp"
#include "data/ground_pixel_size.hpp"
#include "data/image_io.hpp"
#include "host/experiment/experiment_labels.hpp"
#include "host/experiment/picture_grid.hpp"
#include "host/experiment/run_curves.hpp"
#include "host/train/checkpoint.hpp"
#include "host/train/evaluate.hpp"
#include "host/train/image_scores.hpp"
#include "host/train/memory_estimate.hpp"
#include "host/train/sliding_window.hpp"
#include "host/train/train_data.hpp"
#include "host/train/trained_model.hpp"
#include "host/train/trainer.hpp"

namespace pfce {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// `scored` (validation, test): as load_samples' (a tile's pixel labelled only in the window that
// owns it), so that metrics and losses count it once.
std::vector<SampleData> samples_for(const LoadedData& L, const ExperimentLabels& lab,
                                    const std::vector<std::size_t>& pos, bool scored) {
    std::vector<SampleData> out(pos.size());
    for (std::size_t i = 0; i < pos.size(); ++i) {
        out[i].image = L.images[pos[i]];
        if (pos[i] < L.no_data.size()) out[i].no_data = L.no_data[pos[i]];
        out[i].train_labels = lab.train[pos[i]];
        out[i].dense = (*L.dense)[pos[i]];
        // The labels drawn or linked from the dense masks (no point there) or read from a cache
        // made before: none on a pixel without data either (review).
        if (!out[i].no_data.empty())
            Dataset::unlabel_no_data(out[i].no_data, {&out[i].train_labels, &out[i].dense});
        if (!scored || !L.ds) continue;
        const SampleRef& ref = L.ds->sample(L.indices[pos[i]]);
        unlabel_pixels_owned_elsewhere(out[i].dense, ref);
        unlabel_pixels_owned_elsewhere(out[i].train_labels, ref);
    }
    return out;
}

std::vector<EpochRecord> read_epochs(const std::string& path) {
    std::vector<EpochRecord> epochs;
    std::istringstream in(read_whole_file(path));
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
        e.train_crf_loss = number_from_json(j.value("train_crf_loss", json()));
        e.val_loss = number_from_json(j.value("val_loss", json()));
        e.val_loss_dense = number_from_json(j.value("val_loss_dense", json()));
        e.val_miou = number_from_json(j.value("val_miou", json()));
        e.lr = number_from_json(j.value("lr", json()));
        e.seconds = number_from_json(j.value("time_s", json()));
        epochs.push_back(e);
    }
    return epochs;
}

// What keeps a stored training from being resumed as one of `cfg` on data of `identity` (a
// dataset suite's; null for synthetic data, which its settings make).
std::vector<std::string> training_changes(const StoredRun& stored, const Config& cfg,
                                          const json& identity, const std::string& out_dir) {
    const std::string data_change = data_identity_change(stored.data_identity, identity);
    // Where the data and the labels lie is not what they are: a suite's labels are made in its
    // run directory from the labels.* settings (compared here; their pixels by the trainer's
    // label counts), its data is made from its settings (synthetic) or compared by its files. A
    // run directory moved or copied, or the data moved, resumes (it was kept as "other settings").
    const bool same_data =
        (stored.config.data.source == "synthetic" && cfg.data.source == "synthetic") ||
        (stored.data_identity.is_object() && identity.is_object() && data_change.empty());
    // The suite's labels at another path are taken where the run recorded their counts, or where
    // they lie in this run directory (a run of an older pfce, which records none, resumed in
    // place).
    const bool labels_here =
        stored.records_label_counts ||
        path_is_inside(stored.config.labels.dir, (fs::path(out_dir) / "cache").string());
    std::vector<std::string> diff;
    for (std::string& line : differing_result_keys(stored.config, cfg))
        if (!(labels_here && line.rfind("labels.dir:", 0) == 0) &&
            !(same_data && line.rfind("data.root:", 0) == 0))
            diff.push_back(std::move(line));
    // `pfce train --resume --epochs N` may lengthen a run, but the schedule (cosine, the
    // plateau's patience) depends on the epoch count: a suite's result must be what a run of
    // its current settings gives from the start, so another count starts over.
    if (stored.config.run.epochs < cfg.run.epochs)  // fewer are in `diff` already
        diff.push_back("run.epochs: " + std::to_string(stored.config.run.epochs) + " -> " +
                       std::to_string(cfg.run.epochs));
    if (!data_change.empty()) diff.push_back("the data: " + data_change + " since");
    return diff;
}

// An interrupted training of these very settings on this very data in `dir` is resumed, not
// started over: a suite's result is what its current settings give on its current data.
bool can_resume(const std::string& dir, const Config& cfg, const nlohmann::json& identity,
                const std::string& tag) {
    const std::string last = (fs::path(dir) / "last.ckpt").string();
    if (!fs::exists(last)) return false;
    try {
        const std::vector<std::string> diff =
            training_changes(stored_run(dir), cfg, identity,
                             fs::path(dir).parent_path().parent_path().string());  // OUT/<id>/train
        if (diff.empty()) return true;
        // Reached after a failure (plan_runs keeps an interrupted training of other settings or
        // data otherwise; --force does not ask).
        log_info(tag, "the training in ", dir, " had other settings or data (", diff.front(),
                 diff.size() > 1 ? ", ..." : "", "): starting over");
    } catch (const Error& e) {
        log_warn(tag, "cannot resume ", dir, " (", e.what(), "): starting over");
    }
    return false;
}

// Resamples of the test mIoU's bootstrap interval (image_scores.hpp): 1000 draws of the confusion
// matrices of a few dozen images take milliseconds.
constexpr int kReportBootstrapResamples = 1000;

// The picture grid of the first suite.grid_images test images (their sliding windows as the test
// split's) into OUT/<id>/grid.png, written whole or not at all; with none asked, no grid (an
// earlier one is removed). Sets r.grid_png, r.grid_images (the count it was drawn for) and
// r.stage_seconds["grid"].
void draw_picture_grid(const ExperimentSpec& e, const Suite& suite, const LoadedData& L,
                       const ExperimentLabels& lab, Backend& backend, const TrainedModel& tm,
                       const std::string& out_dir, ExperimentResult& r) {
    const std::size_t k = std::min<std::size_t>(
        static_cast<std::size_t>(std::max(suite.grid_images, 0)), L.split.test.size());
    if (k == 0) {
        remove_picture_grid(e, out_dir, r);
        r.grid_images = suite.grid_images;
        return;
    }
    // The earlier grid stays until the new one is written (write_png is atomic): a failure here
    // leaves the report showing it, as the runner says.
    const Stopwatch t_grid;
    std::vector<GridRow> rows;
    SlidingWindow sw;
    sw.window = eval_options(e.config).window;
    sw.overlap = default_overlap(sw.window);  // the struct's 128 is more than a crop of 96
    for (std::size_t i = 0; i < k; ++i) {
        const std::size_t p = L.split.test[i];
        GridRow row;
        row.id = L.ids[p];
        row.image = colour_channels(L.images[p]);  // what a picture shows of more bands
        row.dense = (*L.dense)[p];
        row.sparse = lab.sparse.empty() ? row.dense : lab.sparse[p];
        row.sparse_are_points = !lab.sparse.empty();
        row.train = lab.train[p];
        // As predict: pixels without data filled with the training mean, and left without a class.
        static const std::vector<std::uint8_t> all_data;
        const std::vector<std::uint8_t>& none = p < L.no_data.size() ? L.no_data[p] : all_data;
        RgbImage seen = L.images[p];
        fill_no_data(seen, none, tm.stats);
        row.prediction = predict_sliding(backend, *tm.net, seen, tm.stats, sw);
        for (std::size_t px = 0; px < none.size() && px < row.prediction.labels.size(); ++px)
            if (none[px]) row.prediction.labels[px] = 255;
        row.score = prediction_score(row.dense, row.prediction, L.ds->palette().num_classes(),
                                     find_clutter_class(L.ds->palette()));
        rows.push_back(std::move(row));
    }
    const std::string rel = e.id + "/grid.png";
    write_png((fs::path(out_dir) / rel).string(), titled_picture_grid(rows, L.ds->palette()));
    r.grid_png = rel;
    r.grid_images = suite.grid_images;
    r.stage_seconds["grid"] = t_grid.seconds();
}

}  // namespace

std::vector<std::string> interrupted_training_changes(const std::string& train_dir,
                                                      const Config& cfg, const json& identity) {
    std::error_code ec;
    if (!fs::exists(fs::path(train_dir) / "last.ckpt", ec)) return {};
    try {
        return training_changes(stored_run(train_dir), cfg, identity,
                                fs::path(train_dir).parent_path().parent_path().string());
    } catch (const Error&) {
        return {};  // run_experiment says why it cannot resume, and starts over
    }
}

void check_experiment_fits_images(const ExperimentSpec& e, const LoadedData& L) {
    Split in_dataset;  // L.split holds positions into L.indices
    for (auto [from, to] :
         {std::pair{&L.split.train, &in_dataset.train}, std::pair{&L.split.val, &in_dataset.val},
          std::pair{&L.split.test, &in_dataset.test}})
        for (std::size_t p : *from) to->push_back(L.indices[p]);
    check_sizes_fit_unet(*L.ds, in_dataset, e.config.model.depth, e.config.data.crop_size);
    check_training_sizes(*L.ds, in_dataset, e.config.data.crop_size, /*say_padding=*/false);
}

ExperimentResult run_experiment(const ExperimentSpec& e, const Suite& suite, const LoadedData& L,
                                Backend& backend, const std::string& out_dir,
                                const RunOptions& opts, const std::string& tag) {
    const Stopwatch t_start;
    ExperimentResult r;
    r.id = e.id;
    r.group = e.group;
    r.seed = e.seed;
    r.description = e.description;
    r.labels = describe_labels(e.config.labels);
    r.report_figure = e.report_figure;
    r.device = backend.name();
    r.pfce = pfce_version_text();
    const Palette& pal = L.ds->palette();
    for (const auto& c : pal.classes) r.class_names.push_back(c.name);
    // Before its labels are sampled and linked (the suite checked it before the first experiment
    // ran; the data is read again for each): images this U-Net or crop cannot take.
    check_experiment_fits_images(e, L);
    const fs::path exp_dir = fs::path(out_dir) / e.id;
    fs::create_directories(exp_dir);

    log_info(tag, "labels: ", r.labels);
    const ExperimentLabels lab = make_experiment_labels(e, L, backend, out_dir, r, tag);
    label_statistics(L, lab, e, r, tag);
    if (stop_requested()) {
        r.status = "interrupted";
        return r;
    }

    // Training.
    Config cfg = e.config;
    cfg.data.root = L.root;
    cfg.labels.dir = lab.dir;
    cfg.run.out = (exp_dir / "train").string();
    cfg.run.device = opts.device;
    TrainInputs in;
    in.train = samples_for(L, lab, L.split.train, /*scored=*/false);
    in.val = samples_for(L, lab, L.split.val, /*scored=*/true);
    in.stats = training_channel_stats(in.train, in.val);
    for (const auto& c : pal.classes) {
        in.class_names.push_back(c.name);
        in.class_colours.push_back(c.colour);
    }
    in.unlabelled_colours = pal.unlabelled_colours;
    in.clutter_class = find_clutter_class(pal);
    in.mask_values = recorded_mask_values(*L.ds);
    in.label_kind = cfg.labels.kind;
    for (std::size_t p : L.split.train) in.train_ids.push_back(L.ids[p]);
    for (std::size_t p : L.split.val) in.val_ids.push_back(L.ids[p]);
    for (std::size_t p : L.split.test) in.test_ids.push_back(L.ids[p]);
    // Absolute, so that `pfce eval` of this checkpoint finds the data from any directory (the
    // config keeps the suite's own paths: a moved suite resumes where it now is).
    const auto absolute = [](const std::string& p) {
        return p.empty() ? p : fs::absolute(p).lexically_normal().string();
    };
    in.data_meta = {{"root", absolute(L.root)},
                    {"labels", absolute(lab.dir)},
                    {"experiment", e.id},
                    {"suite", suite.file},
                    {"train", in.train.size()},
                    {"val", in.val.size()},
                    {"test", in.test_ids.size()},
                    {"identity", L.files},
                    {"gray_images", training_images_gray(in.train)},
                    {"image_kinds", training_image_kinds(in.train)}};
    check_training_sizes(in.train, in.train_ids, cfg.data.crop_size);
    // The samples are in memory already: what is available now has them taken out, so they are
    // added back (counted twice, a suite on a machine without swap was refused: review).
    const TrainingFootprint footprint = training_footprint(in.train, in.val, cfg.data.crop_size);
    const MachineMemory mem = machine_memory();
    check_training_memory(footprint, cfg, backend.device(), mem.total,
                          mem.available > 0 ? mem.available + footprint.data_bytes : 0.0,
                          /*resuming=*/false, mem.swap);
    warn_if_gray_and_colour_mixed(in.train, in.train_ids);
    in.data_meta["constant_channels"] = warn_if_a_channel_never_varies(in.train, cfg.data.bands);
    {
        std::vector<std::string> paths;
        for (std::size_t p : L.split.train) paths.push_back(L.ds->sample(L.indices[p]).image_path);
        in.data_meta["ground_pixel_size"] = common_ground_pixel_size(paths);
    }
    // As pfce train refuses them: one class, or no labelled pixel to train on.
    check_class_count(pal, L.root);
    const std::vector<std::int64_t> train_counts =
        training_label_counts(in.train, pal.num_classes());
    // What the labels hold, as pfce train records it: a run directory moved or copied resumes on
    // its labels at their new path where these are the run's (the trainer compares them).
    in.data_meta["label_counts"] = {{"train", train_counts},
                                    {"val", training_label_counts(in.val, pal.num_classes())}};
    check_training_labels(
        train_counts, pal, in.train.size(),
        lab.dir.empty() ? "the dense masks of " + L.root : lab.dir,
        cfg.loss.alpha_auto || cfg.loss.crf_weight > 0 ? std::vector<double>{} : cfg.loss.alpha,
        cfg.model.init_from);
    const OptimizerSettings& o = cfg.optimizer;
    log_info(tag, "training: ", cfg.run.epochs, " epochs, ", o.name, " lr ", o.lr,
             ", weight decay ", o.weight_decay, ", schedule ", cfg.schedule.name, ", clip ", o.clip,
             ", batch ", cfg.run.batch_size, ", U-Net depth ", cfg.model.depth, " width ",
             cfg.model.width);
    const Stopwatch t_train;
    TrainOptions to;
    to.resume = !opts.force && can_resume(cfg.run.out, cfg, L.identity, tag);
    to.force = !to.resume;  // finished experiments were skipped before getting here
    r.resumed = to.resume;
    to.tty = opts.tty;
    to.continue_with = "the same pfce run";
    to.on_metrics = [&cfg, &e] {
        const fs::path run(cfg.run.out);
        write_run_curves((run / "metrics.jsonl").string(), (run / kRunCurvesFile).string(),
                         e.id + ": " + e.description, run_settings_summary(cfg));
    };
    const TrainResult tr = train_unet(backend, cfg, in, to);
    r.stage_seconds["train"] = t_train.seconds();
    if (tr.interrupted) {
        r.status = "interrupted";
        return r;
    }
    r.epochs = read_epochs(tr.metrics_path);
    if (r.epochs.empty()) PFCE_THROW(InputError, tr.metrics_path, ": no epoch was recorded");
    r.final_train_loss = r.epochs.back().train_loss;

    // The evaluated checkpoint and the validation numbers at its epoch.
    const bool use_best =
        cfg.run.evaluate == "best" && tr.best_epoch > 0 && fs::exists(tr.best_checkpoint);
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
    const Stopwatch t_test;
    TrainedModel tm = load_trained_model(backend, ckpt);
    std::vector<SampleData> test = samples_for(L, lab, L.split.test, /*scored=*/true);
    fill_no_data(test, tm.stats);
    EvalOptions test_options = eval_options(cfg);
    test_options.per_image = true;  // for the interval of the mIoU
    const EvalResult ev = evaluate(backend, *tm.net, test, tm.stats, focal_params(tm.config),
                                   in.clutter_class, test_options);
    r.test = ev.metrics;
    // The units a bootstrap draws (a tile's windows together: they are alike), kept for the
    // report's paired comparisons of experiments tested on the same units.
    std::vector<std::string> ids;
    for (const std::size_t p : L.split.test) ids.push_back(L.ids[p]);
    const bool by_tile = L.ds->kind() == DatasetKind::tiles;
    std::vector<std::string> unit_ids = ids;
    const std::vector<std::vector<std::int64_t>> units =
        by_tile ? confusions_by_tile(ids, ev.image_confusion, &unit_ids) : ev.image_confusion;
    for (std::size_t k = 0; k < units.size(); ++k) r.test_units.push_back({unit_ids[k], units[k]});
    // How much the score depends on which images were tested (a split of a few test images).
    try {
        const MiouInterval ci = bootstrap_miou(units, static_cast<int>(pal.classes.size()),
                                               in.clutter_class, kReportBootstrapResamples);
        r.test_miou_ci95 = {ci.lo, ci.hi};
        r.test_miou_ci95_units = static_cast<int>(ci.images);
        r.test_iou_ci95_lo = ci.class_lo;  // each class's, from the same draws
        r.test_iou_ci95_hi = ci.class_hi;
        if (const std::string few =
                few_bootstrap_units_note(ci.images, by_tile ? "test tiles" : "test images");
            !few.empty())
            log_warn(tag, "the interval of the test mIoU is ", few);
    } catch (const InputError& why) {
        log_info(tag, "no interval of the test mIoU: ", why.what());
    }
    r.stage_seconds["test"] = t_test.seconds();
    char buf[256];
    std::snprintf(buf, sizeof buf, "test mIoU %.4f, OA %.4f, mean F1 %.4f", r.test.miou, r.test.oa,
                  r.test.mean_f1);
    if (in.clutter_class >= 0)
        std::snprintf(buf, sizeof buf, "test mIoU %.4f (w/o %s %.4f), OA %.4f, mean F1 %.4f",
                      r.test.miou,
                      pal.classes[static_cast<std::size_t>(in.clutter_class)].name.c_str(),
                      r.test.miou_no_clutter, r.test.oa, r.test.mean_f1);
    log_info(tag, buf);

    draw_picture_grid(e, suite, L, lab, backend, tm, out_dir, r);
    r.wall_seconds = t_start.seconds();
    return r;
}

}  // namespace pfce

namespace pfce {

void remove_picture_grid(const ExperimentSpec& e, const std::string& out_dir, ExperimentResult& r) {
    std::error_code ec;
    fs::remove(fs::path(out_dir) / e.id / "grid.png", ec);  // pfce's picture, of an earlier run
    r.grid_png.clear();
    r.grid_images = 0;
    r.stage_seconds.erase("grid");
}

std::string tested_checkpoint(const std::string& out_dir, const std::string& id,
                              const ExperimentResult& r) {
    // The last epoch's weights are last.ckpt's (and best.ckpt's too where that epoch was the
    // best), an earlier one's best.ckpt's.
    const bool last = r.epochs.empty() || r.selected_epoch == r.epochs.back().epoch;
    return (fs::path(out_dir) / id / "train" / (last ? "last.ckpt" : "best.ckpt")).string();
}

void redraw_picture_grid(const ExperimentSpec& e, const Suite& suite, const LoadedData& L,
                         Backend& backend, const std::string& out_dir, ExperimentResult& r,
                         const std::string& tag) {
    // The checkpoint run_experiment tested.
    const std::string ckpt = tested_checkpoint(out_dir, e.id, r);
    // Read first: a checkpoint that is gone fails here, before any labels are made again.
    const TrainedModel tm = load_trained_model(backend, ckpt);
    ExperimentResult scratch;  // the label stages' times belong to the run that made them
    const ExperimentLabels lab = make_experiment_labels(e, L, backend, out_dir, scratch, tag);
    draw_picture_grid(e, suite, L, lab, backend, tm, out_dir, r);
}

}  // namespace pfce
