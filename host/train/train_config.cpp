// TrainConfig I/O: one table of fields drives the TOML reader, the JSON writer and the JSON reader,
// so a key means the same thing in a config file and in a checkpoint.
#include "host/train/train_config.hpp"

#include <cmath>
#include <functional>
#include <limits>

#include "core/error.hpp"

namespace pfce {

namespace {

using json = nlohmann::json;

struct Field {
    const char* key;
    std::function<json(const TrainConfig&)> get;
    // Throws std::string (what was expected) on a type mismatch; the caller adds file and key.
    std::function<void(TrainConfig&, const json&)> set;
};

template <typename T>
Field field(const char* key, T TrainConfig::*member) {
    Field f;
    f.key = key;
    f.get = [member](const TrainConfig& c) { return json(c.*member); };
    f.set = [member](TrainConfig& c, const json& v) {
        if constexpr (std::is_same_v<T, bool>) {
            if (!v.is_boolean()) throw std::string("a boolean");
            c.*member = v.get<bool>();
        } else if constexpr (std::is_same_v<T, std::string>) {
            if (!v.is_string()) throw std::string("a string");
            c.*member = v.get<std::string>();
        } else if constexpr (std::is_same_v<T, double>) {
            if (!v.is_number()) throw std::string("a number");
            c.*member = v.get<double>();
        } else if constexpr (std::is_same_v<T, std::vector<double>>) {
            if (!v.is_array()) throw std::string("an array of numbers");
            std::vector<double> out;
            for (const auto& e : v) {
                if (!e.is_number()) throw std::string("an array of numbers");
                out.push_back(e.get<double>());
            }
            c.*member = out;
        } else if constexpr (std::is_same_v<T, std::uint64_t>) {
            // Seeds use all 64 bits: JSON keeps values >= 2^63 as unsigned, never as negatives.
            if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0))
                throw std::string("a non-negative integer");
            c.*member = v.get<std::uint64_t>();
        } else {
            static_assert(std::is_same_v<T, int>);
            if (!v.is_number_integer()) throw std::string("an integer");
            const auto x = v.get<std::int64_t>();
            if (x < std::numeric_limits<int>::min() || x > std::numeric_limits<int>::max())
                throw std::string("an integer in int range");
            c.*member = static_cast<int>(x);
        }
    };
    return f;
}

const std::vector<Field>& fields() {
    static const std::vector<Field> f = {
        field("data", &TrainConfig::data),
        field("labels", &TrainConfig::labels),
        field("train_frac", &TrainConfig::train_frac),
        field("val_frac", &TrainConfig::val_frac),
        field("split_seed", &TrainConfig::split_seed),
        field("max_samples", &TrainConfig::max_samples),
        field("augment", &TrainConfig::augment),
        field("width", &TrainConfig::width),
        field("depth", &TrainConfig::depth),
        field("focal_gamma", &TrainConfig::focal_gamma),
        field("focal_alpha", &TrainConfig::focal_alpha),
        field("loss_normalize", &TrainConfig::loss_normalize),
        field("epochs", &TrainConfig::epochs),
        field("batch_size", &TrainConfig::batch_size),
        field("lr", &TrainConfig::lr),
        field("optimizer", &TrainConfig::optimizer),
        field("weight_decay", &TrainConfig::weight_decay),
        field("momentum", &TrainConfig::momentum),
        field("beta1", &TrainConfig::beta1),
        field("beta2", &TrainConfig::beta2),
        field("eps", &TrainConfig::eps),
        field("schedule", &TrainConfig::schedule),
        field("step_size", &TrainConfig::step_size),
        field("step_gamma", &TrainConfig::step_gamma),
        field("warmup_epochs", &TrainConfig::warmup_epochs),
        field("min_lr", &TrainConfig::min_lr),
        field("plateau_factor", &TrainConfig::plateau_factor),
        field("plateau_patience", &TrainConfig::plateau_patience),
        field("plateau_threshold", &TrainConfig::plateau_threshold),
        field("plateau_cooldown", &TrainConfig::plateau_cooldown),
        field("plateau_metric", &TrainConfig::plateau_metric),
        field("clip", &TrainConfig::clip),
        field("best_metric", &TrainConfig::best_metric),
        field("seed", &TrainConfig::seed),
        field("device", &TrainConfig::device),
        field("out", &TrainConfig::out),
        field("log_every", &TrainConfig::log_every),
        field("prefetch", &TrainConfig::prefetch),
    };
    return f;
}

const Field* find_field(const std::string& key) {
    for (const auto& f : fields())
        if (key == f.key) return &f;
    return nullptr;
}

std::string known_keys() {
    std::string s;
    for (const auto& f : fields()) s += (s.empty() ? "" : ", ") + std::string(f.key);
    return s;
}

// TOML value -> JSON value (scalars and arrays of scalars are all [train] uses).
json toml_to_json(const toml::node& n) {
    if (auto v = n.as_boolean()) return v->get();
    if (auto v = n.as_integer()) return v->get();
    if (auto v = n.as_floating_point()) return v->get();
    if (auto v = n.as_string()) return v->get();
    if (auto a = n.as_array()) {
        json out = json::array();
        for (const auto& e : *a) out.push_back(toml_to_json(e));
        return out;
    }
    return json("<table or date>");  // rejected by every setter as the wrong type
}

void apply(TrainConfig& c, const std::string& key, const json& value, const std::string& source) {
    const Field* f = find_field(key);
    if (!f)
        PFCE_THROW(InputError, source, ": unknown key \"", key, "\" (known: ", known_keys(), ")");
    try {
        f->set(c, value);
    } catch (const std::string& expected) {
        PFCE_THROW(InputError, source, ": key \"", key, "\" = ", value.dump(), ": expected ",
                   expected);
    }
}

}  // namespace

TrainConfig train_config_from_toml(const toml::table& table, const std::string& source,
                                   TrainConfig base) {
    for (const auto& [k, node] : table)
        apply(base, std::string(k.str()), toml_to_json(node), source);
    validate(base, source);
    return base;
}

TrainConfig load_train_config(const std::string& path) {
    toml::table root;
    try {
        root = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        PFCE_THROW(InputError, path, ":", e.source().begin.line, ":", e.source().begin.column, ": ",
                   e.description());
    }
    for (const auto& [k, node] : root)
        if (k.str() != "train")
            PFCE_THROW(InputError, path, ": unknown table or key \"", k.str(),
                       "\" (expected [train])");
    const toml::table* t = root["train"].as_table();
    if (!t) PFCE_THROW(InputError, path, ": no [train] table");
    return train_config_from_toml(*t, path + " [train]");
}

json to_json(const TrainConfig& c) {
    json j = json::object();
    for (const auto& f : fields()) j[f.key] = f.get(c);
    return j;
}

TrainConfig train_config_from_json(const json& j, const std::string& source) {
    TrainConfig c;
    if (!j.is_object()) PFCE_THROW(InputError, source, ": training config is not a JSON object");
    for (auto it = j.begin(); it != j.end(); ++it) apply(c, it.key(), it.value(), source);
    return c;
}

void validate(const TrainConfig& c, const std::string& source) {
    auto bad = [&](const char* key, const auto& value, const char* expected) {
        PFCE_THROW(InputError, source, ": ", key, " = ", value, ": expected ", expected);
    };
    if (c.epochs < 1) bad("epochs", c.epochs, ">= 1");
    if (c.batch_size < 1) bad("batch_size", c.batch_size, ">= 1");
    if (!(c.lr > 0) || !std::isfinite(c.lr)) bad("lr", c.lr, "a positive number");
    if (c.weight_decay < 0) bad("weight_decay", c.weight_decay, ">= 0");
    if (c.clip < 0) bad("clip", c.clip, ">= 0 (0 = off)");
    if (c.width < 1) bad("width", c.width, ">= 1");
    if (c.depth < 1 || c.depth > 8) bad("depth", c.depth, "1..8");
    if (c.focal_gamma < 0) bad("focal_gamma", c.focal_gamma, ">= 0");
    if (c.loss_normalize != "labelled" && c.loss_normalize != "alpha")
        bad("loss_normalize", c.loss_normalize, "labelled or alpha");
    if (c.best_metric != "val_loss" && c.best_metric != "val_miou")
        bad("best_metric", c.best_metric, "val_loss or val_miou");
    if (c.plateau_metric != "val_loss" && c.plateau_metric != "val_miou")
        bad("plateau_metric", c.plateau_metric, "val_loss or val_miou");
    if (!(c.train_frac > 0) || c.val_frac < 0 || c.train_frac + c.val_frac > 1.0 + 1e-12)
        bad("train_frac", c.train_frac, "> 0 with train_frac + val_frac <= 1");
    if (c.log_every < 1) bad("log_every", c.log_every, ">= 1");
    if (c.max_samples < 0) bad("max_samples", c.max_samples, ">= 0");
    if (c.step_size < 1) bad("step_size", c.step_size, ">= 1");
    if (c.plateau_patience < 0) bad("plateau_patience", c.plateau_patience, ">= 0");
    if (!(c.plateau_factor > 0 && c.plateau_factor < 1))
        bad("plateau_factor", c.plateau_factor, "in (0, 1)");
    if (c.warmup_epochs < 0) bad("warmup_epochs", c.warmup_epochs, ">= 0");
    parse_optimizer_kind(c.optimizer, source + ": optimizer");
    parse_schedule_kind(c.schedule, source + ": schedule");
}

OptimizerConfig optimizer_config(const TrainConfig& c) {
    OptimizerConfig o;
    o.kind = parse_optimizer_kind(c.optimizer);
    o.weight_decay = static_cast<float>(c.weight_decay);
    o.momentum = static_cast<float>(c.momentum);
    o.beta1 = static_cast<float>(c.beta1);
    o.beta2 = static_cast<float>(c.beta2);
    o.eps = static_cast<float>(c.eps);
    return o;
}

FocalLossParams focal_params(const TrainConfig& c) {
    FocalLossParams p;
    p.gamma = static_cast<float>(c.focal_gamma);
    for (double a : c.focal_alpha) p.alpha.push_back(static_cast<float>(a));
    p.normalize = c.loss_normalize == "alpha" ? LossNormalize::alpha : LossNormalize::labelled;
    return p;
}

ScheduleConfig schedule_config(const TrainConfig& c, std::int64_t batches_per_epoch) {
    ScheduleConfig s;
    s.kind = parse_schedule_kind(c.schedule);
    s.base_lr = c.lr;
    s.step_size = c.step_size;
    s.gamma = c.step_gamma;
    s.warmup_steps = static_cast<std::int64_t>(
        std::llround(c.warmup_epochs * static_cast<double>(batches_per_epoch)));
    s.total_steps =
        std::max<std::int64_t>(1, static_cast<std::int64_t>(c.epochs) * batches_per_epoch);
    s.min_lr = c.min_lr;
    s.plateau_max = c.plateau_metric == "val_miou";
    s.factor = c.plateau_factor;
    s.patience = c.plateau_patience;
    s.threshold = c.plateau_threshold;
    s.cooldown = c.plateau_cooldown;
    return s;
}

}  // namespace pfce
