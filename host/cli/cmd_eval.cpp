// `pfce eval`: metrics of a checkpoint on DENSE masks (DESIGN §2), on exactly the samples of the
// run's own split (stored by sample id in the checkpoint, so images added to the dataset since do
// not leak into "test"); a table, or JSON with --json. Images of any size are evaluated in sliding
// windows.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "core/dir_lock.hpp"
#include "core/log.hpp"
#include "core/source_version.hpp"
#include "core/stop_signal.hpp"
#include "core/text.hpp"
#include "data/data_fingerprint.hpp"
#include "data/dataset.hpp"
#include "data/ground_pixel_size.hpp"
#include "data/resample.hpp"
#include "host/backend/backend_factory.hpp"
#include "host/cli/cli_checks.hpp"
#include "host/cli/command_registry.hpp"
#include "host/cli/stopped.hpp"
#include "host/experiment/confusion_chart.hpp"
#include "host/train/evaluate.hpp"
#include "host/train/evaluate_split.hpp"
#include "host/train/image_scores.hpp"
#include "host/train/memory_estimate.hpp"
#include "host/train/model_comparison.hpp"
#include "host/train/progress.hpp"
#include "host/train/test_time_augment.hpp"
#include "host/train/train_data.hpp"
#include "host/train/trained_model.hpp"
#include "host/train/trainer.hpp"

namespace pfce::cli {
namespace {

namespace fs = std::filesystem;

struct EvalArgs {
    std::string checkpoint, data, split = "test", labels, device = "auto", tta = "none";
    std::string tile_labels;  // empty: the labels the run trained with
    std::string per_image;    // a CSV of each image's scores, or empty
    std::string confusion;    // an SVG of the confusion matrix, or empty
    int batch_size = 0, window = 0, overlap = 0;
    std::int64_t max_pixels = 0;
    bool batch_size_given = false, window_given = false;  // else the run's
    bool overlap_given = false;                           // else a quarter of the window
    bool max_pixels_given = false;
    bool json = false;
    bool force = false;  // may replace --per-image's and --confusion's files
    int bootstrap = 0;   // resamples of a bootstrap interval of the mIoU; 0: none
    bool bootstrap_given = false;
    std::string against;         // a second checkpoint scored on the same images, compared pairwise
    std::string interval_class;  // --against: that class's IoU difference gets an interval too
    double zoom = 1.0;           // --zoom: images resampled by this before the model, logits back
};

std::string names(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
}

// The dataset a checkpoint was trained on. Runs record their config's paths absolute, but older
// runs and suites kept them as given, relative to the directory training ran in: then the
// absolute root the run recorded beside them (data.root of its metadata) is what it read, not
// whatever lies under the same relative name here.
std::string trained_data_root(const TrainedModel& m, const std::string& checkpoint) {
    const std::string stored = m.config.data.root;
    std::string recorded;
    if (m.meta.contains("data") && m.meta.at("data").is_object())
        recorded = m.meta.at("data").value("root", std::string());
    std::error_code ec;
    const bool use_recorded = !fs::path(stored).is_absolute() && fs::path(recorded).is_absolute() &&
                              fs::is_directory(recorded, ec);
    const std::string root = use_recorded ? recorded : stored;
    if (!fs::is_directory(root, ec))
        PFCE_THROW(InputError, "checkpoint ", checkpoint, " was trained on ",
                   recorded.empty() ? stored : recorded,
                   stored != recorded && !recorded.empty() ? " (data.root \"" + stored + "\")" : "",
                   ", which is not a directory here: name the dataset with --data");
    return root;
}

// Whether --data `data` names the directory the checkpoint was trained on (by another spelling:
// relative, a trailing slash, a symlink): it is then judged as the run's own data.
bool is_trained_data(const TrainedModel& m, const std::string& checkpoint,
                     const std::string& data) {
    try {
        std::error_code ec;
        return fs::equivalent(data, trained_data_root(m, checkpoint), ec);
    } catch (const InputError&) {
        return false;  // the trained root is gone: --data is another place
    }
}

// Where an output of eval (--per-image, --confusion) may not write, said before anything is read:
// a name of another kind than `ext` (with --force, a checkpoint or a run's metrics.jsonl was
// replaced), inside the data or the labels eval reads (anywhere there, not only in their images/
// and masks/), a suite's own results.
void check_eval_output(const EvalArgs& a, const std::string& flag, const std::string& path,
                       const char* ext, const std::string& data_root) {
    refuse_unreachable_out(path, flag);
    if (!lower_ext_is(path, {ext}))
        PFCE_THROW(InputError, flag, " ", path, ": expected a ", ext, " file (what it writes)");
    for (const std::string& dir : {data_root, a.labels})
        if (!dir.empty() && path_is_inside(path, dir))
            PFCE_THROW(InputError, flag, " ", path, " lies inside ", dir,
                       ", which eval reads; write it elsewhere");
    refuse_output_among_data(flag + " " + path, path, "it");
    // A suite's results (pfce run's results.csv and charts beside results.json).
    const fs::path parent = fs::path(path).parent_path();
    const fs::path beside = parent.empty() ? fs::path(".") : parent;
    std::error_code ec;
    if (fs::exists(beside / "results.json", ec) && fs::exists(path, ec))
        PFCE_THROW(InputError, flag, " ", path,
                   " is a suite's result (results.json lies beside it); write it elsewhere");
    // A training run's curves, which it draws again after every epoch (--force replaced them
    // with the confusion matrix; a resumed run then left that alone and drew no curves).
    const bool run_beside =
        fs::exists(beside / "last.ckpt", ec) || fs::exists(beside / "metrics.jsonl", ec);
    if ((fs::exists(path, ec) && is_run_curves(path)) ||
        (run_beside && fs::path(path).filename() == kRunCurvesFile))
        PFCE_THROW(InputError, flag, " ", path,
                   " is a training run's curves (pfce train draws them again after every "
                   "epoch); write it elsewhere. --force does not change this.");
    FileIdentities inputs({a.checkpoint});
    if (!a.labels.empty()) inputs.add(a.labels + "/masks.json");
    check_output_file(path, a.force, inputs);
}

// --per-image's CSV and --confusion's SVG of `images` scored, put in place together or neither (a
// full disk at the second left the first); without --force a file another command wrote there
// meanwhile is refused, never replaced (two evals to one --per-image both said they wrote it).
// The title names `root` where it is not the run's own data (another dataset, scored on purpose),
// and the points of --labels where they are what is scored (`on_points`).
void write_eval_files(const EvalArgs& a, const EvalResult& r, const TrainedModel& m,
                      const std::vector<ImageScore>& scores, const std::string& root, bool own_data,
                      std::size_t images, bool on_points) {
    // A killed eval's temporaries (and the backups of the files it was replacing), as every
    // writer removes them: they stayed beside the tables for good.
    std::vector<std::string> targets;
    for (const std::string* p : {&a.per_image, &a.confusion})
        if (!p->empty()) targets.push_back(*p);
    remove_stale_temps_of(targets);
    StagedFiles outputs;
    if (!a.per_image.empty())
        write_file_atomically(outputs.stage(a.per_image),
                              image_scores_csv(scores, m.class_names, m.clutter_class));
    if (!a.confusion.empty()) {
        // The run's checkpoint, the split, and the data where it is not the run's own.
        ConfusionPanel panel;
        char miou[32];
        std::snprintf(miou, sizeof miou, ", mIoU %.4f", r.metrics.miou);
        panel.title =
            (fs::path(a.checkpoint).parent_path().filename() / fs::path(a.checkpoint).filename())
                .string() +
            ": " + a.split + " split" + (on_points ? " (its points of --labels)" : "") +
            (own_data ? std::string() : " of " + fs::path(root).filename().string()) + ", " +
            std::to_string(images) + (images == 1 ? " image" : " images") + miou;
        panel.class_names = m.class_names;
        panel.confusion = r.confusion;
        panel.scope = "the " + a.split + " split of " + root;
        write_file_atomically(outputs.stage(a.confusion), render_confusion_svg({panel}, 1));
    }
    outputs.commit(a.force);
}

// Why a split of the run is empty: the share its settings give it, or too few images for one.
std::string empty_split_reason(const std::string& split, const DataSettings& d) {
    if (split == "val" && d.val_frac <= 0) return "the run's data.val_frac is 0";
    if (split == "train" && d.train_frac <= 0) return "the run's data.train_frac is 0";
    if (split == "test" && d.train_frac + d.val_frac >= 1 - 1e-9)
        return detail::concat("the run's data.train_frac ", format_shortest(d.train_frac),
                              " and val_frac ", format_shortest(d.val_frac), " leave it no share");
    return "a dataset too small to hold one";
}

// --interval-class's class among the model's (-1: not asked); InputError naming them and the
// nearest to a typo, before anything is scored.
int interval_class_of(const EvalArgs& a, const std::vector<std::string>& class_names) {
    if (a.interval_class.empty()) return -1;
    for (std::size_t c = 0; c < class_names.size(); ++c)
        if (class_names[c] == a.interval_class) return static_cast<int>(c);
    const std::string near = nearest_name(a.interval_class, class_names);
    PFCE_THROW(InputError, "--interval-class ", a.interval_class, ": ", a.checkpoint,
               " has no such class (its classes: ", names(class_names), ")",
               near.empty() ? std::string() : "; did you mean " + near + "?");
}

void run_eval(const EvalArgs& a) {
    if (a.batch_size_given && a.batch_size < 1)
        PFCE_THROW(InputError, "--batch-size ", a.batch_size,
                   ": expected a positive batch (or leave it out: the run's batch size)");
    if (a.window_given) check_window_option(a.window);
    if (a.max_pixels_given) check_max_pixels_option(a.max_pixels);
    if (a.overlap_given) check_overlap_option(a.overlap);
    check_zoom_option(a.zoom);
    const int tta = tta_transforms(a.tta);
    if (a.bootstrap != 0 && (a.bootstrap < 100 || a.bootstrap > 100000))
        PFCE_THROW(InputError, "--bootstrap ", a.bootstrap,
                   ": expected 100..100000 resamples (1000 is usual), or 0 for none");
    // The comparison's paired interval is always drawn (1000 resamples unless said): a 0 given
    // for "none" would be ignored without a word.
    if (a.bootstrap_given && a.bootstrap == 0 && !a.against.empty())
        PFCE_THROW(InputError, "--bootstrap 0 with --against ", a.against,
                   ": the comparison always draws its paired interval; expected 100..100000 "
                   "resamples, or leave --bootstrap out for 1000");
    auto backend = make_backend(a.device);
    require_input("--checkpoint", a.checkpoint, false, "a checkpoint file, RUN/last.ckpt");
    if (!a.against.empty())
        require_input("--against", a.against, false, "a checkpoint file to compare with");
    if (!a.labels.empty())
        require_input("--labels", a.labels, true, "the --out of pfce sample or pfce link");
    TrainedModel m = load_trained_model(*backend, a.checkpoint);
    const int interval_class = interval_class_of(a, m.class_names);
    // --against: the other model on a backend of its own (it is built with its run's kernels,
    // layout and precision), loaded now so that what refuses it is said before any scoring.
    std::unique_ptr<Backend> other_backend;
    std::optional<TrainedModel> other;
    if (!a.against.empty()) {
        std::error_code ec;  // the same file by another name (./, a link) too
        if (fs::path(a.against).lexically_normal() == fs::path(a.checkpoint).lexically_normal() ||
            fs::equivalent(a.against, a.checkpoint, ec))
            PFCE_THROW(InputError, "--against ", a.against,
                       " is --checkpoint itself: compare another checkpoint");
        other_backend = make_backend(a.device);
        other = load_trained_model(*other_backend, a.against);
        check_comparable(m, a.checkpoint, *other, a.against);
    }
    DataSettings d = m.config.data;
    if (a.max_pixels_given) d.max_pixels = a.max_pixels;
    if (!a.data.empty())
        d.root = a.data;
    else
        d.root = trained_data_root(m, a.checkpoint);
    d.source = "dataset";  // evaluation never generates data
    const bool own_data = a.data.empty() || is_trained_data(m, a.checkpoint, a.data);
    if (!a.per_image.empty()) check_eval_output(a, "--per-image", a.per_image, ".csv", d.root);
    if (!a.confusion.empty()) check_eval_output(a, "--confusion", a.confusion, ".svg", d.root);
    // ISPRS scores the eroded labels (boundaries unlabelled) whichever labels trained: the same
    // tiles and windows, other label files.
    if (!a.tile_labels.empty()) {
        if (a.tile_labels != "auto" && a.tile_labels != "full" && a.tile_labels != "eroded")
            PFCE_THROW(InputError, "--tile-labels ", a.tile_labels,
                       ": expected auto, full (_label.tif) or eroded (_label_noBoundary.tif)");
        d.tile_labels = a.tile_labels;
    }
    // Held while the dataset and the masks are read, as training holds them: `data synth --force`
    // or `sample --force` writing them again meanwhile would score mixed files (it is refused
    // instead, and this refused while they are written).
    const DirLock reading_data = lock_dir_for_reading(d.root, "--data");
    const DirLock reading_labels =
        a.labels.empty() ? DirLock() : lock_dir_for_reading(a.labels, "--labels");
    // `d_read`: the settings of the model whose way of reading the images this is (the
    // checkpoint's, or --against's), named in a refusal that comes of them.
    auto open_as = [&](const DataSettings& d_read, const std::string& whose) {
        try {
            return Dataset::open(d.root, dataset_options(d_read));
        } catch (const MissingPartnerFile& e) {
            if (a.tile_labels.empty()) throw;
            // Say it in eval's terms: the set asked for is read for every tile, scored or not.
            PFCE_THROW(InputError, e.what(), " [eval --tile-labels ", a.tile_labels,
                       " opens that label set for every tile of ", d.root,
                       "; to score tiles that alone have it, give --data a folder of those "
                       "tiles' images and labels]");
        } catch (const InputError& e) {
            const std::string what = e.what();
            if (what.find("data.bands") == std::string::npos &&
                what.find("data.value_range") == std::string::npos)
                throw;
            // A refusal may name data.bands or --value-range, which eval does not take: the
            // checkpoint decides how images are read.
            PFCE_THROW(InputError, what, " [eval reads images as ", whose,
                       " was trained: its data.bands and data.value_range]");
        }
    };
    // A dataset whose dataset.toml reads its images otherwise ([image]) is read as the model was
    // trained, and that said (another dataset's R, G, B read through a run's 3,2,1 scored B, G, R
    // with no word but "not the data trained on").
    try {
        warn_of_other_reading(image_choice(d),
                              declared_image_settings(d.root, kDatasetKinds.parse(d.kind)));
    } catch (const InputError&) {  // a dataset.toml that does not read: the opening says why
    }
    const Dataset ds = open_as(d, a.checkpoint);
    // --against reads the same files as it was trained (RGB against RGB + infrared): the dataset
    // opened again with its bands and range, whose samples must be this one's.
    std::optional<Dataset> other_ds;
    std::string other_reads;
    if (other) other_reads = image_reading_difference(m, *other);
    if (!other_reads.empty()) {
        DataSettings od = d;
        od.bands = other->config.data.bands;
        od.value_range = other->config.data.value_range;
        od.tile_image = other->config.data.tile_image;
        other_ds.emplace(open_as(od, a.against));
        bool same = other_ds->size() == ds.size();
        for (std::size_t i = 0; same && i < ds.size(); ++i)
            same = other_ds->sample(i).id == ds.sample(i).id &&
                   other_ds->sample(i).width == ds.sample(i).width &&
                   other_ds->sample(i).height == ds.sample(i).height;
        if (!same)
            PFCE_THROW(InputError, d.root, " read as --against ", a.against, " was trained (",
                       other_reads, ") gives other samples than read as ", a.checkpoint,
                       ": the two cannot be scored image by image");
    }
    if (!a.tile_labels.empty() && ds.kind() != DatasetKind::tiles)
        PFCE_THROW(InputError, "--tile-labels ", a.tile_labels, ": ", d.root, " is a ",
                   kDatasetKinds.name(ds.kind()),
                   " dataset; the option chooses the labels of the original Potsdam tiles");
    std::vector<std::string> dataset_classes;
    for (const auto& c : ds.palette().classes) dataset_classes.push_back(c.name);
    if (dataset_classes != m.class_names)
        PFCE_THROW(InputError, "dataset ", d.root, " has classes [", names(dataset_classes),
                   "] but checkpoint ", a.checkpoint, " was trained for [", names(m.class_names),
                   "]");
    // The run's own dataset (also named by --data) with its classes read from other colours or
    // values (dataset.toml edited): its masks name other classes than the model learnt. Another
    // dataset (--data) may encode the same classes otherwise; its class names were compared above.
    const nlohmann::json trained_on = recorded_data_identity(m.meta);
    const std::string recoded =
        own_data && trained_on.is_object()
            ? class_encoding_change(trained_on.value("class_encodings", nlohmann::json()),
                                    nlohmann::json(class_encodings(ds)))
            : std::string();
    if (!recoded.empty())
        PFCE_THROW(InputError, "dataset ", d.root, " encodes the classes otherwise than when ",
                   a.checkpoint, " was trained (", recoded,
                   "): its masks would be scored as other classes; restore its description "
                   "(dataset.toml), or train on it as it is now");
    // Images or labels replaced under the same names since training: scored as they are now,
    // but said (the record holds file sizes and times, so a touch or a copy says it too).
    // Another Potsdam label set than training read (--tile-labels, or "auto" finding other files
    // here): its labels are scored as that set, not taken for changed files. Runs that did not
    // record the set read compare the settings.
    const nlohmann::json trained_data = m.meta.value("data", nlohmann::json::object());
    const std::string trained_read = trained_data.is_object()
                                         ? trained_data.value("tile_labels_read", std::string())
                                         : std::string();
    const bool other_labels = ds.kind() == DatasetKind::tiles &&
                              (trained_read.empty() ? d.tile_labels != m.config.data.tile_labels
                                                    : trained_read != ds.tile_labels_read());
    nlohmann::json was = recorded_data_identity(m.meta), now = data_identity(ds);
    if (other_labels && was.is_object() && now.is_object()) {  // other label files, as asked
        was.erase("dense_labels");
        now.erase("dense_labels");
    }
    std::string changed = data_identity_change(was, now);
    // The files written since the checkpoint was, by name (a walkthrough's edited test mask
    // went unnamed; pfce run names them).
    if (!changed.empty()) {
        std::error_code ec;
        const auto saved = fs::last_write_time(a.checkpoint, ec);
        std::vector<std::string> newer;
        for (const bool masks : {false, true})
            // ("its image and label files changed" names both.)
            if (!ec && (changed.find(masks ? "label files" : "image files") != std::string::npos ||
                        changed.find("image and label files") != std::string::npos))
                for (const FileWrittenAfter& f : files_written_after(ds, saved, masks))
                    newer.push_back(f.name);
        if (!newer.empty())
            changed += " (written after the checkpoint: " +
                       (newer.size() > 3 ? std::to_string(newer.size()) + " files, " : "") +
                       some_names(newer) + ")";
    }
    if (!changed.empty() && own_data)
        log_warn("the data at ", d.root, " is not as it was when ", a.checkpoint,
                 " was trained: ", changed, "; these metrics are of its files as they are now");
    else if (!changed.empty())  // --data may name another copy, or another dataset
        log_warn("the data at ", d.root, " (--data) is not the data ", a.checkpoint,
                 " was trained on, or that data has changed since: ", changed);
    // The other model may have trained on another copy, or on the data before a change: said,
    // as for this one (its identity's label set left out where this one's was).
    if (other) {
        nlohmann::json other_was = recorded_data_identity(other->meta);
        if (other_labels && other_was.is_object()) other_was.erase("dense_labels");
        const nlohmann::json other_now = other_ds ? data_identity(*other_ds) : now;
        if (const std::string o = data_identity_change(other_was, other_now); !o.empty())
            log_warn("the data at ", d.root, " is not the data --against ", a.against,
                     " was trained on, or that data has changed since: ", o);
    }
    std::vector<std::size_t> indices;
    std::string other_splits;  // the other parts that hold images, for an empty one's refusal
    if (a.split == "all") {
        indices.resize(ds.size());
        std::iota(indices.begin(), indices.end(), std::size_t{0});
    } else if (a.split == "test" || a.split == "val" || a.split == "train") {
        Split s;
        if (!m.split_ids.empty()) {
            // Only the part evaluated must be in the data: a copy of the test tiles alone (to
            // score on another machine) evaluates the test split.
            auto ids = [&](const char* part) {
                return a.split == part ? m.split_ids[part] : std::vector<std::string>{};
            };
            try {
                s = split_from_ids(ds, ids("train"), ids("val"), ids("test"), a.checkpoint);
            } catch (const InputError& e) {
                // Another dataset, scored on purpose (a benchmark's own test set): all of it.
                PFCE_THROW(InputError, e.what(),
                           " To score every image of another dataset, give --split all");
            }
        } else {  // checkpoints of older pfce: redraw the split from its settings
            log_warn(a.checkpoint,
                     " records no split ids (older pfce): the split is drawn again "
                     "from its seed over the dataset as it is now");
            s = run_split(ds, d);
        }
        indices = a.split == "test" ? s.test : a.split == "val" ? s.val : s.train;
        // The sizes the run recorded (its split of the dataset it trained on), else the split
        // drawn again: a 2-image run has train 2, val 0, test 0, and was told to try val.
        for (const char* part : {"test", "val", "train"}) {
            const std::size_t n = !m.split_ids.empty()          ? m.split_ids[part].size()
                                  : std::string(part) == "test" ? s.test.size()
                                  : std::string(part) == "val"  ? s.val.size()
                                                                : s.train.size();
            if (a.split != part && n > 0)
                other_splits += (other_splits.empty() ? "" : ", ") + std::string(part);
        }
    } else {
        PFCE_THROW(InputError, "--split ", a.split, ": expected test, val, train or all");
    }
    if (indices.empty())
        PFCE_THROW(InputError, "split \"", a.split, "\" of ", d.root, " is empty",
                   a.split == "all" ? std::string()
                                    : " (" + empty_split_reason(a.split, m.config.data) +
                                          "): evaluate --split " + other_splits +
                                          (other_splits.empty() ? "all" : " or all"));
    // Named before any image is read (the U-Net's own refusal knows no file): the sizes are the
    // dataset's, from its scan.
    const int depth = m.net->config().depth;
    const std::vector<std::pair<int, int>> sizes = sample_sizes(ds, indices);
    // Zoomed, the sizes the model sees, and the --zoom that takes them all.
    auto add_sizes = [&](TooSmallImages& to, ZoomThatFits& fits) {
        for (std::size_t i = 0; i < indices.size(); ++i) {
            to.add(a.zoom == 1.0 ? ds.sample(indices[i]).image_path
                                 : detail::concat(ds.sample(indices[i]).image_path, " zoomed by ",
                                                  format_shortest(a.zoom)),
                   zoomed_side(sizes[i].first, a.zoom), zoomed_side(sizes[i].second, a.zoom));
            fits.add(sizes[i].first, sizes[i].second);
        }
    };
    TooSmallImages small(depth);
    ZoomThatFits fits(depth, a.zoom);
    add_sizes(small, fits);
    refuse_images_too_small(small, a.checkpoint, fits.remedy("evaluate a split without them"));
    if (other) {
        // What each model trained or validated on, by unit (a tile's windows are alike: by tile),
        // from its recorded split, or (older pfce) its split drawn again.
        const bool tiles = ds.kind() == DatasetKind::tiles;
        auto unit = [&](const std::string& id) { return tiles ? tile_of(id) : id; };
        auto seen_by = [&](const TrainedModel& model) {
            std::set<std::string> seen;
            if (!model.split_ids.empty()) {
                for (const char* part : {"train", "val"})
                    if (const auto it = model.split_ids.find(part); it != model.split_ids.end())
                        for (const std::string& id : it->second) seen.insert(unit(id));
                return seen;
            }
            const Split drawn = run_split(ds, model.config.data);
            for (const auto* part : {&drawn.train, &drawn.val})
                for (const std::size_t i : *part) seen.insert(unit(ds.sample(i).id));
            return seen;
        };
        std::vector<std::string> scored;
        for (const std::size_t i : indices)
            if (scored.empty() || scored.back() != unit(ds.sample(i).id))
                scored.push_back(unit(ds.sample(i).id));
        check_fair_images(scored, seen_by(m), seen_by(*other), a.checkpoint, a.against,
                          tiles ? "tiles" : "images");
        TooSmallImages small_other(other->net->config().depth);
        ZoomThatFits other_fits(other->net->config().depth, a.zoom);
        add_sizes(small_other, other_fits);
        refuse_images_too_small(small_other, a.against,
                                other_fits.remedy("compare on a split without them"));
    }
    MaskDir labels;
    if (!a.labels.empty()) {
        labels = open_mask_dir(a.labels);
        check_masks_match_dataset(labels, ds, indices);
    }
    // Images without dense masks (images_without_mask = "unlabelled"), labelled by points alone:
    // scored on the points of --labels (held-out points, the one truth there is), said as such;
    // in a split of both, each image on what it has (those without were left out, unsaid).
    const std::size_t maskless =
        static_cast<std::size_t>(std::count_if(indices.begin(), indices.end(), [&](std::size_t i) {
            return ds.sample(i).mask_path.empty();
        }));
    const bool on_points = !a.labels.empty() && maskless == indices.size();
    const bool also_points = !a.labels.empty() && maskless > 0 && !on_points;
    // Linked masks are points and the segments inferred between them: scored as truth, the
    // inferred pixels would count as annotated ones.
    if ((on_points || also_points) && labels.meta.value("kind", std::string()) == "linked")
        log_warn("--labels ", a.labels,
                 " holds linked masks: the images without dense masks are scored on their "
                 "points and the segments linking inferred between them, which no one annotated; "
                 "give the sparse points they were linked from (masks.json link.in_dir) to score "
                 "what was annotated");
    // Its directory made last, after every refusal (a refused command leaves none).
    MadeDirectories made;
    if (!a.per_image.empty()) make_parent_directory("--per-image", a.per_image, made);
    if (!a.confusion.empty()) make_parent_directory("--confusion", a.confusion, made);
    SplitEvalOptions so;
    EvalOptions& eo = so.eval;
    eo = eval_options(m.config);
    // Per-image confusions for the interval, the CSV, or the comparison with --against.
    eo.per_image = !a.per_image.empty() || a.bootstrap > 0 || other.has_value();
    if (a.batch_size_given) eo.batch_size = a.batch_size;
    if (a.window_given) eo.window = a.window;
    check_window_fits_unet(eo.window, a.window_given, depth, a.checkpoint);
    eo.overlap = overlap_for(a.overlap, a.overlap_given, eo.window, a.window_given);
    eo.tta = tta;
    eo.zoom = a.zoom;
    // The other model goes through as this one does (the same windows and overlap: how images go
    // through moves a score), with its own batch size unless --batch-size is given.
    SplitEvalOptions other_so;
    if (other) {
        EvalOptions& o = other_so.eval;
        o = eval_options(other->config);
        o.per_image = true;
        if (a.batch_size_given) o.batch_size = a.batch_size;
        o.window = eo.window;
        o.overlap = eo.overlap;
        o.tta = tta;
        o.zoom = a.zoom;
        check_window_fits_unet(o.window, a.window_given, other->net->config().depth, a.against);
    }
    // Zoomed, a row of windows of an image is made at the zoomed size while it is scored, with
    // its class scores: past the machine's memory (zoom 8 makes a 30000-pixel-wide image's rows
    // 240000 wide), refused before any image is read rather than killed without a word. With
    // swap, a quarter more is allowed.
    if (a.zoom != 1.0)
        if (const MachineMemory memory = machine_memory(); memory.total > 0) {
            const SlidingWindow sw = sliding_window_of(eo);
            const int classes = m.net->config().num_classes;
            const int width =
                std::max(m.net->config().base_width, other ? other->net->config().base_width : 0);
            struct Need {
                double band = 0, parts = 0, activations = 0;
                double total() const { return band + parts + activations; }
            };
            auto need_of = [&](std::size_t i) {
                const auto [w, h] = sizes[i];
                const int zw = zoomed_side(w, a.zoom), zh = zoomed_side(h, a.zoom);
                Need n;
                // The logits brought back are uploaded for the losses: a second band of them.
                n.band = sliding_band_bytes(classes, zw, zh, sw, w, a.zoom, m.stats.channels) +
                         PlaneResampler::held_bytes(classes, w, a.zoom);
                n.parts =
                    2.0 * std::max<double>(
                              static_cast<double>(so.part_bytes),
                              static_cast<double>(decoded_sample_bytes(w, h, m.stats.channels)));
                n.activations =
                    inference_bytes(std::int64_t{std::min(sw.window, zw)} * std::min(sw.window, zh),
                                    sw.batch, width);
                return n;
            };
            std::size_t largest = 0;
            for (std::size_t i = 1; i < sizes.size(); ++i)
                if (need_of(i).total() > need_of(largest).total()) largest = i;
            const Need need = need_of(largest);
            if (need.total() > (memory.swap == 0 ? 1.0 : 1.25) * memory.total)
                PFCE_THROW(InputError, ds.sample(indices[largest]).image_path, " zoomed by ",
                           format_shortest(a.zoom), " is ",
                           zoomed_side(sizes[largest].first, a.zoom), "x",
                           zoomed_side(sizes[largest].second, a.zoom), ": scoring it needs about ",
                           format_bytes(need.total()),
                           " (a row of windows' zoomed pixels and class scores ",
                           format_bytes(need.band), ", the images read ", format_bytes(need.parts),
                           ", the activations ", format_bytes(need.activations),
                           "), more than this machine's ", format_bytes(memory.total), " of memory",
                           memory.swap == 0 ? " (and it has no swap)" : "",
                           "; zoom less, or cut the images into tiles first (gdal_retile.py -ps "
                           "6000 6000)");
        }
    // Images of another ground pixel size than the model learnt (a 10 cm survey scored by a 5 cm
    // model) after --zoom, as predict says of its inputs: scored as asked, said first.
    if (const nlohmann::json trained_px = trained_data.value("ground_pixel_size", nlohmann::json());
        trained_px.is_object()) {
        // Each image once (a tile's windows share one), each compared: a survey of mixed pixel
        // sizes is said with how many are off, as predict says of its inputs.
        std::vector<std::string> paths;
        for (std::size_t i : indices)
            if (paths.empty() || paths.back() != ds.sample(i).image_path)
                paths.push_back(ds.sample(i).image_path);
        std::optional<ScaleMismatch> first;
        std::string first_path;
        std::size_t off_scale = 0;
        bool alike = true;  // every image off by the same sizes
        for (const std::string& p : paths)
            if (const std::optional<GroundPixelSize> px = ground_pixel_size(p))
                if (auto off = scale_mismatch(*px, a.zoom, trained_px, a.checkpoint)) {
                    if (off_scale++ == 0) {
                        first = std::move(off);
                        first_path = p;
                    } else if (off->sizes != first->sizes) {
                        alike = false;
                    }
                }
        const bool all = first && alike && off_scale == paths.size();
        if (first)
            log_warn(all ? "the images scored have " : first_path + " has ", first->sizes,
                     a.zoom == 1.0
                         ? ""
                         : detail::concat(" (--zoom ", format_shortest(a.zoom), " given)"),
                     ": the scores are of the model at another scale than it learnt (its "
                     "ground features appear at ",
                     format_significant(a.zoom / first->zoom, 2),
                     " times their size in its training images; ", first->remedy("--zoom"), ")");
        if (first && !all)
            log_warn(off_scale, " of ", paths.size(),
                     " images scored have pixels off the scale the model learnt");
    }
    // Images of the other kind than the model learnt (gray for a colour model, or the reverse),
    // as predict says of its inputs: scored as asked, with the reason the scores may be low.
    const TrainedImageKinds trained = trained_image_kinds(trained_data);
    std::size_t unlike = 0;
    // ... and of the model --against names, trained on data of its own.
    const TrainedImageKinds other_trained =
        other ? trained_image_kinds(other->meta.value("data", nlohmann::json::object()))
              : TrainedImageKinds{};
    std::size_t other_unlike = 0;
    so.on_read = [&](const std::vector<SampleData>& part) {
        if (trained.known)
            unlike += static_cast<std::size_t>(std::count_if(
                part.begin(), part.end(),
                [&](const SampleData& s) { return trained.unlike(image_gray(s.image)); }));
    };
    // The split is read in parts of bounded memory, each evaluated while the next is read
    // (evaluate_split): 38 Potsdam tiles would take 7 GB at once.
    // Ctrl-C / SIGTERM: stops at the next batch of windows or images (or part read), writes
    // nothing, and removes the directories made for --per-image (exit 130).
    const StopSignals stop_signals;
    const LateStopSaid late("the evaluation ended, its numbers and files complete");
    auto evaluate_with_progress = [&] {
        LazyProgress progress("eval " + a.split);  // tiles under --tta d4: minutes, said past 2 s
        eo.progress = [&](std::int64_t done, std::int64_t total, const char* unit) {
            if (stop_requested()) throw StopRequested();
            progress.update(done, total, unit);
        };
        const auto counted = so.on_read;
        so.on_read = [&](const std::vector<SampleData>& part) {
            if (stop_requested()) throw StopRequested();
            counted(part);
        };
        const EvalResult result =
            evaluate_split(*backend, *m.net, ds, indices, a.labels.empty() ? nullptr : &labels,
                           m.stats, focal_params(m.config), m.clutter_class, so);
        eo.progress = nullptr;  // it refers to `progress`, gone with this scope
        return result;
    };
    // The other model, on the same images (the dataset is read again: its parts are not kept).
    auto evaluate_other = [&] {
        LazyProgress progress("eval " + a.split + " (--against)");
        EvalOptions& o = other_so.eval;
        o.progress = [&](std::int64_t done, std::int64_t total, const char* unit) {
            if (stop_requested()) throw StopRequested();
            progress.update(done, total, unit);
        };
        other_so.on_read = [&](const std::vector<SampleData>& part) {
            if (stop_requested()) throw StopRequested();
            if (other_trained.known)
                other_unlike += static_cast<std::size_t>(
                    std::count_if(part.begin(), part.end(), [&](const SampleData& s) {
                        return other_trained.unlike(image_gray(s.image));
                    }));
        };
        const EvalResult result =
            evaluate_split(*other_backend, *other->net, other_ds ? *other_ds : ds, indices,
                           a.labels.empty() ? nullptr : &labels, other->stats,
                           focal_params(other->config), other->clutter_class, other_so);
        o.progress = nullptr;
        return result;
    };
    std::optional<EvalResult> other_result;
    const EvalResult r = [&] {
        try {
            EvalResult own = evaluate_with_progress();
            if (other) other_result = evaluate_other();
            return own;
        } catch (const StopRequested&) {  // the progress line is erased by now
            std::fflush(stdout);
            std::fprintf(stderr,
                         "pfce: eval stopped (Ctrl-C / SIGTERM) before its end; nothing written\n");
            throw CLI::RuntimeError(130);
        }
    }();
    // Metrics of no pixel are NaN, and a dense loss of none 0: an error, not numbers to believe.
    // The confusion matrix counts every labelled pixel of the dense masks.
    if (std::all_of(r.confusion.begin(), r.confusion.end(),
                    [](std::int64_t n) { return n == 0; })) {
        const std::string none =
            detail::concat("the dense masks of split \"", a.split, "\" of ", d.root, " (",
                           indices.size(), indices.size() == 1 ? " image" : " images", ", e.g. ",
                           ds.sample(indices[0]).id, ") label no pixel");
        // A dataset of points alone (images_without_mask = "unlabelled"): the loss on the points
        // of --labels is all there is to say, and is said (it was refused with the rest).
        if (!a.labels.empty() && !(r.loss_norm > 0))
            PFCE_THROW(InputError, "--labels ", a.labels, " labels no pixel of split \"", a.split,
                       "\" (", indices.size(), indices.size() == 1 ? " image" : " images",
                       ", e.g. ", ds.sample(indices[0]).id,
                       "), nor do its dense masks: there is nothing to score; evaluate another "
                       "split (--split), or label points on these images");
        const bool loss_only = !a.labels.empty() && a.per_image.empty() && a.confusion.empty() &&
                               !other && a.bootstrap == 0;
        // Images without masks at all: the points they were trained on are the truth there is.
        if (a.labels.empty() && maskless == indices.size())
            PFCE_THROW(InputError, none,
                       ": its images have no dense masks (images_without_mask = \"unlabelled\"); "
                       "score them on points with --labels POINTS (the mask directory of pfce "
                       "sample --from-points or --from)");
        if (!loss_only)
            PFCE_THROW(InputError, none,
                       ": there is nothing to score (every pixel is unlabelled or an ignore "
                       "colour); evaluate another split",
                       a.labels.empty() ? ""
                                        : " (with --labels and none of --per-image, --confusion, "
                                          "--bootstrap and --against, eval gives the loss on "
                                          "its points)");
        log_warn(none, ": no mIoU, OA or IoU; the loss on the points of --labels ", a.labels,
                 " alone");
        if (a.json) {
            nlohmann::json j = {
                {"checkpoint", a.checkpoint}, {"data", d.root},     {"split", a.split},
                {"images", r.images},         {"miou", nullptr},    {"oa", nullptr},
                {"loss_labels", r.loss},      {"labels", a.labels}, {"pfce", pfce_version_text()}};
            std::printf("%s\n", j.dump(2).c_str());
        } else {
            std::printf("%s: %s split of %s, %lld image%s (dense masks labelling no pixel)\n",
                        a.checkpoint.c_str(), a.split.c_str(), d.root.c_str(),
                        static_cast<long long>(r.images), r.images == 1 ? "" : "s");
            std::printf("%-22s %8.4f\n", "loss (--labels)", r.loss);
        }
        return;  // loss_only: no --per-image or --confusion, so no directory was made for them
    }
    if (unlike > 0)
        log_warn(unlike, " of the ", indices.size(), " images scored are ",
                 trained.gray ? "in colour" : "gray", " but ", a.checkpoint, " was trained on ",
                 trained.gray ? "gray" : "colour",
                 " images: its scores on them may say little of the model");
    if (other_unlike > 0)
        log_warn(other_unlike, " of the ", indices.size(), " images scored are ",
                 other_trained.gray ? "in colour" : "gray", " but ", a.against,
                 " (--against) was trained on ", other_trained.gray ? "gray" : "colour",
                 " images: its scores on them may say little of that model");
    std::vector<ImageScore> scores;
    if (!a.per_image.empty()) {
        std::vector<std::string> ids;
        for (const std::size_t i : indices) ids.push_back(ds.sample(i).id);
        scores = image_scores(ids, r.image_confusion, static_cast<int>(m.class_names.size()),
                              m.clutter_class);
    }
    // A file that fails (a full disk) after the metrics took minutes leaves the table printed all
    // the same, without the files it names; the command then fails with that error.
    std::exception_ptr not_written;
    try {
        write_eval_files(a, r, m, scores, d.root, own_data, indices.size(), on_points);
        made.kept();
    } catch (const std::exception&) {
        not_written = std::current_exception();
    }
    const bool written = !not_written;
    // The interval of the mIoU over the images scored: said as missing, not refused, where it
    // cannot be drawn (the metrics above took minutes).
    // A tiles dataset's windows are drawn by tile: neighbouring windows of one tile are alike,
    // and drawn apart they would make the interval narrower than the tiles tested warrant.
    std::optional<MiouInterval> interval;
    std::string few_units;  // why the interval is too few to trust; "" where it is not
    const bool by_tile = ds.kind() == DatasetKind::tiles;
    if (a.bootstrap > 0) {
        std::vector<std::string> ids;
        for (const std::size_t i : indices) ids.push_back(ds.sample(i).id);
        const std::vector<std::vector<std::int64_t>> units =
            by_tile ? confusions_by_tile(ids, r.image_confusion) : r.image_confusion;
        try {
            interval = bootstrap_miou(units, static_cast<int>(m.class_names.size()),
                                      m.clutter_class, a.bootstrap);
            few_units = few_bootstrap_units_note(interval->images, by_tile ? "tiles" : "images");
            if (!few_units.empty()) log_warn("the mIoU interval is ", few_units);
        } catch (const InputError& e) {
            log_warn("no bootstrap interval: ", e.what());
        }
    }
    // --against: both models' scores side by side, and their difference with a paired interval
    // (by tile for tiles, as the interval above).
    std::optional<ModelComparison> comparison;
    if (other_result) {
        std::vector<std::string> ids;
        for (const std::size_t i : indices) ids.push_back(ds.sample(i).id);
        auto units = [&](const EvalResult& e) {
            return by_tile ? confusions_by_tile(ids, e.image_confusion) : e.image_confusion;
        };
        comparison =
            compare_models(r.metrics, other_result->metrics, units(r), units(*other_result),
                           m.clutter_class, a.bootstrap > 0 ? a.bootstrap : 1000, interval_class);
    }
    const char* unit_name = by_tile ? "tiles" : "images";
    if (a.json) {
        nlohmann::json j = to_json(r.metrics, m.class_names);
        if (comparison) {
            j["against"] = comparison_json(*comparison, a.against, m.class_names, unit_name);
            j["against"]["loss_dense"] = other_result->loss_dense;
            // Each model read the images as it was trained: said where B read them otherwise.
            if (!other_reads.empty()) j["against"]["images_read_otherwise"] = other_reads;
            if (!a.labels.empty()) j["against"]["loss_labels"] = other_result->loss;
            if (other->meta.contains("pfce")) j["against"]["trained_with"] = other->meta["pfce"];
            if (const TrainingProgress p = training_progress(other->meta); p.known) {
                j["against"]["epoch"] = p.epoch;
                j["against"]["global_step"] = p.global_step;
            }
        }
        if (interval) {
            j["miou_ci95"] = {interval->lo, interval->hi};
            // Each class's, from the same draws; null for a class in too few images to draw.
            nlohmann::json per_class = nlohmann::json::array();
            for (std::size_t c = 0; c < interval->class_lo.size(); ++c)
                per_class.push_back(
                    std::isnan(interval->class_lo[c])
                        ? nlohmann::json()
                        : nlohmann::json{interval->class_lo[c], interval->class_hi[c]});
            j["iou_ci95"] = std::move(per_class);
            j["bootstrap"] = {{"resamples", interval->resamples},
                              {by_tile ? "tiles" : "images", interval->images}};
            if (!few_units.empty()) j["bootstrap"]["caveat"] = few_units;
        }
        j["checkpoint"] = a.checkpoint;
        // The build that scored it, and the one that trained it (older checkpoints: unrecorded).
        j["pfce"] = pfce_version_text();
        if (m.meta.contains("pfce")) j["trained_with"] = m.meta["pfce"];
        // How far its run had trained: a script can tell an untrained last.ckpt (step 0).
        if (const TrainingProgress p = training_progress(m.meta); p.known) {
            j["epoch"] = p.epoch;
            j["global_step"] = p.global_step;
        }
        j["data"] = d.root;
        // How the images were read (the checkpoint's bands and 16-bit range; [] = as stored and
        // 8-bit): a score of other bands of the same files is another score.
        j["bands"] = d.bands;
        j["value_range"] = d.value_range;
        j["split"] = a.split;
        if (ds.kind() == DatasetKind::tiles) j["tile_labels"] = ds.tile_labels_read();
        j["images"] = r.images;
        // The samples scored, by id: a run's random split made publishable (a paper's test set).
        nlohmann::json ids = nlohmann::json::array();
        for (const std::size_t i : indices) ids.push_back(ds.sample(i).id);
        j["ids"] = std::move(ids);
        j["images_unlabelled"] = r.images_unlabelled;  // of those, labelling no pixel
        j["tta"] = tta_name(tta);
        // The sliding windows of large or mixed-size images (predict's --window and --overlap);
        // null where the images went through whole, in batches.
        const bool windows = evaluates_in_windows(sizes, eo);
        j["window"] = windows ? nlohmann::json(eo.window) : nlohmann::json();
        j["overlap"] = windows ? nlohmann::json(eo.overlap) : nlohmann::json();
        j["zoom"] = a.zoom;  // the factor the images were resampled by before the model
        // Whether a pixel in two windows' overlap counts in each window's loss (sliding windows
        // unzoomed), or every pixel once (batches; --zoom, whose losses are of the logits brought
        // back): losses of the two kinds weigh pixels differently.
        j["loss_counts_overlaps"] = windows && a.zoom == 1.0;
        // On points alone there is no dense loss (it would be theirs again, under another name).
        j["loss_dense"] = on_points ? nlohmann::json() : nlohmann::json(r.loss_dense);
        // What the metrics count: the dense masks, or the points of --labels (no dense masks).
        j["scored_on"] = on_points ? "labels" : also_points ? "dense+labels" : "dense";
        if (!a.labels.empty()) j["loss_labels"] = r.loss;
        if (!a.confusion.empty() && written) j["confusion_svg"] = a.confusion;
        if (!a.per_image.empty()) {
            if (written) j["per_image"] = a.per_image;
            nlohmann::json lowest = nlohmann::json::array();
            for (const std::size_t k : lowest_miou_order(scores, 5))
                lowest.push_back({{"id", scores[k].id}, {"miou", scores[k].metrics.miou}});
            j["lowest_miou"] = std::move(lowest);
        }
        std::printf("%s\n", j.dump(2).c_str());
        if (not_written) {  // said after the table, not before it (stdout is buffered in a pipe)
            std::fflush(stdout);
            std::rethrow_exception(not_written);
        }
        return;
    }
    const std::string unlabelled = r.images_unlabelled > 0
                                       ? " (" + std::to_string(r.images_unlabelled) +
                                             " of them label no pixel: nothing scored)"
                                       : std::string();
    std::printf("%s: %s split of %s%s, %lld image%s%s%s\n", a.checkpoint.c_str(), a.split.c_str(),
                d.root.c_str(),
                other_labels ? (" (" + ds.tile_labels_read() + " labels" +
                                (trained_read.empty() ? "" : ", trained on " + trained_read) + ")")
                                   .c_str()
                             : "",
                static_cast<long long>(r.images), r.images == 1 ? "" : "s", unlabelled.c_str(),
                tta > 1 ? (", test-time augmentation " + std::string(tta_name(tta)) + " (" +
                           std::to_string(tta) + " views averaged)")
                              .c_str()
                        : "");
    if (on_points)
        std::printf(
            "scored on the points of --labels %s: the images have no dense masks, so OA "
            "and IoU count those points\n",
            a.labels.c_str());
    else if (also_points)
        std::printf(
            "scored on the dense masks, and on the points of --labels %s for the %zu "
            "image%s without one\n",
            a.labels.c_str(), maskless, maskless == 1 ? "" : "s");
    // How the images went through, which moves the score (windows of 64 and of 128 on one
    // split scored 0.2345 and 0.2379): said as --json records it.
    // Images within one window (test-time augmentation and zoom take the windowed path) are
    // scored whole: "overlapping by 128 px" of 90x70 images said what did not happen.
    if (evaluates_in_windows(sizes, eo) && every_image_in_one_window(sizes, eo))
        std::printf(
            "scored each image whole (none exceeds the %dx%d window)%s\n", eo.window, eo.window,
            a.zoom == 1.0 ? ""
                          : detail::concat(", on the images zoomed by ", format_shortest(a.zoom),
                                           " (the logits brought back onto the masks' "
                                           "pixels)")
                                .c_str());
    else if (evaluates_in_windows(sizes, eo))
        std::printf("scored in sliding windows of %dx%d, neighbours overlapping by %d px%s\n",
                    eo.window, eo.window, eo.overlap,
                    a.zoom == 1.0
                        ? ""
                        : detail::concat(", on the images zoomed by ", format_shortest(a.zoom),
                                         " (the logits brought back onto the masks' pixels)")
                              .c_str());
    else if (!sizes.empty())  // images of one size within the window: whole, in batches (it
                              // said nothing, where the README has it say how it scored)
        std::printf("scored each image whole, in batches (all %dx%d, within the %dx%d window)\n",
                    sizes.front().first, sizes.front().second, eo.window, eo.window);
    std::printf("%s", format_metrics_table(r.metrics, m.class_names, m.clutter_class).c_str());
    if (interval)
        std::printf("%-22s [%.4f, %.4f]  (95%%: bootstrap of %zu %s, %d resamples%s)\n",
                    "mIoU interval", interval->lo, interval->hi, interval->images,
                    by_tile ? "tiles" : "images", interval->resamples,
                    few_units.empty() ? "" : "; too few to trust");
    if (interval) {  // each class's IoU from the same draws
        std::printf("IoU intervals (95%%, the same draws):\n");
        for (std::size_t c = 0; c < interval->class_lo.size() && c < m.class_names.size(); ++c) {
            if (std::isnan(interval->class_lo[c]))
                std::printf("  %-20s  -  (%s)\n", m.class_names[c].c_str(),
                            c < r.metrics.iou.size() && std::isnan(r.metrics.iou[c])
                                ? "absent"  // as the table says: in no truth and no prediction
                            : by_tile ? "in too few tiles to draw"
                                      : "in too few images to draw");
            else
                std::printf("  %-20s [%.4f, %.4f]\n", m.class_names[c].c_str(),
                            interval->class_lo[c], interval->class_hi[c]);
        }
    }
    if (!on_points) std::printf("%-22s %8.4f\n", "loss (dense)", r.loss_dense);
    if (!a.labels.empty()) std::printf("%-22s %8.4f\n", "loss (--labels)", r.loss);
    if (!a.per_image.empty()) {
        const std::string lowest = lowest_miou(scores, 5);
        if (!lowest.empty()) std::printf("lowest mIoU: %s\n", lowest.c_str());
        if (written) std::printf("every image's scores: %s\n", a.per_image.c_str());
    }
    if (!a.confusion.empty() && written) std::printf("confusion matrix: %s\n", a.confusion.c_str());
    if (comparison) {
        std::printf("%s", format_comparison(*comparison, a.against, m.class_names, m.clutter_class,
                                            unit_name)
                              .c_str());
        if (!on_points) std::printf("%-22s %8.4f\n", "B: loss (dense)", other_result->loss_dense);
        if (!other_reads.empty())
            std::printf("B read the images as it was trained: %s\n", other_reads.c_str());
        if (!a.labels.empty())
            std::printf("%-22s %8.4f\n", "B: loss (--labels)", other_result->loss);
    }
    if (not_written) {  // said after the table, not before it (stdout is buffered in a pipe)
        std::fflush(stdout);
        std::rethrow_exception(not_written);
    }
}

const bool registered = register_command(
    "eval", "metrics of a checkpoint on its run's split (dense masks)", [](CLI::App& sub) {
        auto a = std::make_shared<EvalArgs>();
        sub.add_option("--checkpoint", a->checkpoint, "checkpoint file (best.ckpt / last.ckpt)")
            ->required();
        sub.add_option("--data", a->data, "dataset root (default: the one the run trained on)");
        sub.add_option("--split", a->split,
                       "test | val | train (the run's own, by sample id) | all")
            ->transform(any_case())
            ->capture_default_str();
        sub.add_option("--labels", a->labels,
                       "also report the loss on this mask directory (sparse/linked)");
        CLI::Option* batch_size = sub.add_option(
            "--batch-size", a->batch_size, "images per batch (default: the training batch size)");
        CLI::Option* window = sub.add_option(
            "--window", a->window,
            "sliding-window side for large or mixed-size images, at least 16 (default: the "
            "training crop, else 512)");
        CLI::Option* overlap =
            sub.add_option("--overlap", a->overlap,
                           "pixels shared by neighbouring windows (window/4, as predict's)");
        sub.add_option("--tta", a->tta,
                       "test-time augmentation: none, flips (4 mirrored views averaged) or d4 (8: "
                       "mirrors and rotations)")
            ->capture_default_str();
        sub.add_option("--zoom", a->zoom,
                       "resample each image by this factor before the model, and its logits back "
                       "to the masks' pixels, where it is scored: the images' pixel size over the "
                       "training images' (2 for 10 cm imagery and a model trained at 5 cm)")
            ->check(decimal_number())
            ->capture_default_str();
        sub.add_option("--tile-labels", a->tile_labels,
                       "Potsdam tiles: score these labels (auto | full | eroded: "
                       "_label_noBoundary.tif, as the ISPRS benchmark scores) instead of the "
                       "run's data.tile_labels")
            ->transform(any_case());
        sub.add_option("--device", a->device, "auto | cpu | cuda[:N]")->capture_default_str();
        CLI::Option* max_pixels = add_max_pixels_option(sub, a->max_pixels);
        sub.add_flag("--json", a->json, "print JSON instead of the table");
        sub.add_option("--per-image", a->per_image,
                       "also write each image's scores to this CSV file (id, pixels, OA, mIoU, "
                       "per-class IoU and F1), and name the images of lowest mIoU");
        sub.add_option("--confusion", a->confusion,
                       "also draw the confusion matrix to this SVG file (rows: true classes; "
                       "cells: the share of a class's pixels predicted as each)");
        CLI::Option* bootstrap =
            sub.add_option("--bootstrap", a->bootstrap,
                           "also a 95% interval of the mIoU from this many resamples of the images "
                           "scored (e.g. 1000): how much the score depends on which images were "
                           "tested");
        sub.add_option("--against", a->against,
                       "a second checkpoint scored on the same images: both models' scores side "
                       "by side, and their mIoU difference with a 95% paired bootstrap interval "
                       "(whether the test set can tell them apart)");
        sub.add_option("--interval-class", a->interval_class,
                       "with --against, also the paired interval of this class's IoU difference "
                       "(e.g. building: a building-extraction model is judged by its buildings, "
                       "which the background's IoU hides in the mIoU)")
            ->needs("--against");
        sub.add_flag("--force", a->force, "replace an existing --per-image or --confusion file");
        sub.callback([a, batch_size, window, overlap, max_pixels, bootstrap] {
            a->batch_size_given = batch_size->count() > 0;
            a->bootstrap_given = bootstrap->count() > 0;
            a->window_given = window->count() > 0;
            a->overlap_given = overlap->count() > 0;
            a->max_pixels_given = max_pixels->count() > 0;
            run_eval(*a);
        });
    });

}  // namespace
}  // namespace pfce::cli
