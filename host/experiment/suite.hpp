// Experiment and suite files (TOML) -> configs. An experiment file is a config file (the seven
// sections of host/train/config.hpp) plus an [experiment] table (id, description, the technical
// report's figure). A suite file has a [suite] table (name, description, experiments = [files or
// inline tables]), config sections that are every experiment's defaults, and [override.<section>]
// tables applied on top of every experiment file. Keys are read through the config's key table, so
// an unknown key or value is an InputError naming the key and the file.
//
// Precedence, lowest first: Config defaults < suite sections < experiment file < suite
// [override.<section>] < the suite's inline entry (`{ file = ..., labels = { ... } }`).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "host/train/config.hpp"
#include "host/train/config_sources.hpp"

namespace pfce {

struct ExperimentSpec {
    std::string id;
    std::string description;
    std::string report_figure;  // the technical report's figure, shown beside ours
    std::string source;         // file (and entry) it came from, for messages
    Config config;              // validated; data.root/run.out/run.device are set by the runner
    KeySources key_sources;     // where each key of `config` was set (fallback: `source`)
};

struct Suite {
    std::string name, description;
    std::string file;     // the suite file as read
    DataSettings data;    // the suite's data (what every experiment reads)
    int grid_images = 3;  // test images per picture grid
    std::vector<ExperimentSpec> experiments;
};

// The suite file `given` names: a path, or a suite name ("synthetic-small") found in ./experiments
// or in the experiments/ of the source tree pfce was built from. InputError if none exists.
std::string resolve_suite_path(const std::string& given);
// Reads a suite file (resolved as above; experiment files are resolved relative to it). Throws
// InputError naming the file and key on any unknown key, bad type or bad value, and on duplicate
// experiment ids.
Suite load_suite(const std::string& path);
// Parses suite text as if read from `path` (tests; embedded suites).
Suite parse_suite(const std::string& text, const std::string& path);

// Everything that determines an experiment's results (its config's result keys and the suite's
// data), for detecting stale finished runs.
nlohmann::json experiment_fingerprint(const ExperimentSpec& e);

}  // namespace pfce
