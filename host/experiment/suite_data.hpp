// A suite's data, read once for all its experiments: the dataset (generated first when the suite is
// synthetic), its split, and every image and dense mask in use held in memory.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.hpp"
#include "host/experiment/runner.hpp"
#include "host/experiment/suite.hpp"

namespace pfce {

struct LoadedData {
    std::string root;
    std::unique_ptr<Dataset> ds;
    std::vector<std::size_t> indices;  // dataset indices in use (the split's samples, sorted)
    std::vector<std::string> ids;      // sample ids, parallel to `indices`
    std::vector<RgbImage> images;
    std::vector<LabelMap> dense;
    Split split;  // positions into `indices`
    std::string summary;
    // data_identity of a dataset suite's data; null for synthetic data, whose settings (in every
    // experiment's fingerprint) say what it is.
    nlohmann::json identity;
};

// The identity of the data a suite with these settings reads, without reading or generating
// anything: null for synthetic data or a dataset that does not open (running says why).
nlohmann::json suite_data_identity(const DataSettings& d);

// Where a synthetic suite's data goes: --data, else OUT/data/synthetic-<count>x<size>-s<seed>.
std::string synthetic_data_dir(const DataSettings& d, const RunOptions& opts,
                               const std::string& out_dir);
// `data` with its root resolved: --data for dataset suites, the synthetic directory otherwise.
DataSettings suite_data_settings(const Suite& suite, const RunOptions& opts,
                                 const std::string& out_dir);

LoadedData load_suite_data(const Suite& suite, const DataSettings& data, bool force);

}  // namespace pfce
