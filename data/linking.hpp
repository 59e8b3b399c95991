// The linking driver: runs Backend::link over many label maps in batches of same-size images, and
// measures what linking did (coverage before/after; purity against dense masks, DESIGN §2). Used by
// `pfce link` over a mask directory and by experiments, which keep the linked masks on disk as a
// cache keyed by the input directory and the link settings.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/backend.hpp"
#include "data/dataset.hpp"
#include "data/image.hpp"

namespace pfce {

// The largest linking radius pfce link and labels.radius accept: past it a "proximity" joins
// points a whole image apart (10000 pixels already span a 6000x6000 Potsdam tile's diagonal).
// Backends take any radius (they clamp to the image diagonal), so this guards settings, not memory.
inline constexpr int kMaxUsefulLinkRadius = 10'000;

// Coverage and purity, summed over images.
struct LinkQuality {
    std::int64_t images = 0;
    std::int64_t pixels = 0;
    std::int64_t labelled_before = 0;
    std::int64_t labelled_after = 0;
    // Purity counts pixels labelled in the linked mask whose dense truth is a class (not 255):
    // all of them, and those that linking added (unlabelled in the sparse mask).
    std::int64_t dense_images = 0;  // images that had a dense mask
    std::int64_t checked = 0, agree = 0;
    std::int64_t added_checked = 0, added_agree = 0;

    double coverage_before() const {
        return pixels ? double(labelled_before) / double(pixels) : 0.0;
    }
    double coverage_after() const { return pixels ? double(labelled_after) / double(pixels) : 0.0; }
    double purity() const { return checked ? double(agree) / double(checked) : 1.0; }
    // NaN where linking added no pixel with a dense class (0/0: nothing to be right or wrong).
    double added_purity() const {
        return added_checked ? double(added_agree) / double(added_checked)
                             : std::numeric_limits<double>::quiet_NaN();
    }
    void add(const LinkQuality& o);
    nlohmann::json to_json() const;
};

// One image's coverage, and purity when `dense` is non-null (same size, else InputError).
void measure_link(const LabelMap& sparse, const LabelMap& linked, const LabelMap* dense,
                  LinkQuality& q);

// Links sparse[i] -> linked[i] on `backend`, in batches of up to `batch` consecutive same-size maps
// (staged through the backend's transfer buffers; device copies are explicit). `images` is needed
// (one per map, same sizes) only when p.max_color_step >= 0, and may be empty otherwise.
LinkStats link_label_maps(Backend& backend, const std::vector<LabelMap>& sparse,
                          const std::vector<RgbImage>& images, const LinkParams& p,
                          std::vector<LabelMap>& linked, int batch = 512);

// A mask directory written by `pfce sample` -> a mask directory of linked masks (kind "linked").
struct LinkDirOptions {
    std::string in_dir;
    std::string out_dir;
    std::string data_root;        // dataset for dense masks and colours; empty: masks.json "source"
    DatasetOptions data_options;  // how to open it (tiles: patch and stride); masks.json's "sample"
                                  // settings are used when data_root is empty
    LinkParams params;
    int batch = 512;     // images per backend call (and per read/write wave)
    bool force = false;  // replace an out_dir made with other settings
};

struct LinkDirResult {
    LinkStats stats;
    LinkQuality quality;
    bool reused = false;  // out_dir already held these masks (same input and settings)
    // With force: why masks of these same input and settings there were made again (a mask
    // missing or changed since); "" otherwise.
    std::string made_again_because;
    bool have_dense = false;   // purity was measured
    double link_seconds = 0;   // backend time (staging and transfers included)
    double total_seconds = 0;  // reading, linking, measuring, writing
    std::string data_root;     // the dataset used ("" when none was available)
    // Where no dataset was used: the one masks.json names that did not open ("" otherwise).
    std::string unopened_root;
};

// Links every mask of in_dir and writes out_dir (PNGs first, masks.json last, with the settings and
// the statistics). An out_dir holding masks linked from the same input with the same settings is
// reused as is (a cache); one with other settings is an InputError unless `force`. An in_dir of
// another kind than sparse (masks.json "kind": linked masks, say) is an InputError.
LinkDirResult link_mask_dir(Backend& backend, const LinkDirOptions& opts);

// The "link" block masks.json records, which decides whether a cached directory can be reused.
nlohmann::json link_settings_json(const LinkParams& p, const std::string& in_dir,
                                  const nlohmann::json& in_meta);

}  // namespace pfce
