// What a dataset is, cheaply: fingerprints of its files (names, windows, sizes, modification
// times; never pixels, which would cost a decode of every file) and of its sample ids. Recorded
// where results depend on the data (sparse masks, checkpoints, a suite's results), and compared
// when they are reused, so results of other data are not taken for these.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.hpp"

namespace pfce {

// What the dense labels of `ds` are, as 16 hex digits that change when they may have: the palette
// (class names, colours, unlabelled colours), the dataset's dataset.toml (its text, without an
// [image] table: how the images are read is no part of the labels, and runs and masks record it
// apart), and each sample's mask file, window, size and modification time.
std::string dense_labels_fingerprint(const Dataset& ds);

// The same for the images: each sample's image file (relative to the root), window, size and
// modification time.
std::string images_fingerprint(const Dataset& ds);

// The same for a mask directory's masks (data/mask_dir): each <id>.png's size and modification
// time, so masks edited by hand after `pfce sample` are not taken for those linked before.
std::string mask_files_fingerprint(const std::string& dir, const std::vector<std::string>& ids);

// What each class is in the dataset's masks, in words: "building = colour (255, 0, 0)" for colour
// masks, "building = value 2" for index masks. Index masks' colours only show them, so they are
// not part of it; nor are the ignore colours or values (adding or reordering them changes no
// class, and a pixel of one removed is an error, not another class). Recorded beside masks and
// checkpoints: with another encoding the dense masks mean other classes than the ones the points
// or the model were made with.
std::vector<std::string> class_encodings(const Dataset& ds);

// What differs between a recorded class encoding and `now`, in words ("building = colour (255, 0,
// 0) then, building = colour (255, 255, 255) now"); "" when equal or when either is not a list
// (`was` of a file of an older pfce records none).
std::string class_encoding_change(const nlohmann::json& was, const nlohmann::json& now);

// {"samples": N, "ids": <hash of the sample ids in order>, "images": ..., "dense_labels": ...,
// "class_encodings": [...]}.
nlohmann::json data_identity(const Dataset& ds);

// The data identity a checkpoint's metadata records (meta["data"]["identity"]), null when it
// records none (a checkpoint of an older pfce).
nlohmann::json recorded_data_identity(const nlohmann::json& meta);

// What differs between two data identities, in words ("" when nothing does). A key missing on
// either side (an identity recorded by an older pfce) is not compared.
std::string data_identity_change(const nlohmann::json& was, const nlohmann::json& now);

// A file of `ds` last written after a time: the one that made an identity change, by name.
struct FileWrittenAfter {
    std::string name;  // relative to the dataset's root
    std::string id;    // the sample's
};
// Its masks (`masks`) or its images last written after `since`, in sample order, each file once.
std::vector<FileWrittenAfter> files_written_after(const Dataset& ds,
                                                  std::filesystem::file_time_type since,
                                                  bool masks);

}  // namespace pfce
