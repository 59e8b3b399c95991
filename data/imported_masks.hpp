// Sparse labels a user brings (`pfce sample --from DIR`): point or scribble annotations made by
// people, one mask file per sample, encoded as the dataset's own masks (its colours, or its index
// and ignore values). They are read as the dataset's masks are read, checked against its images,
// and written as a mask directory (<id>.png + masks.json) that train, eval --labels, link and
// preview take as they take sampled points. Before, only points sampled from dense masks could
// train: a researcher's real annotations could not.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.hpp"
#include "data/sparse_masks.hpp"

namespace pfce {

struct ImportResult {
    MaskStageResult masks;
    std::size_t files = 0;                // annotation files read
    std::int64_t annotated_pixels = 0;    // the pixels of the samples that have a file
    std::vector<std::string> unlabelled;  // samples with no file: written all unlabelled
    std::vector<std::string> unused;      // files of `from` named for no sample
};

// The annotation file of each sample of `ds` in directory `from`: <id>.png / .tif / .tiff (any
// case), or the name of the sample's own mask file; "" where there is none. InputError where two
// files claim one sample.
std::vector<std::string> annotation_files(const Dataset& ds, const std::string& from,
                                          std::vector<std::string>* unused = nullptr);

// Writes mask directory `out` from the annotations in `from` (annotation_files). A sample without
// a file gets a mask that labels nothing, and is said; no file for any sample, a file of another
// size than its image, a value the dataset does not know (its messages), a tiles dataset, or an
// `out` that already holds masks (without `force`) or lies among the data is an InputError.
ImportResult import_masks(
    const Dataset& ds, const std::string& from, const std::string& out, bool force,
    const std::function<void(std::size_t done, std::size_t n)>& progress = {});

// Finishes `writing` (the masks of an import, counted in `m`) with its masks.json: sparse masks
// of `ds` that no settings sampled, `imported` saying what they came from (train refuses sampling
// settings beside such a directory, and a remake command reads it).
void finish_imported_mask_dir(MaskDirWriting& writing, const Dataset& ds, nlohmann::json imported,
                              const MaskStageResult& m);

}  // namespace pfce
