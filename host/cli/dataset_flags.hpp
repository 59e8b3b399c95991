// How the commands that open a dataset by themselves (pfce sample, data stats, data preview) are
// told its layout: the flags mirror the config's [data] keys of the same names, so a dataset opens
// the same way under `pfce train` and under these commands.
#pragma once

#include <CLI/CLI.hpp>

#include <map>
#include <string>

#include "data/dataset.hpp"

namespace pfce::cli {

struct DatasetFlags {
    std::map<std::string, std::string> typed;  // config key -> text, for the flags typed

    // The typed values over the config's defaults, each checked as `pfce train` checks it.
    DatasetOptions options() const;
    // options(), with the bands and value range not typed taken from the dataset.toml of `root`
    // ([image]), as a dataset opened fresh reads them (not one a mask directory records).
    DatasetOptions options_for(const std::string& root) const;
    // Says the tile flags typed that `ds` leaves without effect: it is no tiles dataset (they were
    // taken without a word, and recorded in the masks.json of what was sampled).
    void warn_of_unused(const Dataset& ds) const;
};

// Dataset::open(root, o), and flags.warn_of_unused on what it opened; the dataset's read lock is
// taken first and held until the command ends (no pfce command writes it meanwhile).
Dataset open_dataset(const std::string& root, const DatasetOptions& o, const DatasetFlags& flags);

// --kind, --tile-patch, --tile-stride, --tile-image, --bands, --value-range and --max-pixels.
void add_dataset_flags(CLI::App& app, DatasetFlags& f);

}  // namespace pfce::cli
