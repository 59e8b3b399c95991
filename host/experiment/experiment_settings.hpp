// What tells a suite's experiments apart: each one's settings that differ from the others'. Two
// experiments with the same labels ("sparse 500/class") are otherwise one row twice in a report.
#pragma once

#include <string>
#include <vector>

#include "host/experiment/results.hpp"
#include "host/train/config.hpp"

namespace pfce {

// The config an experiment ran with, as far as its recorded fingerprint says (the keys a result
// depends on; the rest stay at their defaults, which only decides what has an effect).
Config config_of_fingerprint(const nlohmann::json& fingerprint);

// For each result (in order), "key = value" for every setting whose value is not the one most of
// the suite's experiments share. Left out: the label settings the labels column already names
// (kind, points, radius, colour step, conflict), and settings without effect in that experiment
// (a plateau factor under a constant schedule, CRF settings with the CRF term off), and the seeds
// of a run of a suite with seeds (its id names its seed). A setting
// whose values tie for the most common is shown in every experiment it has an effect in. A result
// without a recorded config (older pfce, failed before it) gets none.
std::vector<std::vector<std::string>> distinguishing_settings(
    const std::vector<ExperimentResult>& results);

}  // namespace pfce
