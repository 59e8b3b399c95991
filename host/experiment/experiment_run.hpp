// One experiment of a suite, stage by stage: labels (sample, link: cached), training (resumed when
// an interrupted run of the same settings is there), the test split on dense truth with the chosen
// checkpoint, and the picture grid. Each stage is logged with its time.
#pragma once

#include <string>

#include "core/backend.hpp"
#include "host/experiment/results.hpp"
#include "host/experiment/runner.hpp"
#include "host/experiment/suite.hpp"
#include "host/experiment/suite_data.hpp"

namespace pfce {

// Throws on failure. When Ctrl-C / SIGTERM stops the training, returns with r.status "interrupted"
// after the trainer saved its checkpoint (the next `pfce run` resumes it).
ExperimentResult run_experiment(const ExperimentSpec& e, const Suite& suite, const LoadedData& L,
                                Backend& backend, const std::string& out_dir,
                                const RunOptions& opts, const std::string& tag);

}  // namespace pfce
