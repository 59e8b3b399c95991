// `pfce train`: U-Net training with the partial focal loss. Settings come from a config file
// (--config, the seven sections of host/train/config.hpp) and/or one flag per config key (flags
// win); --resume continues OUT/last.ckpt with its stored settings, over which flags still apply.
// Ctrl-C or SIGTERM saves and exits with 130.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "core/dir_lock.hpp"
#include "core/file_io.hpp"
#include "core/log.hpp"
#include "core/stop_signal.hpp"
#include "data/sparse_masks.hpp"
#include "host/backend/backend_factory.hpp"
#include "host/cli/cli_checks.hpp"
#include "host/cli/command_registry.hpp"
#include "host/cli/config_flags.hpp"
#include "host/experiment/run_curves.hpp"
#include "host/train/checkpoint.hpp"
#include "host/train/config_sources.hpp"
#include "host/train/train_data.hpp"
#include "host/train/trainer.hpp"

namespace pfce::cli {
namespace {

struct TrainArgs {
    std::string config;
    std::map<std::string, std::string> flags;  // config key -> text, for the flags given
    bool resume = false, force = false, print_config = false;
};

// An experiment's training directory of a suite (pfce run OUT/<id>/train): the suite's report and
// result.json say what it trained, and skip it as finished. train --force or --resume there
// replaced its checkpoints under a report that still showed the old run (hostile-user probe), so
// it is refused, naming the suite command that reruns the experiment.
void refuse_a_suites_experiment_dir(const std::string& out) {
    namespace fs = std::filesystem;
    fs::path dir = fs::path(out).lexically_normal();
    if (dir.filename().empty()) dir = dir.parent_path();
    std::string experiment, suite;
    bool checkpoint_read = false;  // a checkpoint says whose it is; then nothing else is asked
    for (const char* name : {"last.ckpt", "best.ckpt"}) {
        const nlohmann::json meta = peek_checkpoint_meta((dir / name).string());
        if (!meta.is_object()) continue;
        checkpoint_read = true;
        const nlohmann::json data = meta.value("data", nlohmann::json());
        if (data.is_object() && data.contains("experiment") && data.contains("suite")) {
            experiment =
                data["experiment"].is_string() ? data["experiment"].get<std::string>() : "";
            suite = data["suite"].is_string() ? data["suite"].get<std::string>() : "";
            break;
        }
    }
    // No checkpoint (removed): OUT/<id>/train beside the result.json of experiment <id>.
    if (!checkpoint_read && dir.filename() == "train") {
        const std::string id = dir.parent_path().filename().string();
        const fs::path result = dir.parent_path() / "result.json";
        std::error_code ec;
        if (fs::is_regular_file(result, ec)) {
            const nlohmann::json j =
                nlohmann::json::parse(read_whole_file(result.string()), nullptr,
                                      /*allow_exceptions=*/false);
            if (j.is_object() && j.value("id", nlohmann::json()) == id) experiment = id;
        }
    }
    if (experiment.empty()) return;
    PFCE_THROW(InputError, "--out ", out, " is the training directory of experiment \"", experiment,
               "\" of a suite", suite.empty() ? "" : " (" + suite + ")",
               ": pfce run writes it, and its report shows what it trained; train in another "
               "--out, or rerun the experiment with pfce run ",
               suite.empty() ? "SUITE" : suite, " --out ",
               (dir.parent_path().parent_path()).string(), " --only ", experiment, " --force");
}

// With --labels DIR a run takes the label settings DIR records (adopt_labels_dir_settings). That
// refuses a setting away from its default that differs; a label setting given with the default's
// value (--points 500, or kind = "dense" in the config file, for linked masks of 40) is refused
// here, where what was given is known (`where`: the flags', and the config file's keys).
void refuse_label_settings_the_masks_contradict(const TrainArgs& a, const KeySources& where,
                                                const Config& asked, const Config& adopted) {
    if (adopted.labels.dir.empty()) return;
    std::string yielded, yielded_from;  // a file's keys at their defaults the masks decide
    for (const auto& [dotted, from] : where) {
        if (dotted.rfind("labels.", 0) != 0 || dotted == "labels.dir") continue;
        const ConfigKey* k = find_config_key(dotted);
        if (!k) continue;
        // A linking setting beside masks that are not linked would train without effect. Its
        // default is no setting of anything (--print-config writes every key: its file, given back
        // as --config, was refused for the conflict = "unlabelled" it printed).
        static const Config defaults;
        if (adopted.labels.kind != "linked" &&
            (dotted == "labels.radius" || dotted == "labels.conflict" ||
             dotted == "labels.max_color_step") &&
            k->get(asked) != k->get(defaults)) {
            const auto flag = a.flags.find(dotted);
            PFCE_THROW(InputError,
                       flag != a.flags.end() ? k->flag + " " + flag->second
                                             : from + ": " + dotted + " = " + k->get(asked).dump(),
                       ": the masks of labels.dir ", adopted.labels.dir, " are ",
                       adopted.labels.kind, ", not linked, and ", dotted,
                       " is a linking setting; drop it, or train on masks linked with it (pfce "
                       "link --in ",
                       adopted.labels.dir, ")");
        }
        const nlohmann::json given = k->get(asked), made = k->get(adopted);
        if (given == made) continue;
        // A file's key at its default beside --labels typed on the command line: a starting file
        // (--print-config writes every key), whose label settings the masks typed decide (the
        // file and --labels DIR were always refused for the kind = "dense" it printed).
        if (a.flags.count("labels.dir") && !a.flags.count(dotted) && given == k->get(defaults)) {
            yielded += (yielded.empty() ? "" : ", ") + dotted;
            if (yielded_from.empty()) yielded_from = from;
            continue;
        }
        const std::string made_with = " were made with " + dotted + " = " + made.dump() +
                                      " (their masks.json); a mask directory is trained on as it "
                                      "is: ";
        const auto flag = a.flags.find(dotted);
        if (flag != a.flags.end())
            PFCE_THROW(InputError, k->flag, " ", flag->second, ": the masks of --labels ",
                       adopted.labels.dir, made_with, "drop ", k->flag,
                       k->type == KeyType::boolean ? " (or --no-" + k->flag.substr(2) + ")" : "",
                       " or make masks with it (pfce sample / pfce link)");
        PFCE_THROW(InputError, from, ": ", dotted, " = ", given.dump(), ", but the masks of ",
                   "labels.dir ", adopted.labels.dir, made_with, "remove the key, or make masks ",
                   "with it (pfce sample / pfce link)");
    }
    if (!yielded.empty())
        log_info(yielded_from, ": ", yielded,
                 " (at their defaults) give way to the masks of --labels ", adopted.labels.dir,
                 ", whose masks.json says how they were made");
}

// A run resumed on its dataset at a new place (--data NEW_PLACE): the split lists and the mask
// directory it read from inside the old place are read from the same place inside the new one, so
// a dataset moved whole resumes with --data alone. Only a path gone from the old place whose twin
// exists at the new one is moved, and a path given on the command line stays as given; the split's
// ids and the label settings are still compared by the trainer.
void follow_the_moved_dataset(Config& cfg, const Config& stored, const TrainArgs& a) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const std::string old_root = resolved_path(stored.data.root);
    if (old_root.empty() || cfg.data.root.empty() || old_root == resolved_path(cfg.data.root) ||
        fs::exists(old_root, ec))
        return;
    for (const char* dotted :
         {"data.train_list", "data.val_list", "data.test_list", "labels.dir"}) {
        if (a.flags.count(dotted)) continue;
        const ConfigKey* k = find_config_key(dotted);
        const std::string was = k->get(cfg).get<std::string>();
        if (was.empty() || fs::exists(was, ec)) continue;
        const fs::path inside = fs::path(was).lexically_relative(old_root);
        if (inside.empty() || *inside.begin() == "..") continue;
        const std::string now = (fs::path(cfg.data.root) / inside).lexically_normal().string();
        if (!fs::exists(now, ec)) continue;
        log_info(dotted, " moved with the dataset: ", was, " -> ", now);
        k->set(cfg, now);
    }
}

// What a finished `pfce train` prints: what ran (or that nothing had to), the last epoch's
// numbers, and where the checkpoints and metrics are.
// Whether the run in `out` read a tiles dataset, as its checkpoint records (the kind found, or
// the tile labels read): where it did not, data.tile_* do nothing and a resume does not compare
// them. A checkpoint that records neither (an older pfce's) counts as tiles: compared, as before.
bool run_read_tiles(const std::string& out) {
    const nlohmann::json meta =
        peek_checkpoint_meta((std::filesystem::path(out) / "last.ckpt").string());
    const nlohmann::json data = meta.is_object() ? meta.value("data", nlohmann::json()) : nullptr;
    if (!data.is_object()) return true;
    if (data.contains("dataset_kind") && data["dataset_kind"].is_string())
        return data["dataset_kind"].get<std::string>() == "tiles";
    return true;
}

void print_train_result(const TrainResult& r, const TrainInputs& inputs, const Config& cfg) {
    if (r.already_finished && r.last_epoch_metrics_lost) {
        std::printf(
            "nothing to do: %s already finished its %d epochs (--epochs N continues it for "
            "longer); its last epoch's numbers are not in its metrics.jsonl (see above)\n",
            cfg.run.out.c_str(), r.epochs_completed);
    } else {
        if (r.already_finished)
            std::printf(
                "nothing to do: %s already finished its %d epochs (--epochs N continues it "
                "for longer)\nlast epoch: ",
                cfg.run.out.c_str(), r.epochs_completed);
        else
            std::printf("trained %d epoch%s (%lld step%s): ", r.epochs_completed,
                        r.epochs_completed == 1 ? "" : "s", static_cast<long long>(r.steps),
                        r.steps == 1 ? "" : "s");
        std::printf("train loss %.4f", r.train_loss);
        if (inputs.val.empty())  // too few samples for a validation split: say so, not NaN
            std::printf(", no validation split (best checkpoint follows the training loss)\n");
        else if (r.best_metric == "train_loss")  // a split without a labelled pixel
            std::printf(
                ", validation has no labelled pixel (best checkpoint follows the "
                "training loss)\n");
        else if (std::isnan(r.val.metrics.oa))  // images without dense masks: nothing to score
            std::printf(", val loss %.4f (its dense masks label no pixel: no mIoU or OA)\n",
                        r.val.loss);
        else
            std::printf(", val loss %.4f, val mIoU %.4f, OA %.4f%s\n", r.val.loss,
                        r.val.metrics.miou, r.val.metrics.oa,
                        inputs.data_meta.value("val_scored_on", "") == "labels"
                            ? " (on the points of --labels: the val images have no dense masks)"
                        : inputs.data_meta.value("val_scored_on", "") == "dense+labels"
                            ? " (on the dense masks, and the points of --labels where an image "
                              "has none)"
                            : "");
    }
    if (r.best_epoch > 0 && std::filesystem::exists(r.best_checkpoint))
        std::printf("best epoch %d (%s %.4f): %s\n", r.best_epoch, r.best_metric.c_str(),
                    r.best_value, r.best_checkpoint.c_str());
    std::printf("last: %s\nmetrics: %s\n", r.last_checkpoint.c_str(), r.metrics_path.c_str());
    if (const std::string curves =
            (std::filesystem::path(r.metrics_path).parent_path() / kRunCurvesFile).string();
        is_run_curves(curves))
        std::printf("curves: %s\n", curves.c_str());
}

void run_train(const TrainArgs& a) {
    Config cfg;
    std::optional<Config> stored;  // the run's own config, read once from its last.ckpt (--resume)
    // Where each key was set, so that an error names the file, or the flag, that holds the value.
    KeySources where;
    std::string unset = "the defaults";  // the source of a key nobody set
    std::string experiment;              // the id of a suite's experiment file given as --config
    std::optional<toml::table> file;
    std::set<std::string> others;  // tables of the file that are not config sections
    if (!a.config.empty()) {
        file = parse_toml_file(a.config, "--config");
        // A suite's experiment file trains as a config: its settings over the defaults, not over
        // its suite's [data], [model] and others, so the run may differ from the suite's.
        experiment = experiment_of_config_file(*file, a.config);
        if (!experiment.empty()) others = {"experiment"};
        if (!experiment.empty() && !a.resume)
            log_info(a.config, ": the experiment file of \"", experiment,
                     "\": pfce train takes its settings over the defaults, not over its suite's "
                     "(pfce run SUITE --only ",
                     experiment, " runs it as the suite does)");
    }
    if (a.resume) {
        // The run's own settings, under the file's and the flags': a file that sets only
        // run.epochs changes only that (it once put the defaults back under it, and every
        // other setting was then refused as changed).
        const auto out = a.flags.find("run.out");
        if (out != a.flags.end() && out->second.empty())
            PFCE_THROW(InputError, "--resume --out \"\": expected the run directory to resume");
        std::string dir = cfg.run.out;
        if (file) {
            Config from_file;
            apply_toml_sections(from_file, *file, a.config, others);
            dir = from_file.run.out;
        }
        if (out != a.flags.end()) dir = out->second;
        stored = config_of_run(dir);
        cfg = *stored;
        unset = kStoredConfigSource + dir;
    }
    if (file) {
        apply_toml_sections(cfg, *file, a.config, others);
        record_key_sources(*file, a.config, others, where);
    }
    for (const auto& [dotted, text] : a.flags) where[dotted] = "command line";
    const ConfigKeySources source = key_sources(where, unset);
    apply_config_flags(cfg, a.flags);
    validate(cfg, source);
    // A mask directory given is read once here: how its images were read (value range, bands)
    // is the run's where it sets none, and --print-config shows its label settings too.
    std::optional<MaskDir> labels_md;
    {
        std::error_code ec;
        if (!cfg.labels.dir.empty() &&
            std::filesystem::is_regular_file(std::filesystem::path(cfg.labels.dir) / "masks.json",
                                             ec))
            labels_md = open_mask_dir(cfg.labels.dir);
    }
    if (labels_md) adopt_labels_dir_image_settings(cfg.data, *labels_md);
    // Another run from a run's config.toml (--config OUT/config.toml): its mask directory may hold
    // masks made again since, with other settings, which the file leaves to the masks (a probe's
    // run trained on 200 points a class where the first had 51, without a word; --resume refuses).
    // (Not for other masks typed with --labels: those are no longer the run's.)
    if (labels_md && !a.resume && !a.config.empty() && !a.flags.count("labels.dir")) {
        if (const std::vector<std::string> then = run_config_labels_of_masks(a.config);
            !then.empty()) {
            Config now = cfg;
            bool adopted = true;
            try {
                adopt_labels_dir_settings(now.labels, *labels_md, false);
            } catch (const InputError&) {  // refused below, with the keys named
                adopted = false;
            }
            const std::vector<std::string> made = run_config_labels_of_masks(now);
            auto joined = [](const std::vector<std::string>& lines) {
                std::string s;
                for (const std::string& l : lines) s += (s.empty() ? "" : ", ") + l;
                return s;
            };
            if (adopted && made != then)
                log_warn(a.config, " is the settings of a run whose masks were made with ",
                         joined(then), "; labels.dir ", labels_md->dir,
                         " now holds masks made with ", joined(made),
                         " (its masks.json): this run trains on those. To repeat that run, make "
                         "the masks again with its settings");
        }
    }
    // Then the dataset's own reading ([image] of its dataset.toml) where neither the run (a flag or
    // config key given, even empty) nor the masks' record sets one (its default reading is one:
    // preview and link read the masks' images so); a resumed run keeps the reading it began with.
    {
        const bool recorded = labels_md && image_reading_record(*labels_md);
        const bool fixed = a.resume || recorded;
        adopt_dataset_image_settings(cfg.data, fixed || where.count("data.bands"),
                                     fixed || where.count("data.value_range"),
                                     a.resume ? "resumed run's" : "run's");
    }
    if (a.print_config) {
        // The label settings of a mask directory are the run's (as training takes them), so the
        // file printed says what the run trains on.
        if (labels_md) {
            const Config asked = cfg;
            adopt_labels_dir_settings(cfg.labels, *labels_md, a.resume, &source);
            refuse_label_settings_the_masks_contradict(a, where, asked, cfg);
        }
        // What --resume would continue with, or its refusal: a printed config of settings the
        // resume then refuses (an lr changed mid-run) would be a config no run has.
        if (a.resume) {
            Config resumed = cfg;
            make_paths_absolute(resumed);
            follow_the_moved_dataset(resumed, *stored, a);
            const DeviceChoice device = parse_device_choice(resumed.run.device);
            const bool cuda = device == DeviceChoice::cuda ||
                              (device == DeviceChoice::automatic && cuda_devices() > 0);
            // Labels a run samples itself are as typed: compared now, as the resume compares
            // them (a mask directory's are compared by the resume, with its moved-masks rules).
            refuse_changed_settings(*stored, resumed, /*labels_too=*/resumed.labels.dir.empty(),
                                    cuda,
                                    /*root_moved=*/"same", /*same_label_counts=*/false,
                                    !run_read_tiles(resumed.run.out), &where);
        }
        std::printf("%s", to_toml_text(cfg).c_str());
        return;
    }
    // Each said with the sources of every setting it names, not only of the key it is about: a
    // plateau too long for the run was put on "the defaults" when flags set the schedule and
    // the epochs.
    for (const UnusedSetting& u : unused_settings(cfg)) {
        std::vector<std::string> named = {u.key};
        for (const ConfigKey& k : config_keys())
            if (k.dotted() != u.key && u.message.find(k.dotted() + " = ") != std::string::npos)
                named.push_back(k.dotted());
        log_warn(source(named), ": ", u.message);
    }
    // A suite's setting (train tests nothing), said unless the file is a suite's experiment file.
    if (cfg.run.evaluate != Config{}.run.evaluate && experiment.empty())
        log_warn(source({"run.evaluate"}), ": run.evaluate = \"", cfg.run.evaluate,
                 "\" has no effect in pfce train (it picks the checkpoint a suite tests); test "
                 "one with pfce eval --checkpoint OUT/best.ckpt or OUT/last.ckpt");
    make_paths_absolute(cfg);

    TrainOptions opts;
    opts.resume = a.resume;
    opts.force = a.force;
    // OUT/curves.svg, drawn again after every epoch: a browser shows how the run goes. Its
    // subtitle names the labels as the run trains on them: those of a mask directory given (its
    // kind and how it was made), which training adopts later (it said "dense from DIR" of linked
    // masks; README probe). A refusal of them is training's to say.
    Config summarized = cfg;
    if (labels_md) try {
            adopt_labels_dir_settings(summarized.labels, *labels_md, a.resume);
        } catch (const InputError&) {
        }
    opts.on_metrics = [out = cfg.run.out, settings = run_settings_summary(summarized)] {
        const std::filesystem::path o(out);
        write_run_curves((o / "metrics.jsonl").string(), (o / kRunCurvesFile).string(),
                         "pfce train: " + out, settings);
    };
    // Errors about OUT name the file that set it ("--out" for one it did not).
    if (const auto it = where.find("run.out"); it != where.end() && it->second != "command line")
        opts.out_name = it->second + ": run.out";
    std::string device_name = "--device";
    if (const auto it = where.find("run.device"); it != where.end() && it->second != "command line")
        device_name = it->second + ": run.device";
    // A loop of links on the way: said as every command says it (it was "Too many levels of
    // symbolic links (status)").
    if (missing_reason(cfg.run.out).find("loop of symbolic links") != std::string::npos)
        refuse_unreachable_out(cfg.run.out, opts.out_name);
    refuse_a_suites_experiment_dir(cfg.run.out);
    // Before anything is written (the labels a run samples go into OUT/labels): OUT is new, empty
    // or an earlier run, and lies outside the dataset and the labels it trains on.
    check_run_dir(cfg, opts);
    refuse_output_dir_among_others(opts.out_name + " " + cfg.run.out, cfg.run.out,
                                   "its checkpoints and labels");
    const StopSignals stop_signals;  // Ctrl-C / SIGTERM: save and exit 130
    auto backend = make_backend(cfg.run.device, device_name);
    const Config asked = cfg;
    // Settings that cannot resume are refused before the data is read and its warnings said.
    if (a.resume) {
        const Config run_cfg = stored ? *stored : config_of_run(cfg.run.out);
        follow_the_moved_dataset(cfg, run_cfg, a);
        // Labels the run samples itself (OUT/labels) are compared here too, before they are
        // sampled: a refused resume rewrote them with the settings it then refused.
        refuse_changed_settings(run_cfg, cfg, /*labels_too=*/cfg.labels.dir.empty(),
                                backend->device() == DeviceKind::cuda, /*root_moved=*/"same",
                                /*same_label_counts=*/false, !run_read_tiles(cfg.run.out), &where);
        std::error_code ec;
        if (cfg.data.source == "dataset" && !cfg.data.root.empty() &&
            !std::filesystem::exists(cfg.data.root, ec) && !a.flags.count("data.root"))
            PFCE_THROW(InputError, "cannot resume ", cfg.run.out, ": its dataset ", cfg.data.root,
                       " no longer exists; if it moved, resume with --data NEW_PLACE (the same "
                       "samples are checked there)");
        // Its mask directory likewise (it was said as a stored setting that does not exist, with
        // no word of how to go on; reproducibility probe).
        if (!cfg.labels.dir.empty() && !std::filesystem::exists(cfg.labels.dir, ec) &&
            !a.flags.count("labels.dir"))
            PFCE_THROW(InputError, "cannot resume ", cfg.run.out, ": its labels (labels.dir) ",
                       cfg.labels.dir,
                       " no longer exist; if they moved, resume with --labels NEW_PLACE (the "
                       "masks are checked against the ones the run trained on)");
    }
    // Reading the data may write the run's labels (OUT/labels) before a refusal of what it found
    // (no labelled pixel, crops of padding), and a full disk may fail the first checkpoint: an OUT
    // this command made, and the directories made for it, go again while it holds no checkpoint
    // to resume (they were left, empty or with labels alone).
    std::error_code ec;
    namespace fs = std::filesystem;
    std::vector<fs::path> missing;  // OUT and the ancestors it lacks, deepest first
    for (fs::path p = fs::path(cfg.run.out).lexically_normal();
         !p.empty() && !fs::exists(fs::symlink_status(p, ec)); p = p.parent_path()) {
        missing.push_back(p);
        if (p == p.parent_path()) break;
    }
    const bool out_existed = missing.empty();
    auto remove_what_was_made = [&] {
        if (out_existed || fs::exists(fs::path(cfg.run.out) / "last.ckpt", ec)) return;
        // Not while another pfce holds OUT: a train started on the same new OUT at the same
        // moment saw it missing too, and took it; this one was refused its lock.
        if (locked_by_another_process(cfg.run.out)) return;
        fs::remove_all(cfg.run.out, ec);
        for (const fs::path& p : missing) fs::remove(p, ec);  // each only if empty
    };
    TrainInputs inputs;
    TrainResult r;
    try {
        inputs = load_train_inputs(*backend, cfg, source, a.resume);
        refuse_label_settings_the_masks_contradict(a, where, asked, cfg);
        r = train_unet(*backend, cfg, inputs, opts);
    } catch (...) {
        remove_what_was_made();
        throw;
    }
    if (r.interrupted || stop_requested()) {
        std::printf(
            "interrupted after %lld steps; checkpoint %s (continue: pfce train --resume --out "
            "%s)\n",
            static_cast<long long>(r.steps), r.last_checkpoint.c_str(), cfg.run.out.c_str());
        throw CLI::RuntimeError(130);
    }
    print_train_result(r, inputs, cfg);
}

const bool registered = register_command(
    "train", "train the U-Net with the partial focal loss (config file and/or flags)",
    [](CLI::App& sub) {
        auto a = std::make_shared<TrainArgs>();
        sub.add_option("--config", a->config,
                       "TOML file with [data] [labels] [model] [loss] [optimizer] [schedule] [run] "
                       "tables (flags override it)")
            ->check(CLI::Validator(
                [](std::string& path) -> std::string {
                    const std::string why = missing_reason(path);  // a loop said as one
                    return why.empty() ? std::string() : path + " " + why;
                },
                "FILE"));
        auto* resume =
            sub.add_flag("--resume", a->resume, "continue the run in --out from last.ckpt");
        sub.add_flag("--force", a->force, "start over even if --out holds a run")
            ->excludes(resume);  // continue it or start over: not both
        sub.add_flag("--print-config", a->print_config,
                     "print the resolved config as TOML and exit (a starting config file)");
        add_config_flags(sub, a->flags);
        sub.callback([a] { run_train(*a); });
    });

}  // namespace
}  // namespace pfce::cli
