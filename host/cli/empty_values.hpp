// Empty values on the command line, checked before CLI11 parses. CLI11 reads `--force=` and
// `--deterministic=` as the switch given alone, turns `--augment ""` into a stray argument refused
// with a blank name, takes the word after `--bands=` as its value, and hands an empty string to
// any other option as a value (`eval --data ""` fell back to the trained dataset without a word).
// Config-key flags (train's, and the dataset flags of sample and data) parse their own values,
// where an empty list means something; every other empty value is refused here, naming the flag
// or the argument and what it takes.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace pfce::cli {

// Options whose group is named "[section]" are config-key flags (add_config_flags puts them in
// option groups of that name; add_dataset_flags names their group so).
bool is_config_flag_group(const std::string& group);

// argv[1..] as CLI11 should parse it: `--key=` of a config-key flag becomes `--key ""` (its empty
// value, which CLI11 would otherwise take from the next word). Throws InputError for the first
// empty value given to a switch, to an option that is not a config-key flag, or as a positional
// argument (after `--` too); for an option no command of the line has (naming the nearest one,
// "did you mean --checkpoint?", before CLI11 would say only that a required one is missing); and
// for a word past the arguments the command takes (a shell pattern's files after --input).
std::vector<std::string> checked_arguments(const CLI::App& app, int argc, const char* const* argv);

}  // namespace pfce::cli
