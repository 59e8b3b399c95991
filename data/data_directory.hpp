// Where a file written would be read as data: the directories of datasets and masks a command
// must never write into.
#pragma once

#include <filesystem>
#include <string>

namespace pfce {

// The data directory `dir` is part of, where a file written into it would be read as data (or,
// in a subdirectory of it, said by every scan): a mask directory (masks.json), the image or mask
// directory of a generic dataset (dataset.toml in an ancestor; its [files] images and masks,
// images/ and masks/ by default), the Images/ or Labels/ of a Kaggle-layout dataset; `dir` or any
// directory below one. Compared through links, both as given and resolved (an images/ that links
// elsewhere is still one). Empty otherwise (a predictions/ folder inside a dataset's root is
// fine: nothing reads it; so is one where the images lie in the root itself).
// `itself_masks_ok`: `dir` itself may be a mask directory (one a command fills again with --force),
// only what lies above it counts.
std::string data_directory_of(const std::filesystem::path& dir, bool itself_masks_ok = false);

}  // namespace pfce
