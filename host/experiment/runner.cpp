// The suite runner: which experiments run (finished ones with the same settings are skipped), the
// data once per suite, each experiment through host/experiment/experiment_run, failures recorded
// per experiment, and the report from every finished experiment at the end.
#include "host/experiment/runner.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "core/file_io.hpp"
#include "core/log.hpp"
#include "core/output_dir.hpp"
#include "core/source_version.hpp"
#include "core/stop_signal.hpp"
#include "core/stopwatch.hpp"
#include "core/text.hpp"
#include "data/data_fingerprint.hpp"
#include "data/mask_dir.hpp"
#include "data/synth.hpp"
#include "host/backend/backend_factory.hpp"
#include "host/experiment/experiment_run.hpp"
#include "host/experiment/experiment_settings.hpp"
#include "host/experiment/report.hpp"
#include "host/experiment/results.hpp"
#include "host/experiment/suite_data.hpp"
#include "host/experiment/text_file.hpp"
#include "host/train/checkpoint.hpp"
#include "host/train/config.hpp"
#include "host/train/progress.hpp"
#include "host/train/train_data.hpp"

namespace pfce {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

std::string result_path(const std::string& out_dir, const std::string& id) {
    return (fs::path(out_dir) / id / "result.json").string();
}

// Whether --only selects experiment e: its id, or (with seeds) the experiment all its seeds run.
bool selected_by(const std::string& id, const ExperimentSpec& e) {
    return e.id == id || (!e.group.empty() && e.group == id);
}

void check_only(const Suite& suite, const RunOptions& opts) {
    for (const auto& id : opts.only) {
        bool known = false;
        for (const auto& e : suite.experiments) known = known || selected_by(id, e);
        if (known) continue;
        std::string ids;  // with seeds: the experiments (each selects its runs), then the form
        std::set<std::string> named;
        for (const auto& e : suite.experiments) {
            const std::string& name = e.group.empty() ? e.id : e.group;
            if (named.insert(name).second) ids += (ids.empty() ? "" : ", ") + name;
        }
        PFCE_THROW(InputError, "--only ", id, ": no such experiment in ", suite.file, " (it has ",
                   ids, suite.seeds.empty() ? "" : "; one seed's run: <id>-s<seed>", ")");
    }
}

struct Plan {
    ExperimentSpec spec;  // with data.root resolved
    json fingerprint;
    bool run = false;
    std::optional<ExperimentResult> result;
    // Why the report lacks a run of it with the current settings (an earlier result of other
    // settings kept, or left out by --only); empty when it has one or is about to run.
    std::string refused;
    // A setting that does not fit the data as read (validate_for_classes: points or weights per
    // class): the experiment fails without running, and is said before any other runs.
    std::string invalid;
    // Set when a stop interrupted it this time: what the report says of it (it resumes on the
    // next run), rather than "not run".
    std::string stopped;
    // A finished experiment skipped whose picture grid was drawn for another suite.grid_images
    // (which changes no result): drawn again from its checkpoint.
    bool redraw_grid = false;
    bool reached = false;   // its run began this time
    bool skipped = false;   // finished earlier, selected, not run again (counted in sum.skipped)
    bool selected = false;  // by --only (every experiment without it)
};

}  // namespace

std::string stale_reason(json was, json now) {
    if (!was.is_object()) return "settings it does not record";  // null: an early pfce's result
    const json was_data = was.contains("data.identity") ? was["data.identity"] : json();
    if (!was_data.is_null() && !was_data.is_object())
        return "other data (its record of the data, " + was_data.dump().substr(0, 80) +
               ", is unreadable)";
    const json now_data = now.contains("data.identity") ? now["data.identity"] : json();
    was.erase("data.identity");
    now.erase("data.identity");
    // Where the data lies is not what it is: synthetic data is made from its settings (compared
    // below as keys), a dataset is compared by its files (data.identity). A run directory moved or
    // copied with its own synthetic data found every result "made with other settings
    // (data.root)".
    const auto source = [](const json& j) {
        return j.contains("data.source") && j["data.source"].is_string()
                   ? j["data.source"].get<std::string>()
                   : std::string();
    };
    const bool same_files = was_data.is_object() && now_data.is_object() &&
                            data_identity_change(was_data, now_data).empty();
    if ((source(was) == "synthetic" && source(now) == "synthetic") || same_files) {
        was.erase("data.root");
        now.erase("data.root");
    }
    // Results of a pfce that fingerprinted split lists by path (it recorded the path, "" for
    // none): where both then and now have a list, compared on everything else (as results without
    // data.identity are), rather than all made stale by the upgrade. A list given or dropped since
    // is a change, as are a list's ids now recorded where a result of this pfce had no list (its
    // absence once took any list added later for the same settings).
    for (const std::string list : {"data.train_list", "data.val_list", "data.test_list"}) {
        const std::string ids = list + " ids";
        if (!was.contains(list)) continue;  // this pfce's: lists by their ids, compared below
        const bool had = was[list].is_string() && !was[list].get<std::string>().empty();
        was.erase(list);
        if (had && now.contains(ids))
            now.erase(ids);
        else if (had)
            was[ids] = "a list (recorded by its path)";
    }
    // Keys a later pfce added (data.split_by) hold, at their default, what the earlier pfce did
    // without them: its results are not made stale by the upgrade. Any other key missing is a
    // difference.
    // Results of a pfce that did not record the starting checkpoint's checksum: compared on the
    // rest, as before.
    if (!was.contains(kInitFromChecksumKey)) now.erase(kInitFromChecksumKey);
    const Config defaults;
    for (const ConfigKey& k : config_keys())
        if (const std::string key = k.dotted(); k.added_at_old_behaviour && !was.contains(key) &&
                                                now.contains(key) && now[key] == k.get(defaults))
            now.erase(key);
    // A setting without effect in both (labels.seed of a dense run, CRF settings with the term
    // off) is no difference: pfce says at the start that it does nothing (suite probe: such a
    // setting made every result stale).
    if (was != now) {
        const std::vector<std::string> idle_was = keys_without_effect(config_of_fingerprint(was));
        for (const std::string& key : keys_without_effect(config_of_fingerprint(now)))
            if (std::find(idle_was.begin(), idle_was.end(), key) != idle_was.end()) {
                was.erase(key);
                now.erase(key);
            }
    }
    if (was != now) {  // say which, so a list edited in place is seen for what it is
        std::vector<std::string> differ;
        for (const auto& [k, v] : was.items())
            if (!now.contains(k) || now[k] != v) differ.push_back(k);
        for (const auto& [k, v] : now.items())
            if (!was.contains(k)) differ.push_back(k);
        // The data elsewhere and its files changed (a copy made with cp -r: new times): said as
        // other data, with both, not as "other settings (data.root)" (walkthrough).
        if (differ.size() == 1 && differ[0] == "data.root" && was["data.root"].is_string()) {
            const std::string change = data_identity_change(was_data, now_data);
            // Where it is read now too: a relative [data] root run from another directory is
            // another dataset, not the same one changed (a probe was told its files changed).
            const std::string now_root = now.contains("data.root") && now["data.root"].is_string()
                                             ? ", " + now["data.root"].get<std::string>() + " now"
                                             : std::string();
            return "other data (" + was["data.root"].get<std::string>() + " then" + now_root +
                   (change.empty() ? "" : "; " + change + " since") + ")";
        }
        if (differ.size() == 1 && differ[0] == kInitFromChecksumKey)
            return now[kInitFromChecksumKey] == "absent"
                       ? "starting weights that are gone (the checkpoint model.init_from names, " +
                             now.value("model.init_from", std::string()) +
                             ", is missing or unreadable now; a relative path is read from the "
                             "working directory)"
                       : "other starting weights (the checkpoint model.init_from names has "
                         "been written again since)";
        std::string keys;
        for (std::size_t i = 0; i < differ.size() && i < 3; ++i)
            keys += (i ? ", " : "") + differ[i];
        return "other settings (" + keys + (differ.size() > 3 ? ", ..." : "") + ")";
    }
    const std::string change = data_identity_change(was_data, now_data);
    return change.empty() ? std::string() : "other data (" + change + " since)";
}

namespace {

// OUT/<id> as pfce keeps an experiment there: a directory of its result.json, grid.png, train/ and
// sessions.json (an interrupted run's, see session_path) and temporaries, or nothing yet. Anything
// else is a user's -- a folder made by hand, a file, a link out of OUT, another command's output --
// and is refused, --force or not: --force reruns experiments, it does not replace what pfce did not
// write (before, a user's grid.png there was overwritten without a word).
void check_experiment_dir(const std::string& out_dir, const std::string& id) {
    const fs::path dir = fs::path(out_dir) / id;
    std::error_code ec;
    const fs::file_status st = fs::symlink_status(dir, ec);
    if (!fs::exists(st)) return;
    if (fs::is_symlink(st) || !fs::is_directory(st))
        PFCE_THROW(InputError, dir.string(), " is ", fs::is_symlink(st) ? "a link" : "a file",
                   ", not the directory pfce keeps experiment \"", id,
                   "\" in: move it, or give the experiment another id");
    std::vector<std::string> others;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        const bool ours =
            (name == "result.json" || name == "grid.png" || name == "sessions.json") &&
            e.is_regular_file(ec);
        if (!ours && !(name == "train" && e.is_directory(ec) && !e.is_symlink(ec)) &&
            !is_temp_name(name))
            others.push_back(name);
    }
    std::sort(others.begin(), others.end());
    if (!others.empty()) {
        std::string some;
        for (std::size_t i = 0; i < others.size() && i < 3; ++i)
            some += (i ? ", " : "") + others[i];
        PFCE_THROW(InputError, dir.string(), " holds files pfce did not write (", some,
                   others.size() > 3 ? ", ..." : "",
                   "): pfce keeps an experiment's result.json, grid.png, sessions.json and "
                   "train/ there and nothing else; move them, or give experiment \"",
                   id, "\" another id. --force does not change this.");
    }
}

// OUT holding results of experiments this suite does not have, nor in another form (`other`): an
// experiment renamed, or removed from the suite. Not in the report, left as they are: said once,
// so that a renamed experiment's training again, and the folder beside it, are explained (a
// walkthrough's renamed experiment trained again without a word).
void say_results_of_no_experiment(const Suite& suite, const std::string& out_dir,
                                  const std::vector<std::string>& other) {
    std::set<std::string> known(other.begin(), other.end());
    for (const ExperimentSpec& e : suite.experiments) {
        known.insert(e.id);
        if (!e.group.empty()) known.insert(e.group);
    }
    std::vector<std::string> orphans;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(out_dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (!known.count(name) && file_exists(result_path(out_dir, name))) orphans.push_back(name);
    }
    if (orphans.empty()) return;
    std::sort(orphans.begin(), orphans.end());
    log_info(out_dir, " holds the results of ", orphans.size(),
             orphans.size() == 1 ? " experiment" : " experiments", " this suite does not have (",
             some_names(orphans),
             "; renamed, or removed from the suite): not in the report, left as they are. An "
             "experiment renamed trains again under its new id");
}

// OUT holding an experiment's results in the other form than this suite runs it (e1-700 from a
// run without seeds where it now runs as e1-700-s0, e1-700-s1, ...; or the reverse): those are
// not in this report, and its seed-0 run trains again rather than take them. Said once, with
// their ids, so the folders left beside the new ones are explained.
void say_runs_of_the_other_form(const Suite& suite, const std::string& out_dir) {
    std::vector<std::string> other;
    std::set<std::string> groups;
    for (const ExperimentSpec& e : suite.experiments) {
        if (!e.group.empty()) {
            if (groups.insert(e.group).second && file_exists(result_path(out_dir, e.group)))
                other.push_back(e.group);
            continue;
        }
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(out_dir, ec)) {
            const std::string name = entry.path().filename().string();
            if (name.rfind(e.id + "-s", 0) == 0 && name.size() > e.id.size() + 2 &&
                std::all_of(name.begin() + static_cast<std::ptrdiff_t>(e.id.size() + 2), name.end(),
                            [](char c) { return c >= '0' && c <= '9'; }) &&
                file_exists(result_path(out_dir, name)))
                other.push_back(name);
        }
    }
    say_results_of_no_experiment(suite, out_dir, other);
    if (other.empty()) return;
    std::sort(other.begin(), other.end());
    const bool seeded = !groups.empty();
    log_info(out_dir, " holds ", other.size(), other.size() == 1 ? " run" : " runs", " of ",
             seeded ? "experiments without seeds" : "a suite with seeds", " (", some_names(other),
             "), which this ", seeded ? "suite with seeds" : "suite without seeds",
             " does not show", seeded ? " (its seed-0 runs train again)" : "",
             ": left as they are; another --out keeps the two apart");
}

// Where results are stale because the data's files "changed (or were touched)": the files newer
// than the results (`result`, the result.json's path), masks or images, each a test unit's marked,
// so that a real edit tells from a touch and a test mask mended from a training one (a
// walkthrough's edited test mask made both experiments stale, naming no file). "" where none is
// newer (the files were replaced by older ones, or the data does not open).
// `ds` is opened at the first call and kept for the others (one scan of the data per suite run).
std::string files_newer_than_results(const DataSettings& data, std::optional<Dataset>& ds,
                                     const std::string& result, const std::string& checkpoint,
                                     const ExperimentResult& r, bool masks) {
    std::error_code ec;
    const auto since = fs::last_write_time(result, ec);
    if (ec) return {};
    std::set<std::string> test;
    for (const TestUnit& u : r.test_units) test.insert(u.id);
    std::vector<std::string> newer;
    std::size_t in_test = 0;
    try {
        if (!ds) ds.emplace(Dataset::open(data.root, dataset_options(data)));
        for (const FileWrittenAfter& f : files_written_after(*ds, since, masks)) {
            const bool tested = test.count(f.id) || test.count(tile_of(f.id));
            in_test += tested;
            newer.push_back(f.name + (tested ? " (a test image's)" : ""));
        }
    } catch (const Error&) {
        return {};
    }
    if (newer.empty()) return {};
    std::string s = "; newer than these results: " + some_names(newer);
    if (newer.size() > 3) s += " (" + std::to_string(newer.size()) + " files)";
    if (in_test == newer.size() && masks)
        s += ". Only test masks: the trainings would be the same, and pfce eval --checkpoint " +
             checkpoint + " --split test scores a model against them now";
    return s;
}

std::string sessions_path(const std::string& out_dir, const std::string& id);

// What an interrupted training in OUT/<id>/train was made with that the experiment now is not
// (interrupted_training_changes), and, first, starting weights (model.init_from) written again
// since a Ctrl-C stopped it, as its sessions.json records them (a resume took them for its own).
std::vector<std::string> interrupted_changes(const std::string& out_dir, const std::string& id,
                                             const Config& cfg, const json& identity,
                                             const json& fingerprint) {
    std::vector<std::string> changes =
        interrupted_training_changes((fs::path(out_dir) / id / "train").string(), cfg, identity);
    const std::string sessions = sessions_path(out_dir, id);
    if (!fingerprint.contains(kInitFromChecksumKey) || !file_exists(sessions)) return changes;
    try {
        const json then = json::parse(read_text_file(sessions)).at("config");
        if (then.contains(kInitFromChecksumKey) &&
            then[kInitFromChecksumKey] != fingerprint[kInitFromChecksumKey])
            changes.insert(changes.begin(), "model.init_from: its weights written again since");
    } catch (const std::exception&) {  // unreadable: read_sessions says so when it runs
    }
    return changes;
}

// Finished experiments with the same settings on the same data are skipped; others run.
// `identity`: suite_data_identity(data); `unreadable`: why the data does not open ("" if it
// does).
std::vector<Plan> plan_runs(const Suite& suite, const DataSettings& data, const json& identity,
                            const std::string& unreadable, const RunOptions& opts,
                            const std::string& out_dir, RunSummary& sum) {
    std::vector<Plan> plans;
    std::optional<Dataset> opened;  // the data, where stale results name its files
    for (const auto& e : suite.experiments) {
        Plan p;
        p.spec = e;
        p.spec.config.data.root = data.root;
        p.fingerprint = experiment_fingerprint(p.spec);
        if (!identity.is_null()) p.fingerprint["data.identity"] = identity;
        const bool selected = opts.only.empty() || std::any_of(opts.only.begin(), opts.only.end(),
                                                               [&](const std::string& id) {
                                                                   return selected_by(id, e);
                                                               });
        p.selected = selected;
        const std::string rp = result_path(out_dir, e.id);
        if (selected) check_experiment_dir(out_dir, e.id);
        std::optional<ExperimentResult> old;
        if (file_exists(rp)) {
            try {
                old = read_result(rp);
            } catch (const Error& ex) {
                // pfce's, damaged (it names this experiment): run again, as before. Anything
                // else is another's file, which a rerun would replace.
                bool names_it = false;
                try {
                    const json j = json::parse(read_whole_file(rp));
                    names_it = j.is_object() && j.value("id", json()) == json(e.id);
                } catch (const std::exception&) {
                }
                if (selected && !names_it)
                    PFCE_THROW(InputError, rp, " is not a result pfce wrote (", ex.what(),
                               "): move it, or give experiment \"", e.id,
                               "\" another id. --force does not change this.");
                log_warn(e.id, ": ignoring unreadable ", rp, ": ", ex.what());
            }
        }
        const bool finished = old && old->status == "ok";
        const std::string stale = old ? stale_reason(old->config, p.fingerprint) : std::string();
        if (selected && finished && !opts.force && !stale.empty()) {
            // Not rerun: the report keeps showing the results on disk, and says they are not of
            // the current settings and data.
            const bool touched = stale.find("files changed (or were touched)") != std::string::npos;
            const std::string newer =
                touched ? files_newer_than_results(data, opened, rp,
                                                   tested_checkpoint(out_dir, e.id, *old), *old,
                                                   stale.find("label files") != std::string::npos)
                        : std::string();
            p.refused = "not rerun: " + out_dir + " holds its results made with " + stale + newer +
                        " (" + rp + ", shown here); rerun with --force --only " + e.id +
                        " to replace them (--force alone reruns every experiment), or use "
                        "another --out";
            // A mistyped --data or [data] root reads as a change of settings: say that the
            // data now named would not even open.
            if (!unreadable.empty())
                p.refused += ". The data now named, " + data.root + ", cannot be read (" +
                             unreadable + "): is it the path you meant?";
            const DataSettings& d = p.spec.config.data;
            for (const auto& [key, list] : {std::pair{"data.train_list", &d.train_list},
                                            std::pair{"data.val_list", &d.val_list},
                                            std::pair{"data.test_list", &d.test_list}})
                if (p.fingerprint.value(std::string(key) + " ids", json()) == "unreadable") {
                    const std::string why = missing_reason(*list);
                    p.refused += ". " + std::string(key) + " " + *list +
                                 (why.empty() ? " is not a list of sample ids"
                                              : " cannot be read (it " + why + ")") +
                                 ": is it the file you meant?";
                }
            log_warn(e.id, ": ", p.refused);
            p.result = old;
            sum.not_rerun.push_back(e.id);
        } else if (const std::vector<std::string> changes =
                       selected && !old && !opts.force  // no result: stopped, not failed
                           ? interrupted_changes(out_dir, e.id, p.spec.config, identity,
                                                 p.fingerprint)
                           : std::vector<std::string>{};
                   !changes.empty()) {
            // An interrupted training of other settings is kept, as finished results are: the
            // run would otherwise start it over and lose its epochs without --force. (A failed
            // experiment's training, its settings edited to mend it, starts over as before.)
            std::string keys;
            for (std::size_t i = 0; i < changes.size() && i < 3; ++i)
                keys += (i ? ", " : "") + changes[i];
            const bool data_too = changes.back().rfind("the data:", 0) == 0;  // said last
            p.refused = "not rerun: " + (fs::path(out_dir) / e.id / "train").string() +
                        " holds an interrupted training made " +
                        (!data_too            ? "with other settings ("
                         : changes.size() > 1 ? "with other settings and data ("
                                              : "on other data (") +
                        keys + (changes.size() > 3 ? ", ..." : "") +
                        "); restore them to continue it, or rerun with --force --only " + e.id +
                        " to start it over";
            log_warn(e.id, ": ", p.refused);
            p.result = old;
            sum.not_rerun.push_back(e.id);
        } else if (selected && (!finished || opts.force)) {
            p.run = true;
            // Shown until its rerun starts: a forced suite stopped before reaching it still has
            // it, current (an interrupted --force run listed it as "not run"; suite probe).
            if (finished && stale.empty()) p.result = old;
        } else if (old) {
            if (selected) {
                log_info(e.id, ": finished earlier (", rp, "), skipped; --force reruns it");
                ++sum.skipped;
                p.skipped = true;
                // A result of an older pfce records no count: its grid is kept unless there is
                // one where none is asked, or none where one is.
                p.redraw_grid = old->grid_images >= 0
                                    ? old->grid_images != suite.grid_images
                                    : old->grid_png.empty() != (suite.grid_images == 0);
            } else if (!stale.empty()) {
                p.refused = "not selected by --only: shown from an earlier run with " + stale +
                            " (" + rp + ")";
            }
            p.result = old;
        } else if (!selected) {
            p.refused = "not selected by --only and not run before";
        }
        plans.push_back(std::move(p));
    }
    say_runs_of_the_other_form(suite, out_dir);
    // Two experiments of the same settings train the same model: their comparison is 0 by
    // construction and adds a pair to Holm's correction (a walkthrough's suite compared three
    // identical experiments without a word). Said, naming the pairs; the suite still runs.
    std::vector<std::string> same;
    for (std::size_t a = 0; a < plans.size(); ++a)
        for (std::size_t b = a + 1; b < plans.size(); ++b)
            if (plans[a].fingerprint == plans[b].fingerprint)
                same.push_back(plans[a].spec.id + " and " + plans[b].spec.id);
    if (!same.empty())
        log_warn("suite ", suite.name, ": experiments ", some_names(same),
                 " have the same settings (all that change a result): they train the same model, "
                 "so their comparison says nothing; give each experiment what sets it apart, or "
                 "--seeds for repeated runs");
    return plans;
}

// The time of an experiment's earlier sessions (each stopped by Ctrl-C / SIGTERM), kept in
// OUT/<id>/sessions.json until it finishes, so that its wall time covers every session. Only
// sessions of the same settings count.
struct EarlierSessions {
    double seconds = 0;
    int sessions = 0;
};

std::string sessions_path(const std::string& out_dir, const std::string& id) {
    return (fs::path(out_dir) / id / "sessions.json").string();
}

// Read through band 1 only to be opened (suite_reads_through_band_1): the images go again, unless
// an experiment reads band 1 as they are; each experiment reads its own bands.
void release_band_1_images(const Suite& suite, const std::vector<Plan>& plans, LoadedData& L) {
    if (!suite_reads_through_band_1(suite)) return;
    if (std::any_of(plans.begin(), plans.end(),
                    [](const Plan& p) { return p.spec.config.data.bands == std::vector<int>{1}; }))
        return;
    L.images.clear();
    L.images.shrink_to_fit();
}

// The images read again for other bands go once no experiment after `done` trains with them (a
// full Potsdam suite holds gigabytes a band set); a grid drawn later reads them again.
void release_bands_done(const std::vector<Plan>& plans, const Plan& done,
                        std::map<std::vector<int>, LoadedData>& read_otherwise) {
    std::set<std::vector<int>> needed;
    bool after = false;
    for (const Plan& p : plans) {
        if (after && p.run) needed.insert(p.spec.config.data.bands);
        after = after || &p == &done;
    }
    std::erase_if(read_otherwise, [&](const auto& kv) { return needed.count(kv.first) == 0; });
}

// InputError unless every file of L's dataset has the bands `bands` (other than L's own) names,
// from their headers, before any experiment trains; `checked` keeps each set's answer.
void check_bands_readable(const std::vector<int>& bands, const LoadedData& L,
                          std::map<std::vector<int>, std::string>& checked) {
    if (bands == L.ds->options().image.bands) return;
    auto it = checked.find(bands);
    if (it == checked.end()) {
        std::string why;
        try {
            DatasetOptions o = L.ds->options();
            o.image.bands = bands;
            (void)Dataset::open(L.root, o);
        } catch (const InputError& e) {
            why = e.what();
        }
        it = checked.emplace(bands, why).first;
    }
    if (!it->second.empty())
        PFCE_THROW(InputError, "its data.bands ", json(bands).dump(),
                   " do not read the data: ", it->second);
}

EarlierSessions read_sessions(const std::string& path, const json& fingerprint) {
    EarlierSessions s;
    if (!file_exists(path)) return s;
    try {
        const json j = json::parse(read_text_file(path));
        if (stale_reason(j.at("config"), fingerprint).empty()) {  // a later pfce's keys too
            s.seconds = j.at("seconds").get<double>();
            s.sessions = j.at("sessions").get<int>();
        }
    } catch (const std::exception& ex) {
        log_warn("ignoring unreadable ", path, ": ", ex.what());
    }
    return s;
}

// The data line of the report OUT holds for this suite, "" when there is none to read.
std::string earlier_data_summary(const std::string& out_dir, const std::string& suite_name) {
    const std::string path = (fs::path(out_dir) / "results.json").string();
    if (!file_exists(path)) return {};
    try {
        const json j = json::parse(read_text_file(path));
        if (j.at("suite") == suite_name && j.at("data").is_string())
            return j.at("data").get<std::string>();
    } catch (const std::exception&) {
        // an unreadable report is replaced below; its data line is not needed
    }
    return {};
}

ExperimentResult failed_result(const ExperimentSpec& e, const std::string& error,
                               const std::string& device, double seconds) {
    ExperimentResult r;
    r.id = e.id;
    r.description = e.description;
    r.labels = describe_labels(e.config.labels);
    r.report_figure = e.report_figure;
    r.status = "failed";
    r.error = error;
    r.pfce = pfce_version_text();
    // It measured nothing: results.json says null, never a 0 a script would average in.
    const double none = std::numeric_limits<double>::quiet_NaN();
    for (double* v : {&r.labelled_fraction_sparse, &r.labelled_fraction, &r.link_purity,
                      &r.final_train_loss, &r.val_loss, &r.val_loss_dense, &r.val_miou,
                      &r.test.miou, &r.test.miou_no_clutter, &r.test.oa, &r.test.mean_f1})
        *v = none;
    r.device = device;
    r.wall_seconds = seconds;
    return r;
}

}  // namespace

std::string run_counts(const RunSummary& s) {
    std::string o = std::to_string(s.ran) + " ran, " + std::to_string(s.skipped) + " skipped, ";
    if (!s.not_rerun.empty()) {
        std::string ids;
        for (const std::string& id : s.not_rerun) ids += (ids.empty() ? "" : ",") + id;
        o += std::to_string(s.not_rerun.size()) +
             " not rerun (results of other settings or data, shown as stale; --force --only " +
             ids + " reruns them, --force alone every experiment), ";
    }
    return o + std::to_string(s.failed) + " failed";
}

namespace {

// Starting weights (model.init_from) inside this suite's OUT, checked before any experiment
// trains; such an experiment fails alone, said up front. With seeds each seed's run has its own
// checkpoint (OUT/<id>-s<seed>/train), which one init_from cannot follow (every seed of b trained
// from one run of a, or from a hidden run of the suite without seeds: probe). Listed before the
// experiment whose checkpoint it starts from, while that one is to run, it would start from the
// old weights, or none.
void refuse_init_from_order_and_seeds(std::vector<Plan>& plans, const std::string& out_dir) {
    for (std::size_t i = 0; i < plans.size(); ++i) {
        Plan& p = plans[i];
        const std::string& from = p.spec.config.model.init_from;
        if (!p.run || !p.invalid.empty() || from.empty() || !path_is_inside(from, out_dir))
            continue;
        if (!p.spec.group.empty())
            p.invalid =
                "model.init_from " + from + " lies in " + out_dir +
                ", and the suite runs every experiment once per seed: each seed's run has "
                "its own checkpoint (" +
                out_dir +
                "/<id>-s<seed>/train), which one init_from cannot follow; chain the "
                "experiments in a suite without seeds, or start from a checkpoint outside " +
                out_dir;
        for (std::size_t j = i + 1; j < plans.size() && p.invalid.empty(); ++j)
            if (plans[j].run &&
                path_is_inside(from, (fs::path(out_dir) / plans[j].spec.id).string()))
                p.invalid = "model.init_from " + from + " is experiment " + plans[j].spec.id +
                            "'s, which the suite lists (and trains) after " + p.spec.id +
                            ": list " + p.spec.id + " after " + plans[j].spec.id;
        if (!p.invalid.empty())
            log_warn("experiment ", p.spec.id, " cannot run, and fails: ", p.invalid,
                     " (the other experiments still run)");
    }
}

// A new OUT (not there, or empty, before the run claimed it) as the run found it again, for a
// refusal that comes after the claim but before any experiment ran: a split list that cannot be
// read, a split leaving no test image, data that would not fit (hostile probe: OUT stayed, with
// its marker and the synthetic data made for it; a refused command creates no output directory).
struct NewOut {
    // OUT, or where it did not exist the outermost directory the claim made for it (--out a/b/c
    // of a missing a: a); empty where OUT held a run before, and is kept as it is.
    std::string dir;
    bool existed = false;
    void restore() const {
        if (dir.empty()) return;
        std::error_code ec;
        if (!existed) {
            fs::remove_all(dir, ec);
            return;
        }
        for (const auto& e : fs::directory_iterator(dir, ec)) fs::remove_all(e.path(), ec);
    }
    template <typename F>
    auto refused_leaves_it(F&& f) const {
        try {
            return f();
        } catch (const InputError&) {
            restore();
            throw;
        }
    }
};

}  // namespace

std::string default_out_dir(const Suite& suite) {
    return (fs::path("runs") / suite.name).string();
}

RunSummary run_suite(const Suite& given, const RunOptions& opts) {
    const Suite suite = with_dataset_image_settings(given, opts);
    RunSummary sum;
    sum.out_dir = opts.out_dir.empty() ? default_out_dir(suite) : opts.out_dir;
    // OUT is this suite's own: new or empty, or an earlier run of the same suite (marker, or its
    // results.json from before the marker). A directory of anything else -- a user's files,
    // another suite's run -- is refused, --force or not: --force reruns experiments, it does not
    // replace what pfce did not write.
    // Everything that can be refused without writing is refused before OUT is claimed.
    check_only(suite, opts);    // a mistyped --only claims nothing
    check_device(opts.device);  // nor does a device this machine does not have
    // A report a person edited is theirs: a rerun, which rewrites it, asks for --force first.
    if (const std::vector<std::string> edited = edited_report_files(sum.out_dir);
        !edited.empty() && !opts.force) {
        std::string names;
        for (const std::string& f : edited) names += (names.empty() ? "" : ", ") + f;
        if (report_without_record(sum.out_dir))
            PFCE_THROW(InputError, names, ": the results.json beside ",
                       edited.size() > 1 ? "them" : "it",
                       ", which records the report pfce wrote, is missing or unreadable, so "
                       "whether ",
                       edited.size() > 1 ? "they were" : "it was",
                       " edited cannot be told, and a run rewrites the report: move ",
                       edited.size() > 1 ? "them" : "it",
                       " elsewhere to keep the changes, or pass --force to replace ",
                       edited.size() > 1 ? "them" : "it");
        PFCE_THROW(InputError, names, edited.size() > 1 ? " were" : " was",
                   " changed since pfce wrote ", edited.size() > 1 ? "them" : "it",
                   ", and a run rewrites the report: move ", edited.size() > 1 ? "them" : "it",
                   " elsewhere to keep the changes, or pass --force (which also reruns the "
                   "finished experiments)");
    }
    // What --force agreed to replace: the edits as they are now (one made during the run is kept
    // at its end, the new report written beside it).
    const ReportFileHashes forced_edits =
        opts.force ? edited_report_hashes(sum.out_dir) : ReportFileHashes{};
    const DataSettings data = suite_data_settings(suite, opts, sum.out_dir);
    // --data over the suite's own [data] root: said (a walkthrough's suite trained on another
    // copy with no word but the data line's path).
    if (!opts.data_path.empty() && data.source != "synthetic" && !given.data.root.empty()) {
        std::error_code ec1, ec2;
        const fs::path named = fs::weakly_canonical(fs::absolute(given.data.root), ec1);
        const fs::path taken = fs::weakly_canonical(fs::absolute(data.root), ec2);
        if (ec1 || ec2 || named != taken)
            log_info("data: --data ", data.root, " is read instead of the suite's [data] root ",
                     given.data.root, " (", suite.file, ")");
    }
    // A --data inside OUT or a directory of other files: refused before OUT exists.
    const bool replace_data = check_suite_data_dir(data, opts, sum.out_dir, suite.file);
    // The data's identity, read once. A dataset that does not open, for an OUT with no results to
    // report from, is refused before OUT exists (before, OUT was made and the warning for remaking
    // a report from archived results came first, about a run that had none).
    std::string unreadable;
    const json identity = suite_data_identity(
        data, !file_exists((fs::path(sum.out_dir) / "results.json").string()), &unreadable);
    refuse_output_below_mask_directory(sum.out_dir, "--out " + sum.out_dir);
    // Inside another suite's OUT (even an experiment's train/), or a synthetic dataset: that
    // command's next run would refuse the files this one writes (train and sample refused it).
    refuse_output_inside_pfce_output("--out " + sum.out_dir, sum.out_dir, "the run");
    std::error_code exists_ec;
    const bool out_existed = fs::exists(sum.out_dir, exists_ec);
    fs::path outermost_made = fs::absolute(sum.out_dir, exists_ec);
    if (outermost_made.filename().empty()) outermost_made = outermost_made.parent_path();  // "o/"
    while (!out_existed && outermost_made.has_parent_path() &&
           outermost_made.parent_path() != outermost_made &&
           !fs::exists(outermost_made.parent_path(), exists_ec))
        outermost_made = outermost_made.parent_path();
    const OutputDirClaim out_claim = claim_output_dir(
        sum.out_dir, "run of suite \"" + suite.name + "\"", "results.json", "--out");
    const NewOut new_out{out_claim.state != OutputDirState::fresh ? std::string()
                         : out_existed                            ? sum.out_dir
                                                                  : outermost_made.string(),
                         out_existed};
    std::vector<Plan> plans = new_out.refused_leaves_it(
        [&] { return plan_runs(suite, data, identity, unreadable, opts, sum.out_dir, sum); });
    refuse_init_from_order_and_seeds(plans, sum.out_dir);
    const int to_run = static_cast<int>(
        std::count_if(plans.begin(), plans.end(), [](const Plan& p) { return p.run; }));

    // Nothing to run reads no data; but the suite's synthetic data may have been replaced or
    // damaged since its experiments finished (pfce data synth --force into it): their results
    // stay those of the suite's settings, while their checkpoints would evaluate what is there.
    if (to_run == 0 && data.source == "synthetic" && fs::exists(data.root)) {
        try {
            check_synthetic_dataset_dir(synth_options(data, "--data"), SynthReplace::never);
        } catch (const InputError& e) {
            log_warn("data: ", e.what(),
                     ". The finished experiments are kept (their results are of the suite's "
                     "settings), but their checkpoints evaluate the data as it is there now");
        }
    }
    std::optional<LoadedData> L;
    // The data read again for experiments of other data.bands than the suite's, by bands.
    std::map<std::vector<int>, LoadedData> read_otherwise;
    std::unique_ptr<Backend> backend;
    std::string device_name;
    if (to_run == 0 && suite.grid_images > 0 &&
        std::any_of(plans.begin(), plans.end(), [](const Plan& p) { return p.redraw_grid; })) {
        // Only pictures to draw: data or a device that fails now leaves the earlier ones shown.
        try {
            backend = make_backend(opts.device);
            L = load_suite_data(suite, data, replace_data,
                                opts.data_path.empty() ? "--out" : "--data");
            release_band_1_images(suite, plans, *L);
        } catch (const std::exception& ex) {
            log_warn("picture grids not drawn again for grid_images = ", suite.grid_images, ": ",
                     ex.what());
            for (Plan& p : plans) p.redraw_grid = false;
            backend.reset();
            L.reset();
        }
    } else if (to_run > 0) {
        backend = make_backend(opts.device);
        device_name = backend->name();
        log_info("suite ", suite.name, ": ", to_run, " of ", suite.experiments.size(),
                 " experiments to run on ", device_name, ", output in ", sum.out_dir);
        // Synthetic data made now for a suite then refused (a split with no test image) goes
        // with the refusal, in an OUT of earlier results too (it stayed there, unused).
        std::error_code data_ec;
        const bool data_made_now = data.source == "synthetic" && !fs::exists(data.root, data_ec);
        L = new_out.refused_leaves_it([&] {
            try {
                return load_suite_data(suite, data, replace_data,
                                       opts.data_path.empty() ? "--out" : "--data");
            } catch (const InputError&) {
                if (data_made_now) fs::remove_all(data.root, data_ec);
                throw;
            }
        });
        release_band_1_images(suite, plans, *L);
        std::map<std::vector<int>, std::string> bands_readable;  // why not, by bands ("" = fine)
        for (Plan& p : plans) {  // the data as read, should it have changed since planning
            if (!p.run) continue;
            if (!L->identity.is_null()) p.fingerprint["data.identity"] = L->identity;
            // A count or weight per class that does not fit the data is said before any
            // experiment spends its time, not once its turn comes.
            try {
                validate_for_classes(p.spec.config, L->ds->palette().class_names(), L->root,
                                     key_sources(p.spec.key_sources, p.spec.source));
                // And what its depth and crop make of the images (a probe's crop of 200 on
                // 64-pixel images failed once the experiment before it had trained).
                check_experiment_fits_images(p.spec, *L);
                // And whether the files have the bands it reads them through (headers only).
                check_bands_readable(p.spec.config.data.bands, *L, bands_readable);
            } catch (const InputError& ex) {
                p.invalid = ex.what();
                log_warn("experiment ", p.spec.id,
                         " cannot run on this data, and fails: ", p.invalid,
                         " (the other experiments still run)");
            }
        }
    }
    int k = 0;
    for (auto& p : plans) {
        if (!p.run || sum.interrupted) continue;
        if (stop_requested()) {
            sum.interrupted = true;
            continue;
        }
        ++k;
        const std::string tag =
            "[" + std::to_string(k) + "/" + std::to_string(to_run) + " " + p.spec.id + "] ";
        const Stopwatch t0;
        const std::string sp = sessions_path(sum.out_dir, p.spec.id);
        std::error_code ec;
        // A forced run starts over, and its earlier result goes first: one stopped halfway had
        // left the old result.json, reported (and skipped by the next run) as if the new
        // checkpoints made it (suite probe).
        p.reached = true;
        if (opts.force) {
            mark_result_being_rerun(sum.out_dir, p.spec.id);
            fs::remove(sp, ec);
            fs::remove(result_path(sum.out_dir, p.spec.id), ec);
            p.result.reset();
        }
        // The checkpoint it starts from as it is now: an experiment before it may have trained it
        // again in this run.
        if (p.fingerprint.contains(kInitFromChecksumKey))
            p.fingerprint[kInitFromChecksumKey] =
                checkpoint_weights_checksum(p.spec.config.model.init_from);
        const EarlierSessions earlier = read_sessions(sp, p.fingerprint);
        ExperimentResult r;
        bool stopped_in_labels = false;
        try {
            if (!p.invalid.empty()) PFCE_THROW(InputError, p.invalid);
            r = run_experiment(p.spec, suite,
                               data_for_bands(*L, p.spec.config.data.bands, read_otherwise),
                               *backend, sum.out_dir, opts, tag);
        } catch (const StopRequested&) {  // while its labels were sampled or linked
            r.status = "interrupted";
            stopped_in_labels = true;
        } catch (const std::exception& ex) {
            r = failed_result(p.spec, ex.what(), device_name, t0.seconds());
            log_warn(tag, "FAILED: ", r.error, " (the other experiments still run)");
        }
        if (r.status == "interrupted") {
            p.stopped = stopped_in_labels
                            ? "interrupted while its labels were made (the unfinished ones are "
                              "removed); run the same command again" +
                                  std::string(opts.force ? " without --force" : "") +
                                  " to make them and train"
                            : "interrupted after " +
                                  format_duration(earlier.seconds + t0.seconds()) +
                                  " of work: its labels and its training so far are saved; run "
                                  "the same command again" +
                                  std::string(opts.force ? " without --force (which starts it "
                                                           "over)"
                                                         : "") +
                                  " to continue where it stopped";
            log_info(tag, p.stopped);
            sum.interrupted = true;
            const json rec = {{"config", p.fingerprint},
                              {"seconds", earlier.seconds + t0.seconds()},
                              {"sessions", earlier.sessions + 1}};
            write_text_atomically(sp, rec.dump(2) + "\n");
            continue;
        }
        if (earlier.sessions > 0) {
            r.wall_seconds += earlier.seconds;
            r.sessions += earlier.sessions;
        }
        if (r.status == "ok") {
            ++sum.ran;
            log_info(tag, "done in ", format_seconds(t0.seconds()));
        } else {
            ++sum.failed;
        }
        r.config = p.fingerprint;
        write_result(result_path(sum.out_dir, r.id), r);
        fs::remove(sp, ec);  // counted in the result
        p.result = r;
        release_bands_done(plans, p, read_otherwise);
    }

    // A finished experiment trained from a checkpoint (model.init_from) that this run wrote again
    // (the experiment that makes it reran, before or after it) is of weights that are gone:
    // shown, marked not current, as the next run would find it (it was skipped as current, or
    // counted as run). One not selected by --only is marked as such ones are, not counted.
    for (Plan& p : plans) {
        if (sum.interrupted) break;  // its report says what was not reached
        if (!p.result || p.result->status != "ok" || !p.fingerprint.contains(kInitFromChecksumKey))
            continue;
        const std::string now = checkpoint_weights_checksum(p.spec.config.model.init_from);
        // One not selected, found stale when planned, is current again where this run wrote the
        // weights it started from back as they were (a's settings restored).
        if (!p.selected && !p.refused.empty()) {
            json current = p.fingerprint;
            current[kInitFromChecksumKey] = now;
            if (stale_reason(p.result->config, current).empty()) p.refused.clear();
            continue;
        }
        if (!p.refused.empty()) continue;
        const json was = p.result->config.is_object()
                             ? p.result->config.value(kInitFromChecksumKey, json())
                             : json();
        if (!was.is_string() || was == now) continue;
        const std::string trained_from = " trained from " + p.spec.config.model.init_from +
                                         " (model.init_from) as it was before this run wrote it "
                                         "again";
        if (!p.reached && !p.skipped) {
            p.refused = "not selected by --only: shown from an earlier run" + trained_from + " (" +
                        result_path(sum.out_dir, p.spec.id) + ")";
            // Said (the report alone marked it): this run made it stale.
            log_warn(p.spec.id, ": ", p.refused, "; pfce run with --force --only ", p.spec.id,
                     " trains it from the new weights");
            continue;
        }
        p.refused = "not rerun: " + sum.out_dir + " holds its results" + trained_from +
                    (p.reached ? " (it ran before the experiment that writes it)" : "") +
                    "; rerun with --force --only " + p.spec.id +
                    " to train it from the new weights";
        log_warn(p.spec.id, ": ", p.refused);
        sum.not_rerun.push_back(p.spec.id);
        if (p.skipped) --sum.skipped;
        if (p.reached) --sum.ran;
    }

    // Picture grids of finished experiments, for the suite's grid_images now.
    for (Plan& p : plans) {
        if (!p.redraw_grid || sum.interrupted || !p.result) continue;
        if (suite.grid_images > 0 && !L) continue;  // said above
        const std::string tag = "[grid " + p.spec.id + "] ";
        ExperimentResult r = *p.result;
        try {
            if (suite.grid_images > 0)
                redraw_picture_grid(p.spec, suite,
                                    data_for_bands(*L, p.spec.config.data.bands, read_otherwise),
                                    *backend, sum.out_dir, r, tag);
            else
                remove_picture_grid(p.spec, sum.out_dir, r);
            write_result(result_path(sum.out_dir, p.spec.id), r);
            log_info(tag,
                     suite.grid_images > 0 ? "picture grid drawn again" : "picture grid removed",
                     " for grid_images = ", suite.grid_images,
                     p.result->grid_images >= 0
                         ? " (it was drawn for " + std::to_string(p.result->grid_images) + ")"
                         : "");
            p.result = r;
        } catch (const StopRequested&) {
            sum.interrupted = true;
        } catch (const std::exception& ex) {
            log_warn(tag, "picture grid not drawn again (the earlier one is shown): ", ex.what());
        }
    }

    // The report, from every experiment with a result (suite order).
    std::string kept_unreached;  // --force runs a stop kept from their rerun
    ReportInput in;
    in.title = suite.name;
    in.description = suite.description;
    in.suite_file = suite.file;
    in.device = device_name;
    in.generated_at = utc_now();
    in.data_summary = L ? L->summary : std::string();
    for (auto& p : plans) {
        // A result of the current settings shows the experiment's current description and figure
        // (they do not change the result, so editing them reruns nothing).
        if (p.result && p.refused.empty()) {
            p.result->group = p.spec.group;  // seeds are part of the settings: the same here
            p.result->seed = p.spec.seed;
            p.result->description = p.spec.description;
            p.result->report_figure = p.spec.report_figure;
        }
        if (!p.refused.empty()) in.not_run.emplace_back(p.spec.id, p.refused);
        // Under --force, the same command again would start over the experiments it already
        // reran: one not reached is run by its own --only (review).
        if (p.run && !p.result)
            in.not_run.emplace_back(
                p.spec.id, !p.stopped.empty() ? p.stopped
                           : opts.force
                               ? "not run: the suite was interrupted before it reached it; "
                                 "pfce run with --force --only " +
                                     p.spec.id + " runs it"
                               : "not run: the suite was interrupted before it finished; run the "
                                 "same command again to run it");
        if (p.run && p.result && opts.force && sum.interrupted && !p.reached)
            kept_unreached += (kept_unreached.empty() ? "" : ",") + p.spec.id;
        if (!p.result) continue;
        if (in.device.empty()) in.device = p.result->device;
        in.results.push_back(*p.result);
    }
    // Nothing ran now, every result is current and so of this data: as the last report said it.
    if (in.data_summary.empty() && in.not_run.empty())
        in.data_summary = earlier_data_summary(sum.out_dir, suite.name);
    if (in.data_summary.empty())  // else describe the data from the suite
        in.data_summary = data.source == "synthetic"
                              ? "synthetic, " + std::to_string(data.synthetic_count) +
                                    " images of " + std::to_string(data.synthetic_size) + "x" +
                                    std::to_string(data.synthetic_size) + " (seed " +
                                    std::to_string(data.synthetic_seed) + ")"
                              : "dataset at " + data.root;
    // The classes of the data: its clutter class and the colour its pictures show unlabelled
    // pixels in. Nothing ran, so nothing was read: the dataset's description is (the synthetic
    // data is Potsdam's; a dataset that cannot be read now falls back to Potsdam's too).
    Palette pal = potsdam_palette();
    if (L) {
        pal = L->ds->palette();
    } else if (data.source != "synthetic") {
        try {
            pal = Dataset::open(data.root, dataset_options(data)).palette();
        } catch (const InputError&) {
            // said when the data identity was taken (suite_data_identity)
        }
    }
    in.clutter_class = find_clutter_class(pal);
    in.unlabelled_colour = pal.display_unlabelled();
    in.potsdam_classes = pal.class_names() == potsdam_palette().class_names();
    // The documents as written: report.md.new beside a report.md edited during the run (the
    // closing line named the edited one; suite probe).
    const std::map<std::string, std::string> written = write_report(sum.out_dir, in, forced_edits);
    const auto written_to = [&](const char* name) {
        const auto it = written.find(name);
        return it != written.end() ? it->second : (fs::path(sum.out_dir) / name).string();
    };
    sum.report_md = written_to("report.md");
    sum.report_html = written_to("report.html");
    if (!kept_unreached.empty())
        log_info("not reached by this --force run, their earlier results kept: ", kept_unreached,
                 " (pfce run with --force --only ", kept_unreached, " reruns them)");
    log_info("suite ", suite.name, ": ", run_counts(sum), sum.interrupted ? ", interrupted" : "",
             "; report: ", sum.report_md, " and ", sum.report_html);
    return sum;
}

}  // namespace pfce
