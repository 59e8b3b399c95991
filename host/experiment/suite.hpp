// Experiment and suite files (TOML) -> configs. An experiment file is a config file (the seven
// sections of host/train/config.hpp) plus an [experiment] table (id, description, the technical
// report's figure). A suite file has a [suite] table (name, description, experiments = [files or
// inline tables]), config sections that are every experiment's defaults, and [override.<section>]
// tables applied on top of every experiment file. Keys are read through the config's key table, so
// an unknown key or value is an InputError naming the key and the file.
//
// Precedence, lowest first: Config defaults < suite sections < experiment file < suite
// [override.<section>] < the suite's inline entry (`{ file = ..., labels = { ... } }`).
//
// A suite with seeds (`[suite] seeds = [0, 1, 2]`, or `pfce run --seeds 0,1,2`) runs every
// experiment once per seed: experiment <id> becomes <id>-s0, <id>-s1, <id>-s2, each with run.seed
// (weights, shuffling, augmentation) and labels.seed (which points are drawn) set to its seed, and
// the report adds each experiment's mean and spread over its seeds. One training seed is one draw
// of the training's randomness: two experiments a few hundredths apart on one seed may swap places
// on another.
#pragma once

#include <cstdint>
#include <optional>
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
    // With suite seeds: the experiment's id as the suite names it (id is "<group>-s<seed>") and
    // the seed this run of it takes. Empty / -1 without seeds.
    std::string group;
    std::int64_t seed = -1;
};

struct Suite {
    std::string name, description;
    std::string file;     // the suite file as read
    DataSettings data;    // the suite's data (what every experiment reads)
    int grid_images = 3;  // test images per picture grid
    // Every experiment runs once per seed (see above); empty: each once, as its file says.
    std::vector<std::int64_t> seeds;
    std::vector<ExperimentSpec> experiments;  // with seeds: each experiment's runs, seed by seed
};

// The suite file `given` names: a path, or a suite name ("synthetic-small") found in ./experiments
// or in the experiments/ of the source tree pfce was built from. InputError if none exists.
std::string resolve_suite_path(const std::string& given);
// Reads a suite file (resolved as above; experiment files are resolved relative to it). Throws
// InputError naming the file and key on any unknown key, bad type or bad value, and on duplicate
// experiment ids. `seeds`, where given (pfce run --seeds), replaces the file's [suite] seeds.
Suite load_suite(const std::string& path,
                 const std::optional<std::vector<std::int64_t>>& seeds = std::nullopt);
// Parses suite text as if read from `path` (tests; embedded suites).
Suite parse_suite(const std::string& text, const std::string& path,
                  const std::optional<std::vector<std::int64_t>>& seeds = std::nullopt);

// The most seeds a suite runs each experiment with: enough for any spread a report shows, and a
// bound on what a mistaken list costs (every seed is one more training of every experiment).
constexpr std::size_t kMaxSuiteSeeds = 32;
// "-s<seed>": what a seed appends to an experiment's id.
std::string seed_suffix(std::int64_t seed);
// --seeds' text ("0,1,2", spaces allowed) as seeds; InputError naming the flag and the value.
std::vector<std::int64_t> parse_seed_list(const std::string& text, const std::string& what);

// Everything that determines an experiment's results (its config's result keys and the suite's
// data), for detecting stale finished runs.
nlohmann::json experiment_fingerprint(const ExperimentSpec& e);
// The fingerprint's key for the checkpoint an experiment starts from (model.init_from): its
// stored checksum, so that one trained from another experiment's weights is stale once those are
// trained again (a probe's was skipped as current).
inline constexpr const char* kInitFromChecksumKey = "model.init_from checksum";

}  // namespace pfce
