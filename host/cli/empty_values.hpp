// Empty values on the command line, checked before CLI11 parses. CLI11 reads `--force=` and
// `--deterministic=` as the switch given alone, turns `--augment ""` into a stray argument refused
// with a blank name, and hands an empty string to any other option as a value (`eval --data ""`
// fell back to the trained dataset without a word). Config-key flags (train's, and the dataset
// flags of sample and data) parse their own values, where an empty list means something; every
// other empty value is refused here, naming the flag or the argument and what it expects.
#pragma once

#include <CLI/CLI.hpp>

namespace pfce::cli {

// Options whose group is named "[section]" are config-key flags (add_config_flags puts them in
// option groups of that name; add_dataset_flags names their group so).
bool is_config_flag_group(const std::string& group);

// Throws InputError for the first empty value in argv given to a switch, to an option that is
// not a config-key flag, or as a positional argument.
void refuse_empty_values(const CLI::App& app, int argc, const char* const* argv);

}  // namespace pfce::cli
