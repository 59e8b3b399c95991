// Config <-> TOML, JSON and command-line text, all through the key table, so a key means the same
// in a config file, a checkpoint and a flag.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

#include "core/enum_names.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/text.hpp"
#include "host/train/config.hpp"
#include "host/train/evaluate.hpp"

namespace pfce {
namespace {

using json = nlohmann::json;

std::string keys_of(const std::string& section) {
    std::string s;
    for (const ConfigKey& k : config_keys())
        if (k.section == section) s += (s.empty() ? "" : ", ") + k.name;
    return s;
}

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
}

// Sets one key, with the error naming source, key, value and expectation.
// A value as the file wrote it: JSON has no NaN or infinity (dump() gives "null" for them).
std::string as_written(const json& v) {
    if (v.is_number_float() && !std::isfinite(v.get<double>()))
        return std::isnan(v.get<double>()) ? "nan" : (v.get<double>() > 0 ? "inf" : "-inf");
    if (v.is_array()) {  // [1, nan, 3], not [1,null,3]
        std::string s = "[";
        for (const json& e : v) {
            if (s.size() > 1) s += ", ";
            s += as_written(e);
        }
        return s + "]";
    }
    return v.dump();
}

void assign(Config& c, const ConfigKey& k, const json& value, const std::string& source) {
    json v = value;
    // TOML integers stop at 2^63-1: seeds above are written as strings of digits.
    if (k.type == KeyType::unsigned_integer && v.is_string()) {
        const std::string t = v.get<std::string>();
        std::uint64_t x = 0;
        const auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), x);
        if (!t.empty() && ec == std::errc() && p == t.data() + t.size()) v = x;
    }
    try {
        k.set(c, v);
    } catch (const std::string& expected) {
        PFCE_THROW(InputError, source, ": key \"", k.dotted(), "\" = ", as_written(value),
                   ": expected ", expected);
    }
    if (k.type == KeyType::choice) {
        // Any case (`--tile-image irrg`, as `pfce sample` takes it), stored as the table spells
        // it, so a config, a checkpoint and a fingerprint hold one spelling of each choice.
        const std::string got = k.get(c).get<std::string>();
        const auto it =
            std::find_if(k.choices.begin(), k.choices.end(),
                         [&](const std::string& ch) { return same_name(got, ch.c_str()); });
        if (it == k.choices.end())
            PFCE_THROW(InputError, source, ": key \"", k.dotted(), "\" = \"", got,
                       "\": expected one of ", join(k.choices));
        k.set(c, json(*it));
    }
    if (k.dotted() == "run.best_metric" || k.dotted() == "schedule.plateau_metric") {
        // val_loss, val_miou and val_iou: in any case, as a choice is read (a config that said
        // VAL_MIOU was read so); the class after the colon as the dataset names it.
        const std::string got = k.get(c).get<std::string>();
        const std::size_t colon = got.find(':');
        k.set(c, json(ascii_lower(got.substr(0, colon)) +
                      (colon == std::string::npos ? std::string() : got.substr(colon))));
    }
}

// The value of key k as written in `source`. A table, date or time is no value of any key, and is
// refused here: as text it would pass for a name or path (`out = 2024-05-01`, unquoted, trained
// into a directory named after the placeholder text).
json toml_to_json(const toml::node& n, const ConfigKey& k, const std::string& source) {
    if (auto v = n.as_boolean()) return v->get();
    if (auto v = n.as_integer()) return v->get();
    if (auto v = n.as_floating_point()) return v->get();
    if (auto v = n.as_string()) return v->get();
    if (auto a = n.as_array()) {
        json out = json::array();
        for (const auto& e : *a) out.push_back(toml_to_json(e, k, source));
        return out;
    }
    std::ostringstream written;
    if (const auto* d = n.as_date())
        written << *d;
    else if (const auto* t = n.as_time())
        written << *t;
    else if (const auto* dt = n.as_date_time())
        written << *dt;
    const std::string line = " (line " + std::to_string(n.source().begin.line) + ")";
    if (n.is_table())
        PFCE_THROW(InputError, source, ": key \"", k.dotted(), "\"", line,
                   " is a TOML table: expected one value");
    PFCE_THROW(InputError, source, ": key \"", k.dotted(), "\"", line, " = ", written.str(),
               ", a TOML date or time: expected a value of the key's type; a name or path "
               "is written in quotes (\"",
               written.str(), "\")");
}

const ConfigKey* find_legacy_key(const std::string& name) {
    for (const ConfigKey& k : config_keys())
        if (!k.legacy.empty() && k.legacy == name) return &k;
    return nullptr;
}

bool is_section(const std::string& name) {
    for (const auto& s : config_sections())
        if (s == name) return true;
    return false;
}

}  // namespace

namespace {

// A float the TOML parser read as 0 or a subnormal though the file wrote digits a double cannot
// hold (`lr = 1e-400`): the value checked would not be the value written, and its message would
// say "0". Found from the number's text at its place in the file; InputError naming it.
void refuse_underflowed_floats(const toml::node& node, const std::vector<std::string>& lines,
                               const std::string& path) {
    if (const toml::table* t = node.as_table()) {
        for (const auto& entry : *t) refuse_underflowed_floats(entry.second, lines, path);
        return;
    }
    if (const toml::array* a = node.as_array()) {
        for (const toml::node& v : *a) refuse_underflowed_floats(v, lines, path);
        return;
    }
    const auto* f = node.as_floating_point();
    if (!f || std::fabs(f->get()) >= DBL_MIN) return;
    const auto& at = node.source().begin;
    if (at.line < 1 || at.line > lines.size() || at.column < 1) return;
    const std::string& line = lines[at.line - 1];
    const std::size_t from = at.column - 1;
    if (from >= line.size()) return;
    const std::size_t end = line.find_first_of(" \t,]}#\r", from);
    std::string text = line.substr(from, end == std::string::npos ? std::string::npos : end - from);
    text.erase(std::remove(text.begin(), text.end(), '_'), text.end());  // TOML's 1_000.0
    errno = 0;
    std::strtod(text.c_str(), nullptr);
    if (errno == ERANGE)
        PFCE_THROW(
            InputError, path, ":", at.line, ":", at.column, ": ", text,
            " is too small for a double (it reads as 0, or loses its digits): expected 0 or a "
            "number of "
            "magnitude 2.3e-308..1.8e308");
}

}  // namespace

toml::table parse_toml_file(const std::string& path, const std::string& given_as) {
    const std::string named = given_as.empty() ? path : given_as + " " + path;
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        const std::string run_config = (std::filesystem::path(path) / "config.toml").string();
        PFCE_THROW(InputError, named, " is a directory (expected a TOML file",
                   std::filesystem::is_regular_file(run_config, ec)
                       ? "; " + run_config + " is the config of the run there"
                       : std::string(),
                   ")");
    }
    // Read once, as a stream: a pipe (--config /dev/stdin, <(...)) cannot be read twice or sought,
    // which toml::parse_file needs.
    const std::string text = read_whole_file(path, /*streams_too=*/true);
    // Not TOML at all: said as what it is, not as the parser's "invalid utf-8 sequence" at 1:12
    // (error-message audit).
    if (text.rfind("PFCECKPT", 0) == 0)
        PFCE_THROW(InputError, named,
                   " is a pfce checkpoint, not a TOML file (a checkpoint is given to pfce train "
                   "--resume or --init-from, or to eval and predict as --checkpoint)");
    if (text.find('\0') != std::string::npos)
        PFCE_THROW(InputError, named,
                   " is a binary file, not a TOML file (expected [section] tables of key = value "
                   "lines)");
    if (const std::size_t first = text.find_first_not_of(" \t\r\n");
        first != std::string::npos && text[first] == '{')
        PFCE_THROW(InputError, named,
                   " is JSON, not TOML (expected [section] tables of key = value lines; a run's "
                   "settings as TOML are its OUT/config.toml)");
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    toml::table table;
    try {
        table = toml::parse(text, path);
    } catch (const toml::parse_error& e) {
        // With the line itself, which names the key (the parser's "'99999999999999999999' is not
        // representable in 64 bits" named no key, and no range).
        const std::size_t at = e.source().begin.line;
        std::string line = at >= 1 && at <= lines.size() ? lines[at - 1] : std::string();
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
        if (line.size() > 100) line = line.substr(0, 97) + "...";
        PFCE_THROW(InputError, path, ":", at, ":", e.source().begin.column, ": ", e.description(),
                   line.empty() ? std::string() : " (in: " + line + ")");
    }
    refuse_underflowed_floats(table, lines, path);
    return table;
}

void apply_toml_section(Config& c, const std::string& section, const toml::table& table,
                        const std::string& source) {
    if (section == "train") {  // the flat table of older files
        for (const auto& [k, node] : table) {
            const ConfigKey* key = find_legacy_key(std::string(k.str()));
            if (!key) PFCE_THROW(InputError, source, ": unknown key \"", k.str(), "\" in [train]");
            assign(c, *key, toml_to_json(node, *key, source), source);
        }
        return;
    }
    if (!is_section(section))
        PFCE_THROW(InputError, source, ": unknown table [", section, "] (expected ",
                   join(config_sections()), ")");
    for (const auto& [k, node] : table) {
        const std::string name(k.str());
        const ConfigKey* key = find_config_key(section + "." + name);
        if (!key)
            PFCE_THROW(InputError, source, ": unknown key \"", section, ".", name, "\" (line ",
                       k.source().begin.line, "; [", section, "] has ", keys_of(section), ")");
        assign(c, *key, toml_to_json(node, *key, source), source);
    }
}

void apply_toml_sections(Config& c, const toml::table& root, const std::string& source,
                         const std::set<std::string>& also_allowed) {
    // A key of the older flat [train] table set again in its section: whichever came last in the
    // file would win without a word (lr 0.5 in [train] over lr 0.01 in [optimizer]).
    if (const toml::table* flat = root["train"].as_table())
        for (const auto& [k, node] : *flat) {
            const ConfigKey* key = find_legacy_key(std::string(k.str()));
            const toml::table* section = key ? root[key->section].as_table() : nullptr;
            if (section && section->contains(key->name))
                PFCE_THROW(InputError, source, ": ", key->section, ".", key->name,
                           " is set twice: as \"", k.str(),
                           "\" in [train] (the older form) and in [", key->section, "]; keep one");
        }
    for (const auto& [k, node] : root) {
        const std::string name(k.str());
        if (also_allowed.count(name)) continue;
        if (!is_section(name) && name != "train")
            PFCE_THROW(
                InputError, source, ": unknown table or key \"", name, "\" (expected ",
                join(config_sections()),
                also_allowed.empty() ? "" : ", " + join({also_allowed.begin(), also_allowed.end()}),
                ")");
        const toml::table* t = node.as_table();
        if (!t) PFCE_THROW(InputError, source, ": \"", name, "\" must be a table ([", name, "])");
        apply_toml_section(c, name, *t, source + " [" + name + "]");
    }
}

std::string experiment_of_config_file(const toml::table& root, const std::string& path) {
    if (root.contains("suite"))
        PFCE_THROW(InputError, path, " is a suite file ([suite]): run it with pfce run ", path,
                   " (--only ID for one experiment); pfce train --config takes a config (",
                   join(config_sections()), ") or an experiment file of a suite");
    const toml::node* node = root.get("experiment");
    if (!node) return {};
    const toml::table* t = node->as_table();
    if (!t) PFCE_THROW(InputError, path, ": \"experiment\" must be a table ([experiment])");
    std::string id = std::filesystem::path(path).stem().string();
    for (const auto& [k, v] : *t) {
        const std::string name(k.str());
        if (name != "id" && name != "description" && name != "report_figure")
            PFCE_THROW(InputError, path, " [experiment]: unknown key \"", name,
                       "\" (expected id, description, report_figure)");
        if (!v.is_string())
            PFCE_THROW(InputError, path, " [experiment]: ", name, " must be a string");
        if (name == "id" && !v.value<std::string>()->empty()) id = *v.value<std::string>();
    }
    return id;
}

Config load_config_file(const std::string& path) {
    Config c;
    const toml::table root = parse_toml_file(path);
    const bool experiment = !experiment_of_config_file(root, path).empty();
    apply_toml_sections(c, root, path,
                        experiment ? std::set<std::string>{"experiment"} : std::set<std::string>{});
    validate(c, path);
    return c;
}

json to_json(const Config& c) {
    json j = json::object();
    for (const ConfigKey& k : config_keys()) j[k.section][k.name] = k.get(c);
    return j;
}

Config config_from_json(const json& j, const std::string& source) {
    if (!j.is_object()) PFCE_THROW(InputError, source, ": the config is not a JSON object");
    Config c;
    const bool sectioned = j.contains("optimizer") && j["optimizer"].is_object();
    for (auto it = j.begin(); it != j.end(); ++it) {
        if (!sectioned) {  // the flat form of checkpoints written by older pfce
            const ConfigKey* key = find_legacy_key(it.key());
            if (!key) PFCE_THROW(InputError, source, ": unknown key \"", it.key(), "\"");
            assign(c, *key, it.value(), source);
            continue;
        }
        if (!is_section(it.key()) || !it.value().is_object())
            PFCE_THROW(InputError, source, ": unknown config section \"", it.key(), "\"");
        for (auto kv = it.value().begin(); kv != it.value().end(); ++kv) {
            const ConfigKey* key = find_config_key(it.key() + "." + kv.key());
            if (!key)
                PFCE_THROW(InputError, source, ": unknown key \"", it.key(), ".", kv.key(), "\"");
            assign(c, *key, kv.value(), source);
        }
    }
    return c;
}

std::string to_toml_text(const Config& c) {
    std::ostringstream os;
    for (const std::string& section : config_sections()) {
        os << "[" << section << "]\n";
        for (const ConfigKey& k : config_keys()) {
            if (k.section != section) continue;
            json v = k.get(c);
            if (v.is_number_unsigned() && v.get<std::uint64_t>() > INT64_MAX)
                v = std::to_string(v.get<std::uint64_t>());  // beyond TOML's integers
            os << k.name << " = " << v.dump() << "\n";
        }
        os << "\n";
    }
    return os.str();
}

std::optional<bool> switch_value(const std::string& text) {
    std::string t = text;  // TRUE and False as well
    for (char& ch : t) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (t == "true" || t == "1" || t == "yes" || t == "on") return true;
    if (t == "false" || t == "0" || t == "no" || t == "off") return false;
    return std::nullopt;
}

void apply_flag_text(Config& c, const ConfigKey& k, const std::string& text) {
    const std::string source = "command line";
    auto bad = [&](const std::string& expected) {
        PFCE_THROW(InputError, k.flag, " ", quoted_if_unseen(text), ": expected ", expected);
    };
    auto integer = [&](std::string t, bool non_negative) -> json {
        // A leading '+' is read as every other number option reads it (--lr +1e-3, --seed +3).
        if (t.size() > 1 && t[0] == '+' && t[1] != '-') t.erase(0, 1);
        if (non_negative) {
            std::uint64_t x = 0;
            const auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), x);
            if (ec == std::errc::result_out_of_range && p == t.data() + t.size())
                bad("a non-negative integer of at most 18446744073709551615 (2^64 - 1)");
            if (t.empty() || ec != std::errc() || p != t.data() + t.size())
                bad("a non-negative integer");
            return x;
        }
        std::int64_t x = 0;
        const auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), x);
        if (ec == std::errc::result_out_of_range && p == t.data() + t.size())
            bad("an integer within +-9223372036854775807 (2^63 - 1)");
        if (t.empty() || ec != std::errc() || p != t.data() + t.size()) bad("an integer");
        return x;
    };
    auto number = [&](const std::string& t) -> json {
        // strtod also reads C's hex floats (0x1p-10) and skips leading spaces: neither is how
        // anyone writes a learning rate, and the integer options refuse both already.
        if (!t.empty() &&
            (std::isspace(static_cast<unsigned char>(t[0])) || t.find_first_of("xX") != t.npos))
            bad("a decimal number (such as 0.001 or 1e-3)");
        char* end = nullptr;
        errno = 0;
        const double x = std::strtod(t.c_str(), &end);
        // A decimal comma (0,001), as many locales write it: said as such ("a finite number"
        // suggested a value too large; error-message audit).
        if (const std::size_t comma = t.find(',');
            comma != std::string::npos && comma > 0 && t.find(',', comma + 1) == t.npos &&
            std::isdigit(static_cast<unsigned char>(t[comma - 1])) && comma + 1 < t.size() &&
            std::isdigit(static_cast<unsigned char>(t[comma + 1])))
            bad("a number with a decimal point, not a comma (" + t.substr(0, comma) + "." +
                t.substr(comma + 1) + ")");
        if (t.empty() || end != t.c_str() + t.size())
            bad("a decimal number (such as 0.001 or 1e-3)");
        if (!std::isfinite(x)) bad("a finite number");
        // 1e-400 reads as 0 (and 1e-310 loses its digits): the value checked would not be the
        // value typed.
        if (errno == ERANGE)
            bad("a number 0 or of magnitude 2.3e-308..1.8e308 (this one is too small for a "
                "double)");
        return x;
    };
    // Comma-separated items, every one kept and trimmed of spaces ("4, 1, 2" as "4,1,2"): "1,"
    // has an empty second item (refused by the item's parser, as ",1" is), and "" has none (an
    // empty list).
    auto items = [&](const std::string& t) {
        if (t.empty()) return std::vector<std::string>{};
        std::vector<std::string> out = comma_items(t);
        // "500," read as an item "" would say "expected an integer" of text that holds one.
        if (out.size() > 1 && std::find(out.begin(), out.end(), "") != out.end())
            bad("a comma-separated list without an empty item (a comma too many)");
        return out;
    };
    json v;
    switch (k.type) {
        case KeyType::integer:
            v = integer(text, false);
            break;
        case KeyType::unsigned_integer:
            v = integer(text, true);
            break;
        case KeyType::number:
            v = number(text);
            break;
        case KeyType::boolean: {
            const std::optional<bool> b = switch_value(text);
            if (!b) bad("true or false");
            v = *b;
            break;
        }
        case KeyType::text:
        case KeyType::choice:
            v = text;
            break;
        case KeyType::int_list:
            v = json::array();
            // Empty text is an empty list, which the key's setter takes (data.bands: the images'
            // own colours) or refuses.
            for (const auto& t : items(text)) v.push_back(integer(t, false));
            break;
        case KeyType::number_list:
            v = json::array();
            for (const auto& t : items(text)) v.push_back(number(t));
            break;
        case KeyType::switch_or_auto: {
            const std::optional<bool> b = switch_value(text);
            if (b)
                v = *b;
            else if (same_name(text, "auto"))
                v = "auto";
            else
                bad("true, false or auto");
            break;
        }
        case KeyType::number_list_or_auto:
            if (same_name(text, "auto")) {
                v = "auto";
                break;
            }
            v = json::array();
            for (const auto& t : items(text)) v.push_back(number(t));
            break;
    }
    assign(c, k, v, source + " (" + k.flag + ")");
}

OptimizerConfig optimizer_config(const Config& c) {
    OptimizerConfig o;
    o.kind = kOptimizerKinds.parse(c.optimizer.name);
    o.weight_decay = static_cast<float>(c.optimizer.weight_decay);
    o.momentum = static_cast<float>(c.optimizer.momentum);
    o.beta1 = static_cast<float>(c.optimizer.beta1);
    o.beta2 = static_cast<float>(c.optimizer.beta2);
    o.eps = static_cast<float>(c.optimizer.eps);
    return o;
}

FocalLossParams focal_params(const Config& c) {
    if (c.loss.alpha_auto && c.loss.alpha.empty())
        PFCE_THROW(InputError,
                   "loss.alpha = \"auto\" has not been resolved: the weights come from the "
                   "training labels (the trainer computes them; checkpoints record them)");
    FocalLossParams p;
    p.gamma = static_cast<float>(c.loss.gamma);
    for (double a : c.loss.alpha) p.alpha.push_back(static_cast<float>(a));
    p.normalize = c.loss.normalize == "alpha" ? LossNormalize::alpha : LossNormalize::labelled;
    return p;
}

CrfLossParams crf_params(const Config& c) {
    CrfLossParams p;
    p.weight = static_cast<float>(c.loss.crf_weight);
    p.radius = c.loss.crf_radius;
    p.sigma_xy = static_cast<float>(c.loss.crf_sigma_xy);
    p.sigma_rgb = static_cast<float>(c.loss.crf_sigma_rgb);
    p.downsample = c.loss.crf_downsample;
    return p;
}

double crf_weight_at(const LossSettings& l, int epoch) {
    if (l.crf_warmup <= epoch) return l.crf_weight;
    return l.crf_weight * (epoch + 1) / l.crf_warmup;
}

ScheduleConfig schedule_config(const Config& c, std::int64_t batches_per_epoch) {
    const ScheduleSettings& s = c.schedule;
    ScheduleConfig out;
    out.kind = kScheduleKinds.parse(s.name);
    out.base_lr = c.optimizer.lr;
    out.step_size = s.step_size;
    out.gamma = s.step_gamma;
    out.warmup_steps = static_cast<std::int64_t>(
        std::llround(s.warmup_epochs * static_cast<double>(batches_per_epoch)));
    out.total_steps =
        std::max<std::int64_t>(1, static_cast<std::int64_t>(c.run.epochs) * batches_per_epoch);
    out.min_lr = s.min_lr;
    out.plateau_max =
        s.plateau_metric == "val_miou" || s.plateau_metric.rfind(kBestIouPrefix, 0) == 0;
    out.factor = s.plateau_factor;
    out.patience = s.plateau_patience;
    out.threshold = s.plateau_threshold;
    out.cooldown = s.plateau_cooldown;
    return out;
}

EvalOptions eval_options(const Config& c) {
    EvalOptions o;
    o.batch_size = c.run.batch_size;
    o.prefetch = c.run.prefetch;
    o.window = c.data.crop_size > 0 ? c.data.crop_size : 512;
    return o;
}

LinkParams link_params(const LabelSettings& l) {
    LinkParams p;
    p.radius = l.radius;
    p.conflict = l.conflict == "lowest" ? LinkConflict::lowest : LinkConflict::unlabelled;
    p.max_color_step = static_cast<float>(l.max_color_step);
    return p;
}

std::string run_settings_summary(const Config& c) {
    std::ostringstream os;
    os << describe_labels(c.labels) << ", " << c.optimizer.name << " lr " << c.optimizer.lr << " ("
       << c.schedule.name << "), weight decay " << c.optimizer.weight_decay << ", clip "
       << c.optimizer.clip << ", batch " << c.run.batch_size << ", U-Net width " << c.model.width
       << " depth " << c.model.depth << ", focal gamma " << c.loss.gamma;
    if (c.loss.crf_weight > 0) os << ", CRF weight " << c.loss.crf_weight;
    return os.str();
}

std::string describe_labels(const LabelSettings& l) {
    if (!l.dir.empty()) return l.kind + " from " + l.dir;
    if (l.kind == "dense") return "dense";
    std::string pts;
    for (std::size_t i = 0; i < l.points.size(); ++i) {
        if (i) pts += '/';  // appended apart: GCC 12 warns falsely on "..." + std::string&&
        pts += std::to_string(l.points[i]);
    }
    std::string s = l.kind + " " + pts + "/class";
    if (l.kind == "linked") {
        s += " D=" + std::to_string(l.radius);
        if (l.max_color_step >= 0) {
            std::ostringstream os;
            os << l.max_color_step;
            s += " edge " + os.str();
        }
        if (l.conflict == "lowest") s += " conflict lowest";
    }
    return s;
}

}  // namespace pfce
