// Internals of Dataset shared by its per-kind scanners (Kaggle, tiles, generic): the builder that
// fills a Dataset's private state, file-name helpers, and the tile band cache.
#pragma once

#include <algorithm>
#include <filesystem>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "data/dataset.hpp"
#include "data/georef.hpp"

namespace pfce {

// A few recently decoded bands of full-width rows, keyed by (file, first row, rows). Several loader
// threads may want neighbouring bands at once (the end of one row of windows, the start of the
// next), so it holds more than one, and each band is decoded by exactly one thread while the others
// wait on its future instead of decoding it again. A failed decode is forgotten, so a retry
// re-reads.
template <typename Band>
class BandLru {
  public:
    template <typename Load>
    std::shared_ptr<const Band> get(const std::string& path, int y0, int h, Load&& load) {
        std::promise<std::shared_ptr<const Band>> promise;
        std::shared_future<std::shared_ptr<const Band>> future;
        bool mine = false;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) {
                return e.y0 == y0 && e.h == h && e.path == path;
            });
            if (it != entries_.end()) {
                entries_.splice(entries_.begin(), entries_, it);  // most recent first
                future = it->band;
            } else {
                future = promise.get_future().share();
                entries_.push_front(Entry{path, y0, h, future});
                if (entries_.size() > kCapacity) entries_.pop_back();
                mine = true;
            }
        }
        if (mine) {
            try {
                promise.set_value(std::make_shared<const Band>(load()));
            } catch (...) {
                promise.set_exception(std::current_exception());
                std::lock_guard<std::mutex> lock(mutex_);
                entries_.remove_if(
                    [&](const Entry& e) { return e.y0 == y0 && e.h == h && e.path == path; });
            }
        }
        return future.get();  // rethrows a failed decode
    }

  private:
    static constexpr std::size_t kCapacity = 4;
    struct Entry {
        std::string path;
        int y0, h;
        std::shared_future<std::shared_ptr<const Band>> band;
    };
    std::mutex mutex_;
    std::list<Entry> entries_;
};

struct TileBandCache {
    BandLru<RgbImage> images;
    BandLru<LabelMap> masks;  // decoded to class indices
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
// Whether dir holds a file named as the Kaggle patches' images are (Image_N.tif, .png, .jpg).
bool holds_kaggle_images(const std::filesystem::path& dir);
bool has_generic_layout(const std::filesystem::path& root);
bool has_tiles_layout(const std::filesystem::path& root);
// The kinds whose layout `root` has (none, one, or several that --kind must choose from).
std::vector<DatasetKind> layouts_found(const std::filesystem::path& root);

bool is_image_extension(const std::filesystem::path& p);  // .tif .tiff .png .jpg .jpeg, any case
// What to do with an image of a format pfce does not read.
inline constexpr const char* kUnreadFormatAdvice =
    "expected .tif, .png or .jpg: convert it, e.g. gdal_translate IN OUT.tif";
// For "missing partner file": "; DIR/STEM.bmp is there, but .bmp files are not read (...)" when
// `dir` holds a file of that stem in a format pfce does not read, else "". A mask's advice names
// the lossless formats alone (a JPEG mask is refused: compression changes its values).
std::string unread_partner_hint(const std::filesystem::path& dir, const std::string& stem,
                                bool mask);
// Says (one warning) that `names` in `dir` (in any order), `kind` files ("hidden image"), are
// left out, and `why`; nothing when there are none. What a dataset's scan does not read is said,
// never only seen as fewer images.
void warn_of_files_left_out(const std::string& dir, std::vector<std::string> names,
                            const std::string& kind, const std::string& why);
// An entry naming a sample file must be a regular file or a link to one: InputError naming it
// otherwise (a link whose target is gone, a directory, a device).
void check_file_entry(const std::filesystem::directory_entry& e);

// Files keyed by sample id: a second file for an id (a.png beside a.tif, 0001 beside 1) is an
// InputError naming both, never a silent pick.
template <typename Map>
void add_sample_file(Map& files, const std::string& id, const std::filesystem::path& path) {
    auto [it, inserted] = files.emplace(id, path);
    if (!inserted)
        PFCE_THROW(InputError, "two files for one sample: ", it->second.string(), " and ",
                   path.string());
}
// Order names as a person would: "img2" before "img10"; names equal so ("img1", "img01") in
// plain order: a strict order in which only identical names are equivalent.
bool natural_less(const std::string& a, const std::string& b);
// Whether an image and its mask lie on different map grids, placed as GDAL places them (an
// .aux.xml or world file too: pixel_grid_as_gdal_reads), their CRS compared by their tags' EPSG
// codes: "IMAGE (its grid) and MASK (its grid): what differs", or "".
std::string grid_mismatch(const std::string& image, const GeoReference& image_tags,
                          const std::string& mask, const GeoReference& mask_tags);
// Header check shared by all kinds: both files readable and of the same size, the image's samples
// what `choice` can read (RGB or gray unless it picks bands; 8-bit unless it gives a range).
// Returns how their map grids differ when both are georeferenced and they do (grid_mismatch);
// "" otherwise.
// `floating`, when given, receives whether the image's samples are floating point.
std::string check_pair_sizes(const std::string& image, const std::string& mask,
                             std::int64_t max_pixels, const ImageChoice& choice, int& width,
                             int& height, bool* floating = nullptr);
// check_pair_sizes for every sample (in parallel: big sets have thousands of headers), filling each
// sample's width and height; the fault of the lowest-numbered sample is the one reported. Pairs of
// GeoTIFFs on different map grids are said (warn_grid_mismatches). One data.value_range is one
// scale: integer and floating-point images in one dataset (counts 0..10000 beside reflectance
// 0..1) are refused, naming one of each.
void check_all_pairs(std::vector<SampleRef>& samples, const DatasetOptions& opts);
// One warning for the pairs check_pair_sizes found on different grids (`found`, "" entries ignored)
// among `pairs`: how many, and the first.
void warn_grid_mismatches(const std::vector<std::string>& found, std::size_t pairs);

}  // namespace detail
}  // namespace pfce
