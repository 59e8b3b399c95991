// Suite and experiment TOML readers: a key registry per table, typed getters that name the file and
// key in every error, and the layering of [train] tables through the trainer's own reader.
#include "host/experiment/suite.hpp"

#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "core/build_info.hpp"
#include "core/error.hpp"

namespace pfce {

namespace fs = std::filesystem;

const char* label_kind_name(LabelKind k) {
    switch (k) {
        case LabelKind::dense:
            return "dense";
        case LabelKind::sparse:
            return "sparse";
        case LabelKind::linked:
            return "linked";
    }
    return "?";
}

namespace {

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
}

void check_keys(const toml::table& t, const std::vector<std::string>& known,
                const std::string& source) {
    for (const auto& [k, node] : t) {
        const std::string key(k.str());
        bool ok = false;
        for (const auto& n : known) ok = ok || n == key;
        if (!ok)
            PFCE_THROW(InputError, source, ": unknown key \"", key, "\" (known: ", join(known),
                       ")");
    }
}

std::string node_text(const toml::node& n) {
    std::ostringstream os;
    if (n.is_table()) return "a table";
    if (n.is_array()) return "an array";
    if (auto s = n.as_string()) return "\"" + s->get() + "\"";
    n.visit([&](const auto& v) { os << v; });
    return os.str();
}

[[noreturn]] void bad_value(const std::string& source, const std::string& key, const toml::node& n,
                            const std::string& expected) {
    PFCE_THROW(InputError, source, ": key \"", key, "\" = ", node_text(n), ": expected ", expected);
}

void get(const toml::table& t, const char* key, std::string& out, const std::string& source) {
    const toml::node* n = t.get(key);
    if (!n) return;
    if (!n->is_string()) bad_value(source, key, *n, "a string");
    out = n->as_string()->get();
}

void get(const toml::table& t, const char* key, int& out, const std::string& source,
         int min_value) {
    const toml::node* n = t.get(key);
    if (!n) return;
    if (!n->is_integer() || n->as_integer()->get() < min_value ||
        n->as_integer()->get() > 1'000'000'000)
        bad_value(source, key, *n, "an integer >= " + std::to_string(min_value));
    out = static_cast<int>(n->as_integer()->get());
}

void get(const toml::table& t, const char* key, std::uint64_t& out, const std::string& source) {
    const toml::node* n = t.get(key);
    if (!n) return;
    if (!n->is_integer() || n->as_integer()->get() < 0)
        bad_value(source, key, *n, "a non-negative integer");
    out = static_cast<std::uint64_t>(n->as_integer()->get());
}

void get(const toml::table& t, const char* key, double& out, const std::string& source) {
    const toml::node* n = t.get(key);
    if (!n) return;
    if (n->is_integer())
        out = static_cast<double>(n->as_integer()->get());
    else if (n->is_floating_point() && std::isfinite(n->as_floating_point()->get()))
        out = n->as_floating_point()->get();
    else
        bad_value(source, key, *n, "a number");
}

void get(const toml::table& t, const char* key, bool& out, const std::string& source) {
    const toml::node* n = t.get(key);
    if (!n) return;
    if (!n->is_boolean()) bad_value(source, key, *n, "true or false");
    out = n->as_boolean()->get();
}

void get_choice(const toml::table& t, const char* key, std::string& out,
                const std::vector<std::string>& choices, const std::string& source) {
    const toml::node* n = t.get(key);
    if (!n) return;
    if (!n->is_string()) bad_value(source, key, *n, "one of " + join(choices));
    const std::string v = n->as_string()->get();
    for (const auto& c : choices)
        if (c == v) {
            out = v;
            return;
        }
    bad_value(source, key, *n, "one of " + join(choices));
}

const toml::table* sub_table(const toml::table& t, const char* key, const std::string& source) {
    const toml::node* n = t.get(key);
    if (!n) return nullptr;
    if (!n->is_table()) PFCE_THROW(InputError, source, ": \"", key, "\" should be a table");
    return n->as_table();
}

toml::table parse_toml_file(const std::string& path) {
    try {
        return toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        PFCE_THROW(InputError, path, ":", e.source().begin.line, ":", e.source().begin.column, ": ",
                   e.description());
    }
}

void parse_data(const toml::table& t, DataSpec& d, const std::string& source) {
    check_keys(t,
               {"source", "count", "size", "seed", "path", "kind", "tile_patch", "tile_stride",
                "train_frac", "val_frac", "split_seed", "max_samples"},
               source);
    get_choice(t, "source", d.source, {"synthetic", "dataset"}, source);
    get(t, "count", d.count, source, 3);
    get(t, "size", d.size, source, 16);
    get(t, "seed", d.seed, source);
    get(t, "path", d.path, source);
    get_choice(t, "kind", d.kind, {"auto", "kaggle", "tiles", "generic"}, source);
    get(t, "tile_patch", d.tile_patch, source, 16);
    get(t, "tile_stride", d.tile_stride, source, 1);
    get(t, "train_frac", d.train_frac, source);
    get(t, "val_frac", d.val_frac, source);
    get(t, "split_seed", d.split_seed, source);
    get(t, "max_samples", d.max_samples, source, 0);
    if (!(d.train_frac > 0) || d.val_frac < 0 || d.train_frac + d.val_frac >= 1.0)
        PFCE_THROW(InputError, source, ": train_frac = ", d.train_frac, ", val_frac = ", d.val_frac,
                   ": expected train_frac > 0, val_frac >= 0 and a test split left (sum < 1)");
}

void parse_labels(const toml::table& t, LabelSpec& l, const std::string& source) {
    check_keys(t,
               {"kind", "points", "scale_by_area", "seed", "radius", "conflict", "max_color_step"},
               source);
    std::string kind = label_kind_name(l.kind);
    get_choice(t, "kind", kind, {"dense", "sparse", "linked"}, source);
    l.kind = kind == "dense"    ? LabelKind::dense
             : kind == "sparse" ? LabelKind::sparse
                                : LabelKind::linked;
    if (const toml::node* n = t.get("points")) {
        std::vector<int> pts;
        if (n->is_integer()) {
            pts.push_back(static_cast<int>(n->as_integer()->get()));
            if (n->as_integer()->get() < 1 || n->as_integer()->get() > 100'000'000) pts[0] = 0;
        } else if (const toml::array* a = n->as_array()) {
            for (const auto& e : *a)
                pts.push_back(e.is_integer() && e.as_integer()->get() <= 100'000'000
                                  ? static_cast<int>(e.as_integer()->get())
                                  : 0);
        }
        bool ok = !pts.empty() && pts.size() <= kMaxClasses;
        for (int p : pts) ok = ok && p >= 1;
        if (!ok)
            bad_value(source, "points", *n, "an integer >= 1 or an array of them (one per class)");
        l.points = pts;
    }
    get(t, "scale_by_area", l.scale_by_area, source);
    get(t, "seed", l.seed, source);
    get(t, "radius", l.link.radius, source, 0);
    std::string conflict = l.link.conflict == LinkConflict::lowest ? "lowest" : "unlabelled";
    get_choice(t, "conflict", conflict, {"unlabelled", "lowest"}, source);
    l.link.conflict = conflict == "lowest" ? LinkConflict::lowest : LinkConflict::unlabelled;
    if (const toml::node* n = t.get("max_color_step")) {
        double v = 0;
        get(t, "max_color_step", v, source);
        if (!(v >= 0 || v == -1))
            bad_value(source, "max_color_step", *n, "a number >= 0 (or -1 = off)");
        l.link.max_color_step = static_cast<float>(v);
    }
}

// [train] tables: the runner owns where data comes from, where the run goes and the device.
void apply_train(const toml::table& t, TrainConfig& c, const std::string& source) {
    for (const char* owned :
         {"data", "labels", "out", "device", "train_frac", "val_frac", "split_seed", "max_samples"})
        if (t.contains(owned))
            PFCE_THROW(InputError, source, ": key \"", owned,
                       "\" is set by pfce run (data and split live in the "
                       "suite's [data] table; --out and --device on the command line)");
    c = train_config_from_toml(t, source, c);
}

// The [experiment]-level keys of an experiment file or an inline entry.
void parse_meta(const toml::table& t, ExperimentSpec& e, const std::string& source) {
    get(t, "id", e.id, source);
    get(t, "description", e.description, source);
    get(t, "report_figure", e.report_figure, source);
    get_choice(t, "evaluate", e.evaluate, {"last", "best"}, source);
}

void check_id(const ExperimentSpec& e) {
    bool ok = !e.id.empty() && e.id.size() <= 64 && e.id[0] != '.';
    for (char c : e.id)
        ok =
            ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
    if (!ok)
        PFCE_THROW(InputError, e.source, ": experiment id \"", e.id,
                   "\": expected 1-64 characters of letters, digits, '-', '_' or '.' (it names a "
                   "directory)");
}

// An experiment file: [experiment], [labels], [train] over `e` (which holds the suite defaults).
void apply_experiment_file(const std::string& path, ExperimentSpec& e) {
    const toml::table root = parse_toml_file(path);
    check_keys(root, {"experiment", "labels", "train"}, path);
    if (const auto* t = sub_table(root, "experiment", path)) {
        check_keys(*t, {"id", "description", "report_figure", "evaluate"}, path + " [experiment]");
        parse_meta(*t, e, path + " [experiment]");
    }
    if (const auto* t = sub_table(root, "labels", path))
        parse_labels(*t, e.labels, path + " [labels]");
    if (const auto* t = sub_table(root, "train", path)) apply_train(*t, e.train, path + " [train]");
}

Suite suite_from_table(const toml::table& root, const std::string& path) {
    Suite s;
    s.file = path;
    check_keys(root, {"suite", "data", "train", "override"}, path);
    const toml::table* st = sub_table(root, "suite", path);
    if (!st)
        PFCE_THROW(InputError, path,
                   ": no [suite] table (a suite needs [suite] with experiments = [...])");
    const std::string ssrc = path + " [suite]";
    check_keys(*st, {"name", "description", "experiments", "grid_images"}, ssrc);
    s.name = fs::path(path).stem().string();
    get(*st, "name", s.name, ssrc);
    get(*st, "description", s.description, ssrc);
    get(*st, "grid_images", s.grid_images, ssrc, 0);
    if (const auto* t = sub_table(root, "data", path)) parse_data(*t, s.data, path + " [data]");

    TrainConfig defaults;
    if (const auto* t = sub_table(root, "train", path))
        apply_train(*t, defaults, path + " [train]");
    const toml::table* override_train = nullptr;
    if (const auto* t = sub_table(root, "override", path)) {
        check_keys(*t, {"train"}, path + " [override]");
        override_train = sub_table(*t, "train", path + " [override]");
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
        e.train = defaults;
        const std::string esrc = ssrc + " experiments[" + std::to_string(index) + "]";
        auto resolve = [&](const std::string& file) {
            return (base / file).lexically_normal().string();
        };
        if (const auto* name = entry.as_string()) {
            e.source = resolve(name->get());
            apply_experiment_file(e.source, e);
            if (override_train) apply_train(*override_train, e.train, path + " [override.train]");
        } else if (const auto* t = entry.as_table()) {
            check_keys(
                *t, {"file", "id", "description", "report_figure", "evaluate", "labels", "train"},
                esrc);
            e.source = esrc;
            std::string file;
            get(*t, "file", file, esrc);
            if (!file.empty()) {
                apply_experiment_file(resolve(file), e);
                e.source = esrc + " (" + resolve(file) + ")";
            }
            if (override_train) apply_train(*override_train, e.train, path + " [override.train]");
            parse_meta(*t, e, esrc);
            if (const auto* l = sub_table(*t, "labels", esrc))
                parse_labels(*l, e.labels, esrc + " labels");
            if (const auto* tr = sub_table(*t, "train", esrc))
                apply_train(*tr, e.train, esrc + " train");
        } else {
            PFCE_THROW(InputError, esrc,
                       ": expected an experiment file name or an inline table, got ",
                       node_text(entry));
        }
        check_id(e);
        if (!ids.insert(e.id).second)
            PFCE_THROW(InputError, esrc, ": duplicate experiment id \"", e.id, "\"");
        s.experiments.push_back(std::move(e));
    }
    return s;
}

}  // namespace

Suite parse_suite(const std::string& text, const std::string& path) {
    toml::table root;
    try {
        root = toml::parse(text, path);
    } catch (const toml::parse_error& e) {
        PFCE_THROW(InputError, path, ":", e.source().begin.line, ":", e.source().begin.column, ": ",
                   e.description());
    }
    return suite_from_table(root, path);
}

std::string resolve_suite_path(const std::string& given) {
    std::error_code ec;
    if (fs::is_regular_file(given, ec)) return given;
    // A bare name ("synthetic-small") or the default relative path, run from anywhere: the suites
    // of ./experiments, then those of the source tree this pfce was built from.
    const fs::path p(given);
    const std::string name = p.extension() == ".toml" ? p.filename().string() : given + ".toml";
    if (p.parent_path().empty() || p.parent_path() == "experiments")
        for (const fs::path dir :
             {fs::path("experiments"), fs::path(PFCE_SOURCE_ROOT) / "experiments"})
            if (fs::is_regular_file(dir / name, ec)) return (dir / name).string();
    PFCE_THROW(InputError, given, ": no such suite file (suites are in ",
               (fs::path(PFCE_SOURCE_ROOT) / "experiments").string(), ")");
}

Suite load_suite(const std::string& path) {
    const std::string file = resolve_suite_path(path);
    return suite_from_table(parse_toml_file(file), file);
}

std::string describe_labels(const LabelSpec& l) {
    if (l.kind == LabelKind::dense) return "dense";
    std::string pts;
    for (std::size_t i = 0; i < l.points.size(); ++i) {
        if (i) pts += '/';
        pts += std::to_string(l.points[i]);
    }
    std::string s = std::string(label_kind_name(l.kind)) + " " + pts + "/class";
    if (l.kind == LabelKind::linked) {
        s += " D=" + std::to_string(l.link.radius);
        if (l.link.max_color_step >= 0) {
            std::ostringstream os;
            os << l.link.max_color_step;
            s += " edge " + os.str();
        }
        if (l.link.conflict == LinkConflict::lowest) s += " lowest";
    }
    return s;
}

nlohmann::json experiment_fingerprint(const ExperimentSpec& e, const DataSpec& d) {
    nlohmann::json train = to_json(e.train);
    for (const char* runner_owned : {"data", "labels", "out", "device", "log_every", "prefetch"})
        train.erase(runner_owned);
    nlohmann::json data = {{"source", d.source},
                           {"train_frac", d.train_frac},
                           {"val_frac", d.val_frac},
                           {"split_seed", d.split_seed},
                           {"max_samples", d.max_samples}};
    if (d.source == "synthetic") {
        data["count"] = d.count;
        data["size"] = d.size;
        data["seed"] = d.seed;
    } else {
        data["path"] = d.path;
        data["kind"] = d.kind;
        data["tile_patch"] = d.tile_patch;
        data["tile_stride"] = d.tile_stride;
    }
    return {
        {"id", e.id},
        {"evaluate", e.evaluate},
        {"labels",
         {{"kind", label_kind_name(e.labels.kind)},
          {"points", e.labels.points},
          {"scale_by_area", e.labels.scale_by_area},
          {"seed", e.labels.seed},
          {"radius", e.labels.link.radius},
          {"conflict", e.labels.link.conflict == LinkConflict::lowest ? "lowest" : "unlabelled"},
          {"max_color_step", e.labels.link.max_color_step}}},
        {"train", train},
        {"data", data}};
}

}  // namespace pfce
