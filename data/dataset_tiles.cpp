// Potsdam original tiles: top_potsdam_X_Y_RGB.tif (or the _IRRG / _RGBIR set data.tile_image names)
// with top_potsdam_X_Y_label.tif or _label_noBoundary.tif (data.tile_labels), in the root or one
// directory below it
// (the official archive's 2_Ortho_RGB/, 3_Ortho_IRRG/, 4_Ortho_RGBIR/ and 5_Labels_all/). Each tile
// is cut into patch x patch windows every `stride` pixels; the last window of a row or column is
// shifted back to the edge so nothing is dropped. Windows are read through a cache of recently
// decoded bands of full-width rows: windows are ordered row by row, so a band is decoded once for
// all the windows beside each other.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <mutex>
#include <regex>
#include <set>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "data/dataset_detail.hpp"
#include "data/image_io.hpp"

namespace fs = std::filesystem;

namespace pfce {
namespace detail {
namespace {

// Files directly in root and in its immediate subdirectories.
std::vector<fs::path> candidate_files(const fs::path& root) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(root, ec)) {
        if (e.is_regular_file()) {
            out.push_back(e.path());
        } else if (e.is_directory()) {
            std::error_code ec2;
            for (const auto& f : fs::directory_iterator(e.path(), ec2))
                if (f.is_regular_file()) out.push_back(f.path());
        }
    }
    return out;
}

// Any of the ISPRS image sets (2_Ortho_RGB, 3_Ortho_IRRG, 4_Ortho_RGBIR): stem and set.
const std::regex& image_pattern() {
    static const std::regex r("(top_potsdam_.+)_(RGB|IRRG|RGBIR)\\.tiff?", std::regex::icase);
    return r;
}

std::string upper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}
const std::regex& label_pattern() {
    static const std::regex r("(top_potsdam_.+)_label(_noBoundary)?\\.tiff?", std::regex::icase);
    return r;
}

// Window starts along one axis: every `stride` while a whole patch fits, then one flush with the
// end.
std::vector<int> window_starts(int size, int patch, int stride) {
    if (size <= patch) return {0};
    std::vector<int> v;
    for (int p = 0; p + patch <= size; p += stride) v.push_back(p);
    if (v.back() + patch < size) v.push_back(size - patch);
    return v;
}

// How many pixels along one axis the windows at `starts`, `len` long, cover together.
int covered(const std::vector<int>& starts, int len) {
    int n = 0, end = 0;
    for (int s : starts) {
        n += std::max(0, s + len - std::max(s, end));
        end = std::max(end, s + len);
    }
    return n;
}

// The part of the tile each window along one axis owns, [lo, hi) in tile coordinates: its whole
// span, except that where two neighbours overlap, each owns the half nearer its own centre.
std::vector<std::pair<int, int>> owned_spans(const std::vector<int>& starts, int len) {
    std::vector<std::pair<int, int>> spans;
    for (int s : starts) spans.emplace_back(s, s + len);
    for (std::size_t i = 0; i + 1 < spans.size(); ++i)
        if (spans[i].second > spans[i + 1].first) {
            const int middle = (spans[i].second + spans[i + 1].first) / 2;
            spans[i].second = middle;
            spans[i + 1].first = middle;
        }
    return spans;
}

}  // namespace

bool has_tiles_layout(const fs::path& root) {
    for (const auto& p : candidate_files(root))
        if (std::regex_match(p.filename().string(), image_pattern())) return true;
    return false;
}

}  // namespace detail

namespace {

// "; <file> is there, but ..." for a label named `wanted` (a file stem: top_potsdam_2_10_label)
// in another format than TIFF (a threshold or an edit saved as .png), which the tiles layout does
// not read; else "".
std::string unread_label_hint(const fs::path& root, const std::vector<std::string>& wanted) {
    for (const auto& p : detail::candidate_files(root)) {
        const std::string ext = detail::upper(p.extension().string());
        if (std::find(wanted.begin(), wanted.end(), p.stem().string()) == wanted.end() ||
            !detail::is_image_extension(p) || ext == ".TIF" || ext == ".TIFF")
            continue;
        if (ext == ".JPG" || ext == ".JPEG")
            return "; " + p.string() +
                   " is there, but it is a JPEG, whose lossy compression changed label colours: "
                   "export the label again as .tif from its lossless source";
        return "; " + p.string() +
               " is there, but Potsdam tile labels are read as .tif only: save it as " +
               p.stem().string() + ".tif (e.g. gdal_translate IN OUT.tif)";
    }
    return {};
}

}  // namespace

void DatasetBuilder::scan_tiles(Dataset& ds, const fs::path& root) {
    const std::string set = detail::upper(ds.opts_.tile_image);
    if (set != "RGB" && set != "IRRG" && set != "RGBIR")
        PFCE_THROW(InputError, "data.tile_image \"", ds.opts_.tile_image,
                   "\": expected RGB, IRRG or RGBIR (the ISPRS image sets)");
    const std::string& labels_wanted = ds.opts_.tile_labels;
    if (labels_wanted != "auto" && labels_wanted != "full" && labels_wanted != "eroded")
        PFCE_THROW(InputError, "data.tile_labels \"", labels_wanted,
                   "\": expected auto, full (_label.tif) or eroded (_label_noBoundary.tif)");
    std::map<std::string, std::map<std::string, fs::path>> images;  // set -> stem -> file
    std::map<std::string, fs::path> label, label_nb;  // full labels preferred over noBoundary ones
    // Per file map: stem -> the two files of different sizes found for it.
    std::map<const std::map<std::string, fs::path>*, std::map<std::string, std::string>> conflicts;
    for (const auto& p : detail::candidate_files(root)) {
        const std::string name = p.filename().string();
        std::smatch m;
        // Two files for one tile and kind (the root and 2_Ortho_RGB/, or 5_Labels_all/ and
        // 5_Labels_for_participants/ of a whole download unzipped) would be read in whatever
        // order the directories list them: copies of one size keep the first path in name
        // order, others are a conflict, refused below if the files are read.
        auto put = [&](std::map<std::string, fs::path>& files, const std::string& stem) {
            const auto [at, fresh] = files.emplace(stem, p);
            if (fresh) return;
            std::error_code ec;
            if (fs::file_size(at->second, ec) == fs::file_size(p, ec) && !ec) {
                if (p < at->second) at->second = p;
            } else {
                conflicts.emplace(&files, std::map<std::string, std::string>())
                    .first->second.emplace(stem, at->second.string() + " and " + p.string());
            }
        };
        if (std::regex_match(name, m, detail::image_pattern())) {
            put(images[detail::upper(m[2].str())], m[1].str());
        } else if (std::regex_match(name, m, detail::label_pattern())) {
            put(m[2].matched ? label_nb : label, m[1].str());
        }
    }
    std::map<std::string, fs::path>& rgb = images[set];  // the set read (RGB unless told)
    // Label files of the set not read may clash: nothing of them is read.
    for (const auto* read : {&rgb, &label, &label_nb})
        if (const auto c = conflicts.find(read); c != conflicts.end() &&
                                                 !(read == &label && labels_wanted == "eroded") &&
                                                 !(read == &label_nb && labels_wanted == "full"))
            PFCE_THROW(InputError, "two different files for tile ", c->second.begin()->first, ": ",
                       c->second.begin()->second, "; keep one");
    if (rgb.empty()) {
        std::string others;
        for (const auto& [name, stems] : images)
            if (!stems.empty()) others += (others.empty() ? "" : ", ") + name;
        if (others.empty())
            PFCE_THROW(InputError,
                       "empty dataset: no top_potsdam_*_RGB.tif tiles (nor IRRG or "
                       "RGBIR ones) in ",
                       root.string(), " or the directories directly below it");
        PFCE_THROW(InputError, "no top_potsdam_*_", set, ".tif tiles in ", root.string(),
                   " or the directories directly below it, but it has ", others,
                   " tiles: to read those, set data.tile_image (e.g. --tile-image ",
                   others.substr(0, others.find(',')),
                   "; RGBIR also needs --bands: 1,2,3,4 for all four, or 4,1,2 for IR-R-G)");
    }
    for (const auto* labels : {&label, &label_nb})
        for (const auto& [stem, path] : *labels)
            if (!rgb.count(stem))
                PFCE_THROW(MissingPartnerFile, "missing partner file: ", path.string(),
                           " has no image ", stem, "_", set, ".tif");

    std::vector<std::string> stems;
    for (const auto& kv : rgb) stems.push_back(kv.first);
    std::sort(stems.begin(), stems.end(), detail::natural_less);

    ds.palette_ = potsdam_palette();
    ds.tile_cache_ = std::make_shared<TileBandCache>();
    const int patch = ds.opts_.tile_patch, stride = ds.opts_.tile_stride;
    // The labels each tile reads: the set asked for, or under "auto" the full labels where a tile
    // has them and the eroded ones otherwise (said below where the tiles end up mixed).
    std::vector<std::string> both, only_full, only_eroded;
    for (const std::string& stem : stems) {
        const bool has_full = label.count(stem) != 0, has_eroded = label_nb.count(stem) != 0;
        (has_full && has_eroded ? both : has_full ? only_full : only_eroded).push_back(stem);
    }
    std::size_t read_eroded = 0;       // tiles whose eroded labels are read
    std::vector<std::string> smaller;  // tiles narrower or lower than a window: windows cut to them
    std::vector<std::string> grids;    // image and mask on different map grids (check_pair_sizes)
    std::int64_t skipped = 0, pixels = 0;  // pixels no window covers (a stride above the patch)
    std::string first_gap;                 // a tile with such pixels
    for (const std::string& stem : stems) {
        const fs::path& image = rgb[stem];
        const bool has_full = label.count(stem) != 0, has_eroded = label_nb.count(stem) != 0;
        fs::path mask;
        if (labels_wanted == "full" || (labels_wanted == "auto" && has_full)) {
            if (!has_full)
                PFCE_THROW(MissingPartnerFile, "missing partner file: ", image.string(),
                           " has no label ", stem, "_label.tif beside it or in a sibling directory",
                           has_eroded ? " (only the eroded " + label_nb[stem].filename().string() +
                                            ": data.tile_labels = \"eroded\" reads those)"
                                      : std::string(),
                           unread_label_hint(root, {stem + "_label"}));
            mask = label[stem];
        } else if (has_eroded) {
            mask = label_nb[stem];
            ++read_eroded;
        } else {
            PFCE_THROW(
                MissingPartnerFile, "missing partner file: ", image.string(), " has no label ",
                stem,
                labels_wanted == "eroded" ? "_label_noBoundary.tif"
                                          : "_label.tif (or " + stem + "_label_noBoundary.tif)",
                " beside it or in a sibling directory",
                labels_wanted == "eroded" && has_full
                    ? " (only the full " + label[stem].filename().string() +
                          ": data.tile_labels = \"full\" reads those)"
                    : std::string(),
                unread_label_hint(root, labels_wanted == "eroded"
                                            ? std::vector<std::string>{stem + "_label_noBoundary"}
                                            : std::vector<std::string>{
                                                  stem + "_label", stem + "_label_noBoundary"}));
        }
        int w = 0, h = 0;
        // Windows are what gets decoded, so the pixel limit applies to them, not to the tile.
        grids.push_back(
            detail::check_pair_sizes(image.string(), mask.string(), 0, ds.opts_.image, w, h));
        const int pw = std::min(patch, w), ph = std::min(patch, h);
        if (pw < patch || ph < patch)
            smaller.push_back(stem + " (" + std::to_string(w) + "x" + std::to_string(h) + ")");
        const std::vector<int> ys = detail::window_starts(h, patch, stride),
                               xs = detail::window_starts(w, patch, stride);
        const auto own_ys = detail::owned_spans(ys, ph), own_xs = detail::owned_spans(xs, pw);
        const std::int64_t gap =
            std::int64_t{w} * h - std::int64_t{detail::covered(xs, pw)} * detail::covered(ys, ph);
        pixels += std::int64_t{w} * h;
        skipped += gap;
        if (gap > 0 && first_gap.empty()) first_gap = stem;
        for (std::size_t j = 0; j < ys.size(); ++j) {
            for (std::size_t i = 0; i < xs.size(); ++i) {
                SampleRef s;
                s.id = stem + "@" + std::to_string(xs[i]) + "_" + std::to_string(ys[j]);
                s.image_path = image.string();
                s.mask_path = mask.string();
                s.x0 = xs[i];
                s.y0 = ys[j];
                s.width = pw;
                s.height = ph;
                s.own_x0 = own_xs[i].first - xs[i];
                s.own_x1 = own_xs[i].second - xs[i];
                s.own_y0 = own_ys[j].first - ys[j];
                s.own_y1 = own_ys[j].second - ys[j];
                ds.samples_.push_back(std::move(s));
            }
        }
    }
    detail::warn_grid_mismatches(grids, stems.size());
    ds.tile_labels_read_ = read_eroded == 0              ? "full"
                           : read_eroded == stems.size() ? "eroded"
                                                         : "mixed";
    // Both label sets unzipped into one folder: say which one is read, once. Tiles of one set
    // beside tiles of the other only are two kinds of labels in one dataset (the eroded ones
    // leave boundaries unlabelled): said as a warning, since the scores mix the two.
    // Each said once per dataset and process: linking and suites open it again.
    const bool mixed =
        labels_wanted == "auto" && !only_eroded.empty() && !(only_full.empty() && both.empty());
    const bool chose_full = !mixed && labels_wanted == "auto" && !both.empty();
    static std::mutex said_mutex;
    static std::set<std::string> said;
    const auto first_time = [&](const char* what) {
        std::lock_guard<std::mutex> lock(said_mutex);
        return said.insert(root.string() + "\n" + what).second;
    };
    // Windows further apart than their side leave pixels no window reads: said with how many,
    // counted from the windows themselves (the last is flush with the tile's end, so a stride
    // above the patch may still cover a tile whole, as 300-px windows at 0 and 300 of 600 do).
    if (skipped > 0 && first_time("gaps"))
        log_warn(root.string(), ": tile stride ", stride, " exceeds the patch size ", patch, ": ",
                 skipped, " of ", pixels, " pixels (", format_fixed(100.0 * skipped / pixels, 1),
                 "%) lie between windows and are never read (e.g. in ", first_gap,
                 "); give --tile-stride ", patch, " or less to cover every tile");
    // A window larger than a tile is cut to the tile: said, since the windows are then of several
    // sizes and smaller than asked (a setting meant for 6000-px tiles on a set of chips).
    if (!smaller.empty() && first_time("smaller"))
        log_warn(root.string(), ": ", smaller.size(), " of ", stems.size(),
                 " tiles are narrower or lower than data.tile_patch = ", patch, " (e.g. ",
                 smaller.front(),
                 "): their windows are cut to the tile's side (one window where both sides "
                 "fall short), so windows are of several sizes");
    if (!mixed && !chose_full) return;
    if (!first_time(mixed ? "mixed" : "full")) return;
    if (mixed)
        log_warn(root.string(), ": ", only_eroded.size(), " of ", stems.size(),
                 " tiles have only eroded labels (_label_noBoundary.tif, e.g. ",
                 only_eroded.front(),
                 ") and the others full ones (_label.tif): both are read, so "
                 "their boundaries are labelled in some tiles and not in others; set "
                 "data.tile_labels to read one kind (--tile-labels eroded or full: every tile "
                 "then needs that file)");
    else
        log_info(root.string(), ": ", both.size(), " of ", stems.size(),
                 " tiles have both _label.tif and _label_noBoundary.tif (e.g. ", both.front(),
                 "): the full labels (_label.tif) are read; data.tile_labels = \"eroded\" "
                 "(--tile-labels eroded) reads the eroded ones");
}

namespace {

RgbImage crop(const RgbImage& band, int x0, int w) {
    RgbImage out(w, band.height, band.channels);
    for (int y = 0; y < band.height; ++y)
        std::copy_n(band.at(y, x0), static_cast<std::size_t>(w) * band.channels, out.at(y, 0));
    return out;
}

LabelMap crop(const LabelMap& band, int x0, int w) {
    LabelMap out(w, band.height);
    for (int y = 0; y < band.height; ++y)
        std::copy_n(&band.labels[static_cast<std::size_t>(y) * band.width + x0], w, &out.at(y, 0));
    return out;
}

}  // namespace

RgbImage DatasetBuilder::read_tile_image(const Dataset& ds, const SampleRef& s) {
    const auto band = ds.tile_cache_->images.get(s.image_path, s.y0, s.height, [&] {
        const ImageInfo info = probe_image(s.image_path);
        return read_rgb_window(s.image_path, 0, s.y0, info.width, s.height, ds.opts_.max_pixels,
                               ds.opts_.image);
    });
    return crop(*band, s.x0, s.width);
}

LabelMap DatasetBuilder::read_tile_mask(const Dataset& ds, const SampleRef& s) {
    const auto band = ds.tile_cache_->masks.get(s.mask_path, s.y0, s.height, [&] {
        const ImageInfo info = probe_image(s.mask_path);
        MaskMarks marks;
        RgbImage colours =
            read_mask_rgb(s.mask_path, ds.opts_.max_pixels, &marks, 0, s.y0, info.width, s.height);
        // A bad colour's y is reported within the band; say where the band starts.
        return ds.decode_colour_mask(s.mask_path,
                                     s.mask_path + " (rows " + std::to_string(s.y0) + ".." +
                                         std::to_string(s.y0 + s.height - 1) +
                                         ", pixel y counted from row " + std::to_string(s.y0) + ")",
                                     std::move(colours), marks);
    });
    return crop(*band, s.x0, s.width);
}

}  // namespace pfce
