// One CLI11 option per config key, in option groups named after the sections.
#include "host/cli/config_flags.hpp"

#include <cstddef>
#include <iterator>

#include "core/log.hpp"

namespace pfce::cli {
namespace {

// What --help shows for a key's value (the flags take text, parsed by the key table).
const char* type_name(const ConfigKey& k) {
    static constexpr const char* kNames[] = {
        "INT",    "UINT",    "FLOAT",     "BOOL",           "TEXT",
        "CHOICE", "INT,...", "FLOAT,...", "FLOAT,...|auto", "BOOL|auto"};  // by KeyType
    static_assert(std::size(kNames) == static_cast<std::size_t>(KeyType::switch_or_auto) + 1);
    if (k.type == KeyType::text && k.is_path) return "PATH";
    return kNames[static_cast<std::size_t>(k.type)];
}

}  // namespace

std::string config_flag_help(const ConfigKey& k) {
    static const Config defaults;
    std::string help = k.help;
    if (k.type == KeyType::choice) {
        help += " (";
        for (std::size_t i = 0; i < k.choices.size(); ++i) help += (i ? " | " : "") + k.choices[i];
        help += ")";
    }
    nlohmann::json d = k.get(defaults);
    std::string shown = d.is_string() ? d.get<std::string>() : d.dump();
    if (d.is_array()) {
        shown.clear();
        for (std::size_t i = 0; i < d.size(); ++i) shown += (i ? "," : "") + d[i].dump();
    }
    return help + "  [" + k.dotted() + (shown.empty() ? "" : " = " + shown) + "]";
}

std::string single_flag_value(const std::string& flag, const CLI::results_t& r, bool is_switch) {
    if (r.size() > 1) {
        std::string values;
        for (const std::string& v : r) {
            if (!values.empty()) values += ", then ";
            values += !v.empty() ? v : is_switch ? "alone" : "\"\"";
        }
        log_warn(flag, " is given ", r.size(), " times (", values, "): the last one is taken");
    }
    return r.empty() ? std::string() : r.back();
}

const char* config_flag_type(const ConfigKey& k) {
    return type_name(k);
}

void add_config_flags(CLI::App& app, std::map<std::string, std::string>& given,
                      const std::set<std::string>& skip) {
    for (const std::string& section : config_sections()) {
        CLI::Option_group* group = app.add_option_group("[" + section + "]");
        for (const ConfigKey& k : config_keys()) {
            if (k.section != section || skip.count(k.dotted())) continue;
            const std::string help = config_flag_help(k);
            const std::string key = k.dotted();
            if (k.type != KeyType::boolean && k.type != KeyType::switch_or_auto) {
                // Into `given` only when typed, so an empty value typed is a value: `--bands ""`
                // clears a config file's list, and `--epochs ""` is refused instead of ignored.
                group
                    ->add_option(
                        k.flag,
                        [&given, key, flag = k.flag](const CLI::results_t& r) {
                            given[key] = single_flag_value(flag, r, false);
                            return true;
                        },
                        help)
                    ->type_name(type_name(k))
                    ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
                continue;
            }
            add_switch(group, k.flag, help, [&given, key](const std::string& text) {
                given[key] = text;
            })->type_name(k.type == KeyType::switch_or_auto ? "[BOOL|auto]" : "[BOOL]");
        }
    }
}

CLI::Option* add_switch(CLI::App* app, const std::string& flag, const std::string& help,
                        const std::function<void(const std::string&)>& take) {
    // A switch reads as one: `--deterministic` alone means true, `--deterministic false` and
    // `--deterministic=false` still work, and `--no-deterministic` is the negation. A value never
    // swallows the next flag: CLI11 only takes a following word that is not an option.
    CLI::Option* opt = app->add_option(
                              flag,
                              [take, flag](const CLI::results_t& r) {
                                  // Given alone, the value arrives empty.
                                  const std::string v = single_flag_value(flag, r, true);
                                  take(v.empty() ? "true" : v);
                                  return true;
                              },
                              help)
                           ->expected(0, 1)
                           ->type_name("[BOOL]")
                           ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    app->add_flag_callback(
           "--no-" + flag.substr(2), [take] { take("false"); }, "the same as " + flag + " false")
        ->disable_flag_override()  // --no-x=false would read as false
        ->excludes(opt);
    return opt;
}

void apply_config_flags(Config& c, const std::map<std::string, std::string>& given) {
    // Only the flags typed are in `given`, empty ones included: each key's parser and setter
    // decide what an empty value means (an empty list, an empty path) or refuse it.
    for (const ConfigKey& k : config_keys()) {
        const auto it = given.find(k.dotted());
        if (it != given.end()) apply_flag_text(c, k, it->second);
    }
}

}  // namespace pfce::cli
