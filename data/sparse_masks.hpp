// The sampling stage (`pfce sample`, experiments, `pfce train` with sparse labels): every image's
// sparse mask (DESIGN §2) written to a mask directory, streamed in chunks so a dataset larger than
// memory passes through. It follows the cache rule of every mask stage: a directory holding masks
// made from the same dataset with the same settings is reused (with or without `force`); one made
// otherwise is replaced only with `force`; a directory of anything else is refused (data/mask_dir,
// core/output_dir).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/data_fingerprint.hpp"
#include "data/dataset.hpp"
#include "data/mask_dir.hpp"
#include "data/sparse_sampler.hpp"

namespace pfce {

struct MaskStageResult {
    std::string dir;
    bool reused = false;
    // With force: why masks of these same settings there were not reused but made again (a mask
    // missing or changed since: "Image_3.png is missing"); "" otherwise.
    std::string made_again_because;
    std::int64_t labelled = 0, pixels = 0;
    std::vector<std::int64_t> per_class;         // labelled pixels per class
    std::vector<std::size_t> labelling_nothing;  // the masks written that label no pixel
    double seconds = 0;
};

// The dense_labels_fingerprint a mask directory's masks were sampled at (masks.json
// sample.dense_labels; a linked directory keeps its input's), or "" for directories made before
// pfce recorded it.
std::string recorded_dense_labels(const MaskDir& md);

// Whether the masks of `md` were sampled from `ds`'s dense labels as they are now: true when the
// recorded fingerprint equals dense_labels_fingerprint(ds) or there is none. Otherwise warns, once
// per directory and dataset, naming both and the command that makes the masks again, and returns
// false. A warning and not an error: the fingerprint moves with a touch or a copy as well.
bool check_dense_labels_unchanged(const MaskDir& md, const Dataset& ds);

// InputError when the masks of `md` were made while `ds`'s masks encoded the classes otherwise
// (class_encodings: a colour or value changed in dataset.toml, the names the same): its dense
// masks then mean other classes than the points. Not checked for directories of an older pfce,
// which record no encoding.
void check_class_encodings_unchanged(const MaskDir& md, const Dataset& ds);

// What decides whether a directory of sparse masks can be reused: the dataset (resolved root, kind,
// tiling, dense_labels_fingerprint: masks sampled before the palette or a mask changed are not
// the same labels) and the sampler settings.
nlohmann::json sparse_mask_settings(const Dataset& ds, const SamplerOptions& so);
// The dataset options a "sample" record (sparse_mask_settings) holds, over `o`: tiling, the tile
// image set and labels, the bands and value range; keys it lacks leave `o` as it is, except the
// tile image set and labels of a record with the tiling, which are then the defaults.
void apply_sampled_dataset_options(const nlohmann::json& made, DatasetOptions& o);
// The record of how the images of `md`'s masks were read, for apply_sampled_dataset_options: its
// "sample" record, else its "imported" one where that records the reading (pfce sample --from and
// --from-points), a linked directory's input's the same way, else the top level (directories made
// before the "sample" record). Null where nothing records it: masks imported by a pfce that did not
// (their reading is unknown, so the dataset's is taken).
const nlohmann::json* image_reading_record(const MaskDir& md);
// The bands and value range of `image` in a record (keys set only where not the default, as
// sparse_mask_settings writes them), and "reading_recorded" for records where their absence
// would otherwise be unknown.
void record_image_reading(nlohmann::json& record, const ImageChoice& image);

// Writes mask_of(i), the mask of ds's sample i, for i in [0, n) through `writing`, each with its
// image's place on the map (window_place: a GIS lays the points over their image), counting each
// class's pixels into r (per_class, labelled, pixels), in chunks of about half a second (the first
// of 4): progress(done, n) is called and a stop request seen (StopRequested, which undoes the
// writing) between chunks.
void write_masks_in_chunks(std::size_t n, const Dataset& ds, MaskDirWriting& writing,
                           const std::function<LabelMap(std::size_t)>& mask_of,
                           const std::function<void(std::size_t, std::size_t)>& progress,
                           MaskStageResult& r);

MaskStageResult make_sparse_masks(
    const Dataset& ds, const SamplerOptions& so, const std::string& dir, bool force,
    const std::function<void(std::size_t done, std::size_t n)>& progress = {});

}  // namespace pfce
