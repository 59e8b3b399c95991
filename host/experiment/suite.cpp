// Suite and experiment TOML readers: [suite] and [experiment] tables here, every config section
// through the config's own reader (host/train/config), layered in the documented order.
#include "host/experiment/suite.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "core/build_info.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/hash.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "data/dataset.hpp"
#include "host/train/checkpoint.hpp"
#include "host/train/config_sources.hpp"

namespace pfce {

namespace fs = std::filesystem;

namespace {

void check_keys(const toml::table& t, const std::set<std::string>& known,
                const std::string& source) {
    for (const auto& [k, node] : t) {
        (void)node;
        if (known.count(std::string(k.str()))) continue;
        std::string list;
        for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
        PFCE_THROW(InputError, source, ": unknown key \"", k.str(), "\" (known: ", list, ")");
    }
}

std::string get_string(const toml::table& t, const char* key, const std::string& fallback,
                       const std::string& source) {
    const toml::node* n = t.get(key);
    if (!n) return fallback;
    if (!n->is_string()) PFCE_THROW(InputError, source, ": key \"", key, "\" must be a string");
    const std::string& text = n->as_string()->get();
    // Written into the report's Markdown, HTML and CSV: a NUL or an escape sequence there is no
    // text a reader sees (nor one a terminal shows safely).
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
            char code[8];
            std::snprintf(code, sizeof code, "U+%04X", c);
            PFCE_THROW(InputError, source, ": key \"", key, "\" holds the control character ", code,
                       " at byte ", i,
                       ": expected text (line breaks and tabs are fine; the report shows the rest "
                       "as nothing a reader can see)");
        }
    }
    return text;
}

// "labels.points = 100, loss.crf_weight = 0.2": the settings an inline suite entry's tables (all
// but the meta keys) change from `before` to `after`, each as the settings column shows its value.
// The seeds are left out: a replicate of an experiment with another seed is still that experiment.
std::string entry_changes_text(const toml::table& t, const std::set<std::string>& meta,
                               const Config& before, const Config& after) {
    std::string text;
    for (const auto& [section, node] : t) {
        if (meta.count(std::string(section.str())) || !node.is_table()) continue;
        for (const auto& [key, value] : *node.as_table()) {
            const std::string dotted = std::string(section.str()) + "." + std::string(key.str());
            const ConfigKey* k = find_config_key(dotted);
            if (!k || dotted == "run.seed" || dotted == "labels.seed" ||
                k->get(before) == k->get(after))
                continue;
            text += (text.empty() ? "" : ", ") + dotted + " = " + k->get(after).dump();
        }
    }
    return text;
}

const toml::table* sub_table(const toml::table& t, const char* key, const std::string& source) {
    const toml::node* n = t.get(key);
    if (!n) return nullptr;
    if (!n->is_table()) PFCE_THROW(InputError, source, ": \"", key, "\" should be a table");
    return n->as_table();
}

// Keys a suite's experiments may not set: pfce run owns where data comes from and goes, the device
// and the labels directory (it makes the labels); data loading is shared by the whole suite.
void check_experiment_section(const std::string& section, const toml::table& t,
                              const std::string& source) {
    static const std::set<std::string> owned = {"run.out", "run.device", "labels.dir"};
    // data.bands: each experiment's images are read again through its bands (RGB against RGB +
    // infrared is a comparison of one suite).
    static const std::set<std::string> per_experiment_data = {"crop_size", "crops_per_image",
                                                              "augment", "bands"};
    for (const auto& [k, node] : t) {
        (void)node;
        const std::string key = section + "." + std::string(k.str());
        if (owned.count(key))
            PFCE_THROW(InputError, source, ": key \"", key,
                       "\" is set by pfce run (--out, --device; labels are made by the suite)");
        if (section == "data" && !per_experiment_data.count(std::string(k.str())))
            PFCE_THROW(InputError, source, ": key \"", key,
                       "\" belongs to the suite's [data] table (every experiment of a suite reads "
                       "the same data); an experiment may set data.crop_size, "
                       "data.crops_per_image, data.augment and data.bands");
    }
}

// The config sections of `root` (an experiment file, an inline entry, an override table).
void apply_experiment_sections(Config& c, const toml::table& root, const std::string& source,
                               const std::set<std::string>& others) {
    for (const auto& [k, node] : root) {
        const std::string name(k.str());
        if (others.count(name)) continue;
        const toml::table* t = node.as_table();
        if (t) check_experiment_section(name, *t, source + " [" + name + "]");
    }
    apply_toml_sections(c, root, source, others);
}

void check_id(const ExperimentSpec& e) {
    if (e.id.empty())
        PFCE_THROW(InputError, e.source,
                   ": no experiment id (or an empty one): an experiment file needs an "
                   "[experiment] table with id = \"...\" (an inline entry, id = \"...\")");
    // What is wrong with it, said alone (every refusal ended in the leading '-' rule).
    std::string wrong;
    for (const char ch : e.id)
        if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' && ch != '.') {
            wrong = std::isprint(static_cast<unsigned char>(ch))
                        ? std::string(ch == ' ' ? "a space" : "'" + std::string(1, ch) + "'")
                        : "a character other than letters, digits, '-', '_' and '.'";
            wrong = "holds " + wrong + " (it names a directory in OUT, and --only selects it)";
            break;
        }
    if (e.id.size() > 64)
        wrong = "is " + std::to_string(e.id.size()) + " characters long";
    else if (e.id[0] == '.')
        wrong = "begins with '.' (it names a directory, and a leading '.' would hide it)";
    else if (e.id[0] == '-')
        wrong = "begins with '-' (--only " + e.id + " would read as an option)";
    if (!wrong.empty())
        PFCE_THROW(InputError, e.source, ": experiment id \"", e.id, "\" ", wrong,
                   ": expected 1-64 characters of letters, digits, '-', '_' or '.', the first "
                   "neither '.' nor '-'");
    // The names pfce run uses in OUT itself: an experiment's directory may not be one of them.
    // (NAME.new: a new report written beside one edited during the run.)
    for (const char* taken : {"data", "cache", "report.md", "report.html", "results.json",
                              "results.csv", "report.md.new", "report.html.new", "results.csv.new"})
        if (ascii_lower(e.id) == taken)  // "Data" is "data" where case is ignored
            PFCE_THROW(InputError, e.source, ": experiment id \"", e.id,
                       "\" is taken: pfce run keeps its own ", taken,
                       " in OUT (choose another id)");
    if (e.id.size() > 4 && ascii_lower(e.id.substr(e.id.size() - 4)) == ".svg")
        PFCE_THROW(InputError, e.source, ": experiment id \"", e.id,
                   "\" ends in .svg, the name of the report's charts in OUT (choose another id)");
}

void apply_meta(const toml::table& t, ExperimentSpec& e, const std::string& source) {
    e.id = get_string(t, "id", e.id, source);
    e.description = get_string(t, "description", e.description, source);
    e.report_figure = get_string(t, "report_figure", e.report_figure, source);
}

// An experiment file: [experiment] and config sections over `e` (which holds the suite defaults).
// `listed` is the suite's entry that names it, for a file that is not there.
void apply_experiment_file(const std::string& path, const std::string& listed, ExperimentSpec& e,
                           KeySources& where) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec))
        PFCE_THROW(InputError, listed, ": experiment file ", path,
                   fs::exists(path, ec) ? " is not a file" : " " + missing_reason(path),
                   " (experiment files are found relative to the suite file's directory)");
    const toml::table root = parse_toml_file(path);
    // A suite listed among experiments (itself, or another): said as such, not as the first of its
    // keys an experiment may not set ("data.source belongs to the suite's [data] table").
    if (root.get("suite"))
        PFCE_THROW(InputError, listed, ": ", path,
                   " is a suite file ([suite]), not an experiment file: list the experiment files "
                   "it lists instead (suites do not nest)");
    record_key_sources(root, path, {"experiment"}, where);
    if (const auto* t = sub_table(root, "experiment", path)) {
        check_keys(*t, {"id", "description", "report_figure"}, path + " [experiment]");
        apply_meta(*t, e, path + " [experiment]");
    }
    apply_experiment_sections(e.config, root, path, {"experiment"});
}

// [suite] seeds: distinct non-negative integers, at most kMaxSuiteSeeds.
void check_seeds(const std::vector<std::int64_t>& seeds, const std::string& what) {
    if (seeds.empty())
        PFCE_THROW(InputError, what, ": no seeds; expected one or more seeds (e.g. [0, 1, 2])");
    if (seeds.size() > kMaxSuiteSeeds)
        PFCE_THROW(InputError, what, ": ", seeds.size(), " seeds; expected at most ",
                   kMaxSuiteSeeds, " (every experiment trains once per seed)");
    std::set<std::int64_t> seen;
    for (const std::int64_t v : seeds) {
        if (v < 0) PFCE_THROW(InputError, what, ": seed ", v, "; expected non-negative integers");
        if (!seen.insert(v).second)
            PFCE_THROW(InputError, what, ": seed ", v,
                       " twice; expected distinct seeds (the same seed trains the same model)");
    }
}

std::vector<std::int64_t> seeds_of(const toml::table& st, const std::string& ssrc) {
    const toml::node* n = st.get("seeds");
    if (!n) return {};
    const std::string what = ssrc + " seeds";
    const toml::array* list = n->as_array();
    if (!list) PFCE_THROW(InputError, what, ": expected a list of integers (e.g. [0, 1, 2])");
    std::vector<std::int64_t> seeds;
    for (const toml::node& v : *list) {
        if (!v.is_integer())
            PFCE_THROW(InputError, what, ": expected a list of integers (e.g. [0, 1, 2])");
        seeds.push_back(v.as_integer()->get());
    }
    check_seeds(seeds, what);
    return seeds;
}

// An experiment's runs, one per seed. A seed the suite file sets itself (an inline entry's
// run.seed or labels.seed, an [override] table's, or with [suite] seeds its own [run] or [labels]
// table's) would be replaced without a word: refused instead, naming both. An experiment file's
// seed is replaced (the shipped ones set theirs), as is the suite's own under --seeds, which
// overrides the file as a flag does.
std::vector<ExperimentSpec> runs_per_seed(const ExperimentSpec& e,
                                          const std::vector<std::int64_t>& seeds,
                                          const std::string& seeds_source,
                                          const std::string& suite_path, bool seeds_in_file) {
    const bool draws_points = !(e.config.labels.dir.empty() && e.config.labels.kind == "dense");
    for (const char* key : {"run.seed", "labels.seed"}) {
        const auto it = e.key_sources.find(key);
        if (it == e.key_sources.end() || (!draws_points && key == std::string("labels.seed")))
            continue;  // a dense run's labels.seed stays as it is: no points, no seed set
        const std::string& from = it->second;
        const bool entry = from.find(" [suite] experiments[") != std::string::npos;
        const bool overrides = from == suite_path + " [override]";
        const bool suite_default = seeds_in_file && from == suite_path;
        // The suite's own [run] or [labels] table sets it for every experiment: said so (it was
        // said as set "for experiment a", the first, which sets nothing itself).
        if (suite_default) {
            const std::string dotted = key;
            PFCE_THROW(InputError, from, ": ", dotted, " (its [",
                       dotted.substr(0, dotted.find('.')),
                       "] table) is set for every experiment, and the suite runs every "
                       "experiment once per seed (",
                       seeds_source, "), which sets ", dotted, ": remove one of them");
        }
        if (entry || overrides)
            PFCE_THROW(InputError, from, ": ", key, " is set for experiment ", e.id,
                       ", and the suite runs every experiment once per seed (", seeds_source,
                       "), which sets ", key, ": remove one of them");
    }
    std::vector<ExperimentSpec> runs;
    for (const std::int64_t seed : seeds) {
        ExperimentSpec r = e;
        r.group = e.id;
        r.seed = seed;
        r.id = e.id + seed_suffix(seed);
        r.config.run.seed = static_cast<std::uint64_t>(seed);
        r.key_sources["run.seed"] = seeds_source;
        if (draws_points) {  // a dense run draws no points: its labels.seed would be idle
            r.config.labels.seed = static_cast<std::uint64_t>(seed);
            r.key_sources["labels.seed"] = seeds_source;
        }
        runs.push_back(std::move(r));
    }
    return runs;
}

// A setting of the suite's own tables ([run], [model], ...: defaults an experiment file may
// replace) that every experiment replaces has no effect: said, naming what the experiments set and
// the table that sets it for all (a suite's [run] epochs = 1 trained 10 epochs without a word:
// error-message audit).
void warn_of_defaults_every_experiment_replaces(const Suite& s, const KeySources& suite_keys,
                                                const Config& defaults, const std::string& path) {
    if (s.experiments.empty()) return;
    const nlohmann::json suite_values = to_json(defaults);
    for (const auto& [key, from] : suite_keys) {
        if (from != path || key.rfind("data.", 0) == 0) continue;  // [data] is the suite's alone
        if (!s.seeds.empty() && (key == "run.seed" || key == "labels.seed")) continue;  // --seeds
        const auto at = [&](const nlohmann::json& j) {
            const std::size_t dot = key.find('.');
            const std::string section = key.substr(0, dot), name = key.substr(dot + 1);
            return j.contains(section) && j[section].contains(name) ? j[section][name].dump()
                                                                    : std::string("?");
        };
        std::string theirs;
        std::size_t listed = 0;
        bool used = false;
        for (const ExperimentSpec& e : s.experiments) {
            const auto it = e.key_sources.find(key);
            // The suite's own [override] replacing it is the suite's choice, not the experiments'.
            if (it == e.key_sources.end() || it->second == path ||
                it->second == path + " [override]") {
                used = true;
                break;
            }
            if (listed++ < 3)
                theirs += (theirs.empty() ? "" : ", ") + e.id + ": " + at(to_json(e.config));
        }
        if (used) continue;
        if (listed > 3) theirs += ", ...";
        const std::size_t dot = key.find('.');
        log_warn(path, ": ", key, " = ", at(suite_values),
                 " has no effect: every experiment sets its own (", theirs, "); [override.",
                 key.substr(0, dot), "] ", key.substr(dot + 1), " = ", at(suite_values),
                 " sets it for all");
    }
}

Suite suite_from_table(const toml::table& root, const std::string& path,
                       const std::optional<std::vector<std::int64_t>>& seeds_given) {
    Suite s;
    s.file = path;
    const toml::table* st = sub_table(root, "suite", path);
    // An experiment file (experiments/ holds both kinds, and a bare name finds either): said as
    // what it is, with the command that runs it (error-message audit).
    if (!st && root.contains("experiment"))
        PFCE_THROW(InputError, path,
                   " is an experiment file ([experiment]), not a suite: train it alone with pfce "
                   "train --config ",
                   path, " --data DIR, or name it in a suite's [suite] experiments = [...]");
    if (!st)
        PFCE_THROW(InputError, path,
                   ": no [suite] table (a suite needs [suite] with experiments = [...])");
    const std::string ssrc = path + " [suite]";
    check_keys(*st, {"name", "description", "experiments", "grid_images", "seeds"}, ssrc);
    s.name = get_string(*st, "name", fs::path(path).stem().string(), ssrc);
    // The name is a directory of runs/ (runs/<name>): one plain component, never a path.
    if (s.name.empty() || s.name.front() == '.' || s.name.front() == '-' ||
        s.name.find_first_of("/\\") != std::string::npos ||
        std::isspace(static_cast<unsigned char>(s.name.front())) ||
        std::isspace(static_cast<unsigned char>(s.name.back())))
        PFCE_THROW(InputError, ssrc, ": name = \"", s.name,
                   "\": expected a plain name (it becomes the directory runs/<name>; not "
                   "starting with '.', which would hide it, or '-', which reads as an option)");
    s.description = get_string(*st, "description", "", ssrc);
    if (const toml::node* g = st->get("grid_images")) {
        if (!g->is_integer() || g->as_integer()->get() < 0 || g->as_integer()->get() > 64) {
            std::ostringstream given;  // as the file writes it: 100, "all", 2.5
            g->visit([&given](auto&& v) { given << v; });
            PFCE_THROW(InputError, ssrc, ": key \"grid_images\" = ", given.str(),
                       ": expected an integer 0..64");
        }
        s.grid_images = static_cast<int>(g->as_integer()->get());
    }
    s.seeds = seeds_of(*st, ssrc);
    std::string seeds_source = ssrc + " seeds";
    if (seeds_given) {
        check_seeds(*seeds_given, "--seeds");
        s.seeds = *seeds_given;
        seeds_source = "--seeds";
    }

    Config defaults;
    for (const auto& [k, node] : root) {
        const std::string name(k.str());
        if (name == "suite" || name == "data" || name == "override") continue;
        if (const toml::table* t = node.as_table())
            check_experiment_section(name, *t, path + " [" + name + "]");
    }
    apply_toml_sections(defaults, root, path, {"suite", "override"});
    // Split lists ship with a suite (experiments/splits/), like its experiment files: a relative
    // one is found beside the suite file, wherever pfce runs (a suite found by name in the
    // source tree read the lists of whatever directory it ran in).
    for (std::string* list :
         {&defaults.data.train_list, &defaults.data.val_list, &defaults.data.test_list})
        if (!list->empty() && fs::path(*list).is_relative())
            *list = (fs::path(path).parent_path() / *list).lexically_normal().string();
    KeySources suite_keys;
    record_key_sources(root, path, {"suite", "override"}, suite_keys);
    s.data = defaults.data;
    const toml::table* override_tables = sub_table(root, "override", path);
    if (override_tables) {
        for (const auto& [k, node] : *override_tables)
            if (const toml::table* t = node.as_table())
                check_experiment_section(std::string(k.str()), *t,
                                         path + " [override." + std::string(k.str()) + "]");
    }

    const toml::node* list = st->get("experiments");
    if (!list || !list->is_array() || list->as_array()->empty())
        PFCE_THROW(InputError, ssrc,
                   ": key \"experiments\" must list experiment files or inline tables");
    const fs::path base = fs::path(path).parent_path();
    std::set<std::string> ids;
    int index = 0;
    for (const auto& entry : *list->as_array()) {
        ++index;
        ExperimentSpec e;
        e.config = defaults;
        KeySources where = suite_keys;
        const std::string esrc = ssrc + " experiments[" + std::to_string(index) + "]";
        auto resolve = [&](const std::string& file) {
            return (base / file).lexically_normal().string();
        };
        auto apply_overrides = [&] {
            if (!override_tables) return;
            apply_toml_sections(e.config, *override_tables, path + " [override]", {});
            record_key_sources(*override_tables, path + " [override]", {}, where);
        };
        if (const auto* name = entry.as_string()) {
            e.source = resolve(name->get());
            apply_experiment_file(e.source, esrc, e, where);
            apply_overrides();
        } else if (const auto* t = entry.as_table()) {
            e.source = esrc;
            const std::string file = get_string(*t, "file", "", esrc);
            if (!file.empty()) {
                apply_experiment_file(resolve(file), esrc, e, where);
                e.source = esrc + " (" + resolve(file) + ")";
            }
            const std::string file_id = e.id;
            apply_overrides();
            const Config file_config = e.config;
            apply_meta(*t, e, esrc);
            const std::set<std::string> meta = {"file", "id", "description", "report_figure"};
            apply_experiment_sections(e.config, *t, esrc, meta);
            // A variant of a file's experiment (settings of its own, seeds aside) is not that
            // experiment: the file's description and the technical report's figure for it do not
            // describe it (a variant with 100 points showed "500 points/class" and the paper's
            // 0.8344; suite probe). Its own, where it gives them.
            if (const std::string changed = entry_changes_text(*t, meta, file_config, e.config);
                !file.empty() && !changed.empty()) {
                if (!t->contains("description"))
                    e.description = (file_id.empty() ? file : file_id) + " with " + changed;
                if (!t->contains("report_figure")) e.report_figure.clear();
            }
            record_key_sources(*t, esrc, meta, where);
        } else {
            PFCE_THROW(InputError, esrc, ": expected an experiment file name or an inline table");
        }
        check_id(e);
        if (!ids.insert(e.id).second)
            PFCE_THROW(InputError, esrc, ": duplicate experiment id \"", e.id, "\"");
        // Ids of one spelling in another case are one directory on a file system that ignores
        // case (macOS, Windows shares): the second experiment would train into the first's.
        for (const std::string& other : ids)
            if (other != e.id && ascii_lower(other) == ascii_lower(e.id))
                PFCE_THROW(InputError, esrc, ": experiment id \"", e.id, "\" differs from \"",
                           other,
                           "\" only in case: expected ids that differ otherwise too (they name "
                           "directories, one directory where case is ignored)");
        validate(e.config, key_sources(where, e.source));
        for (const UnusedSetting& u : unused_settings(e.config))
            log_warn(sources_of(where, {u.key}, e.source), ": experiment ", e.id, ": ", u.message);
        e.key_sources = std::move(where);
        if (s.seeds.empty()) {
            s.experiments.push_back(std::move(e));
            continue;
        }
        // Every id gains "-s<seed>": two experiments' runs never share one (the ids differ).
        for (ExperimentSpec& r :
             runs_per_seed(e, s.seeds, seeds_source, path, /*seeds_in_file=*/!seeds_given)) {
            check_id(r);
            s.experiments.push_back(std::move(r));
        }
    }
    // An experiment named as another's run ("a-s1" beside "a" with seed 1): --only a-s1, and a
    // reader, could not tell the experiment from the run.
    if (!s.seeds.empty())
        for (const ExperimentSpec& e : s.experiments)
            for (const ExperimentSpec& other : s.experiments)
                if (other.group == e.id)
                    PFCE_THROW(InputError, other.source, ": experiment id \"", other.group,
                               "\" is also the id of experiment ", e.group, "'s run of seed ",
                               e.seed, " (<id>-s<seed>): rename it");
    warn_of_defaults_every_experiment_replaces(s, suite_keys, defaults, path);
    return s;
}

}  // namespace

std::string resolve_suite_path(const std::string& given) {
    std::error_code ec;
    if (fs::is_regular_file(given, ec)) return given;
    // A bare name ("synthetic-small") or the default relative path, run from anywhere: the suites
    // of ./experiments, then those of the source tree this pfce was built from.
    const fs::path p(given);
    const std::string name = p.extension() == ".toml" ? p.filename().string() : given + ".toml";
    if (p.parent_path().empty() || p.parent_path() == "experiments")
        for (const fs::path& dir :
             {fs::path("experiments"), fs::path(PFCE_SOURCE_ROOT) / "experiments"})
            if (fs::is_regular_file(dir / name, ec)) return (dir / name).string();
    if (fs::is_directory(given, ec))
        PFCE_THROW(InputError, given,
                   " is a directory: expected a suite file (a .toml with a [suite] table; the "
                   "shipped ones are in ",
                   (fs::path(PFCE_SOURCE_ROOT) / "experiments").string(), ")");
    refuse_special_file(given, "a suite file (a .toml with a [suite] table)");
    const std::string why = missing_reason(given);
    if (!why.empty() && why != "does not exist")  // a loop, a dangling link: said as it is
        PFCE_THROW(InputError, "suite file ", given, " ", why);
    PFCE_THROW(InputError, given, ": no such suite file (suites are in ",
               (fs::path(PFCE_SOURCE_ROOT) / "experiments").string(), ")");
}

Suite load_suite(const std::string& path, const std::optional<std::vector<std::int64_t>>& seeds) {
    const std::string file = resolve_suite_path(path);
    return suite_from_table(parse_toml_file(file), file, seeds);
}

Suite parse_suite(const std::string& text, const std::string& path,
                  const std::optional<std::vector<std::int64_t>>& seeds) {
    toml::table root;
    try {
        root = toml::parse(text, path);
    } catch (const toml::parse_error& e) {
        PFCE_THROW(InputError, path, ":", e.source().begin.line, ":", e.source().begin.column, ": ",
                   e.description());
    }
    return suite_from_table(root, path, seeds);
}

std::string seed_suffix(std::int64_t seed) {
    return "-s" + std::to_string(seed);
}

std::vector<std::int64_t> parse_seed_list(const std::string& text, const std::string& what) {
    std::vector<std::int64_t> seeds;
    for (const std::string& item : comma_items(text)) {
        std::size_t used = 0;
        long long v = -1;
        try {
            if (!item.empty() && std::isdigit(static_cast<unsigned char>(item[0])))
                v = std::stoll(item, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (item.empty() || used != item.size())
            PFCE_THROW(InputError, what, " \"", text, "\": \"", item,
                       "\" is not a seed; expected non-negative integers separated by commas "
                       "(e.g. 0,1,2)");
        seeds.push_back(v);
    }
    check_seeds(seeds, what);
    return seeds;
}

nlohmann::json experiment_fingerprint(const ExperimentSpec& e) {
    nlohmann::json j = nlohmann::json::object();
    for (const ConfigKey& k : config_keys())
        if (k.affects_result && k.dotted() != "labels.dir") j[k.dotted()] = k.get(e.config);
    std::error_code ec;
    if (!e.config.data.root.empty()) {
        const fs::path root = fs::weakly_canonical(fs::absolute(e.config.data.root), ec);
        if (!ec) j["data.root"] = root.string();
    }
    j["run.evaluate"] = e.config.run.evaluate;
    // What a split list holds is part of the experiment, its path is not (it depends on how the
    // suite was named): the ids it lists are fingerprinted instead, so a finished run made with
    // other ids is stale, while a comment or line ending changed is not.
    const DataSettings& d = e.config.data;
    for (const auto& [key, list] :
         {std::pair{"data.train_list", &d.train_list}, std::pair{"data.val_list", &d.val_list},
          std::pair{"data.test_list", &d.test_list}}) {
        j.erase(key);
        if (list->empty()) continue;
        std::string ids;
        try {
            for (const SplitListEntry& entry : read_split_list(*list, key)) ids += entry.id + "\n";
        } catch (const Error&) {
            j[std::string(key) + " ids"] = "unreadable";
            continue;
        }
        j[std::string(key) + " ids"] = hex64(fnv1a64(ids.data(), ids.size()));
    }
    if (!e.config.model.init_from.empty())
        j[kInitFromChecksumKey] = checkpoint_weights_checksum(e.config.model.init_from);
    return j;
}

}  // namespace pfce
