// Internals of Dataset shared by its per-kind scanners (Kaggle, tiles, generic): the builder that
// fills a Dataset's private state, file-name helpers, and the tile band cache.
#pragma once

#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "data/dataset.hpp"

namespace pfce {

struct TileBandCache {
    std::mutex mutex;
    // The full-width rows [y0, y0 + h) of one file, decoded (image) or decoded to labels (mask).
    std::string image_path;
    int image_y0 = -1, image_h = 0;
    RgbImage image_band;
    std::string mask_path;
    int mask_y0 = -1, mask_h = 0;
    LabelMap mask_band;
};

class DatasetBuilder {
public:
    static void scan_kaggle(Dataset& ds, const std::filesystem::path& dir);
    static void scan_tiles(Dataset& ds, const std::filesystem::path& root);
    static void scan_generic(Dataset& ds, const std::filesystem::path& root);

    static RgbImage read_tile_image(const Dataset& ds, const SampleRef& s);
    static LabelMap read_tile_mask(const Dataset& ds, const SampleRef& s);
};

namespace detail {

// The directory holding Images/ and Labels/ (root/patches or root itself), or empty if neither.
std::filesystem::path kaggle_dir(const std::filesystem::path& root);
bool has_generic_layout(const std::filesystem::path& root);
bool has_tiles_layout(const std::filesystem::path& root);

bool is_image_extension(const std::filesystem::path& p);  // .tif .tiff .png, any case
// Order names as a person would: "img2" before "img10".
bool natural_less(const std::string& a, const std::string& b);
// Header check shared by all kinds: both files readable and of the same size.
void check_pair_sizes(const std::string& image, const std::string& mask, std::int64_t max_pixels,
                      int& width, int& height);

}  // namespace detail
}  // namespace pfce
