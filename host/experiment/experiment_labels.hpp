// The labels one experiment trains with, made by the same stages as `pfce sample` and `pfce link`
// (data/sparse_masks, data/linking) into OUT/cache/ directories named by their settings, so
// experiments that share labels share the directory, and a rerun reuses it.
#pragma once

#include <string>
#include <vector>

#include "core/backend.hpp"
#include "host/experiment/results.hpp"
#include "host/experiment/suite.hpp"
#include "host/experiment/suite_data.hpp"

namespace pfce {

struct ExperimentLabels {
    std::vector<LabelMap> sparse;  // parallel to LoadedData::indices; empty for dense experiments
    std::vector<LabelMap> train;   // what the loss sees
    std::string dir;               // the mask directory of `train` (empty for dense)
};

// Makes (or reuses) the experiment's masks and reads them into memory; records the stage times in
// r.stage_seconds.
ExperimentLabels make_experiment_labels(const ExperimentSpec& e, const LoadedData& L,
                                        Backend& backend, const std::string& out_dir,
                                        ExperimentResult& r, const std::string& tag);

// Labelled fractions (before and after linking) and link purity on the training split.
void label_statistics(const LoadedData& L, const ExperimentLabels& lab, const ExperimentSpec& e,
                      ExperimentResult& r, const std::string& tag);

}  // namespace pfce
