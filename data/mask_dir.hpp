// A directory of label masks derived from a dataset (sparse samples, linked masks): one colour PNG
// per sample, named <sample id>.png (unlabelled = black), plus masks.json recording what made them
// (source dataset root, points, seed, radius, ...), so `pfce link --in DIR` and experiments can find
// the images and dense masks they came from. Readers read these PNGs back with the same palette.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/image.hpp"
#include "data/palette.hpp"

namespace pfce {

struct MaskDir {
    std::string dir;
    nlohmann::json meta;            // masks.json: {"source": root, "kind": "sparse"|"linked", ...}
    std::vector<std::string> ids;   // sample ids, in dataset order
};

// Writes dir/<id>.png for each mask (atomically) and dir/masks.json last, so a directory with
// masks.json is complete.
void write_mask_dir(const std::string& dir, const std::vector<std::string>& ids,
                    const std::vector<LabelMap>& masks, const Palette& palette,
                    const nlohmann::json& meta);
// The two halves of write_mask_dir for callers that stream masks (too many to hold at once):
// write every mask PNG first, then masks.json (which records `ids` and `meta`) last.
void write_mask_png(const std::string& dir, const std::string& id, const LabelMap& mask,
                    const Palette& palette);
void write_mask_json(const std::string& dir, const std::vector<std::string>& ids,
                     const nlohmann::json& meta);
std::string mask_png_path(const std::string& dir, const std::string& id);
// Reads masks.json (InputError naming the file if missing or malformed).
MaskDir open_mask_dir(const std::string& dir);
LabelMap read_mask_png(const MaskDir& md, const std::string& id, const Palette& palette);

}  // namespace pfce
