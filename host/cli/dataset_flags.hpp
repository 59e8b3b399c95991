// How the commands that open a dataset by themselves (pfce sample, data stats, data preview) are
// told its layout: the flags mirror the config's [data] keys of the same names, so a dataset opens
// the same way under `pfce train` and under these commands.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.hpp"

namespace pfce::cli {

struct DatasetFlags {
    std::string kind = "auto";
    int tile_patch = 300;
    int tile_stride = 300;
    std::int64_t max_pixels = 100'000'000;
    std::string tile_image = "RGB";
    std::vector<int> bands{};
    std::vector<double> value_range{};

    DatasetOptions options() const;
};

// --kind, --tile-patch, --tile-stride, --tile-image, --bands, --value-range and --max-pixels.
void add_dataset_flags(CLI::App& app, DatasetFlags& f);

}  // namespace pfce::cli
