// Command-line flags generated from the config's key table (host/train/config.hpp): every key
// has a flag, grouped by section in --help with its default, so a setting never needs a file.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <set>
#include <string>

#include "host/train/config.hpp"

namespace pfce::cli {

// Adds one option per config key (skipping the dotted keys in `skip`); the text typed for each
// lands in `given[dotted key]`, and a key not typed has no entry.
void add_config_flags(CLI::App& app, std::map<std::string, std::string>& given,
                      const std::set<std::string>& skip = {});
// A key's flag help (its choices, and its config name and default in brackets) and its type as
// --help shows it, for commands that take a few of the keys' flags (host/cli/dataset_flags).
std::string config_flag_help(const ConfigKey& k);
const char* config_flag_type(const ConfigKey& k);
// The value of a config-key flag from CLI11's results: the last one given, as a flag typed after
// others overrides them (scripts append their overrides), and said when there were several
// (`--data d1 --data d3` trained on d3 without a word).
// (`is_switch`: a true/false flag, which may be given alone.)
std::string single_flag_value(const std::string& flag, const CLI::results_t& r, bool is_switch);
// A true/false flag as every config key's switch is: `--flag` alone (true), `--flag VALUE` or
// `--flag=VALUE`, and `--no-flag` (excluding it); given twice, the last is taken and said.
// `take` receives "true", "false" or the value as typed (parse_switch_text reads it).
CLI::Option* add_switch(CLI::App* app, const std::string& flag, const std::string& help,
                        const std::function<void(const std::string&)>& take);
// Applies the flags given, in table order, over `c` (each value checked as it is set).
void apply_config_flags(Config& c, const std::map<std::string, std::string>& given);

}  // namespace pfce::cli
