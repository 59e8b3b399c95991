// A suite's data, read once for all its experiments: the dataset (generated first when the suite is
// synthetic), its split, and every image and dense mask in use held in memory.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dir_lock.hpp"
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
    // Each image's pixels without data (SampleData::no_data), parallel to `images`; empty ones (or
    // none at all) where an image has every pixel.
    std::vector<std::vector<std::uint8_t>> no_data;
    // Shared, not copied, by the same samples read through other bands (read_with_bands): a full
    // Potsdam suite's masks are a gigabyte and more.
    std::shared_ptr<const std::vector<LabelMap>> dense;
    Split split;  // positions into `indices`
    std::string summary;
    // data_identity of a dataset suite's data; null for synthetic data, whose settings (in every
    // experiment's fingerprint) say what it is.
    nlohmann::json identity;
    // data_identity of the files as read, synthetic data too: checkpoints record it, so that eval
    // says when the data under a suite's checkpoint changed (not fingerprinted: a synthetic
    // dataset written again from its settings is the same data).
    nlohmann::json files;
    // The data's read lock, held as long as the suite runs on it: `data synth --force` into it
    // between experiments gave them other data, a complete run reporting mixed results.
    DirLock reading;
};

// "96x96" when every image has that size; else the sizes, by area, with their counts ("4 sizes:
// 40x48 (3), 64x64 (3), ..."; only the smallest and largest past four).
std::string describe_image_sizes(const std::vector<RgbImage>& images);

// The identity of the data a suite with these settings reads, without reading or generating
// anything: null for synthetic data or a dataset that does not open (running says why), or, with
// `must_open` (an OUT with no results to report from), that dataset's InputError. `unreadable`
// (when given) receives why a dataset does not open ("" when it does, or for synthetic data).
nlohmann::json suite_data_identity(const DataSettings& d, bool must_open = false,
                                   std::string* unreadable = nullptr);

// Where a synthetic suite's data goes: --data, else [data] root, else
// OUT/data/synthetic-<count>x<size>-s<seed>.
std::string synthetic_data_dir(const DataSettings& d, const RunOptions& opts,
                               const std::string& out_dir);
// Whether every experiment of `suite` gives data.bands and the suite none: the suite then opens its
// data through band 1 (suite_data_settings), which only an experiment of data.bands [1] reads.
bool suite_reads_through_band_1(const Suite& suite);

// `given` with the bands and value range of its dataset's dataset.toml ([image]; the --data of
// `opts` or data.root) in the suite's data and each experiment's config where they set none.
Suite with_dataset_image_settings(const Suite& given, const RunOptions& opts);

// `data` with its root resolved: --data for dataset suites, the synthetic directory otherwise;
// data.bands {1} where suite_reads_through_band_1.
DataSettings suite_data_settings(const Suite& suite, const RunOptions& opts,
                                 const std::string& out_dir);

// `L`'s samples read again through `bands` (an experiment's data.bands, where it is not the
// suite's): the same samples, split, dense masks and identity, the images as those bands give them.
LoadedData read_with_bands(const LoadedData& L, const std::vector<int>& bands);

// The suite's data as experiment `bands` reads it: `L` where they are L's, else read once (kept in
// `others`, by bands) for every experiment of those bands.
const LoadedData& data_for_bands(const LoadedData& L, const std::vector<int>& bands,
                                 std::map<std::vector<int>, LoadedData>& others);

// The synthetic data is written (or replaced, when `replace_synthetic`) as check_suite_data_dir
// allowed; `flag` names the option that chose its directory.
LoadedData load_suite_data(const Suite& suite, const DataSettings& data, bool replace_synthetic,
                           const std::string& flag);

// Refuses, before OUT is claimed, a --data that pfce run may not use: OUT itself or a directory
// inside OUT other than OUT/data/ (where the experiments and the report are written), a
// directory that holds OUT, and for a synthetic suite one holding anything but pfce's synthetic
// data (and, when OUT is new, other synthetic data or damaged data it may not replace). Returns
// whether the synthetic data may be replaced: only with --force and only the suite's own, in
// OUT/data/; a dataset given by --data elsewhere is never replaced (`pfce data synth --force`
// does that).
bool check_suite_data_dir(const DataSettings& data, const RunOptions& opts,
                          const std::string& out_dir, const std::string& suite_file);

}  // namespace pfce
